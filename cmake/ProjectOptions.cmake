# Warnings and sanitizers as INTERFACE targets that every target links; no global flags.
add_library(cohort_warnings INTERFACE)
target_compile_options(cohort_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wformat=2
  -Wno-missing-field-initializers # designated initializers leave the rest defaulted on purpose
  -Wno-ignored-attributes) # libbson's aligned types in templates
if(COHORT_WARNINGS_AS_ERRORS)
  target_compile_options(cohort_warnings INTERFACE -Werror)
endif()

add_library(cohort_sanitizers INTERFACE)
if(COHORT_SANITIZE_ADDRESS)
  target_compile_options(cohort_sanitizers INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                     -fno-sanitize-recover=undefined)
  target_link_options(cohort_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
if(COHORT_SANITIZE_THREAD)
  target_compile_options(cohort_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(cohort_sanitizers INTERFACE -fsanitize=thread)
endif()

add_library(cohort_options INTERFACE)
target_link_libraries(cohort_options INTERFACE cohort_warnings cohort_sanitizers)
