# Every dependency comes from Debian's packages (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)              # Beast and Asio are header-only
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)              # libpq
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(CURL REQUIRED)
find_package(simdjson REQUIRED)
pkg_check_modules(tomlplusplus REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(hiredis REQUIRED IMPORTED_TARGET hiredis)  # 0.14 in Debian: RESP2 only
pkg_check_modules(nlopt REQUIRED IMPORTED_TARGET nlopt)      # analytics/: maximum-likelihood fits
find_package(mongoc-1.0 CONFIG REQUIRED)     # mongo::mongoc_shared (libbson with it)
find_package(rabbitmq-c CONFIG REQUIRED)    # rabbitmq::rabbitmq (librabbitmq-dev, 0.11): queue/amqp/
if(COHORT_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(COHORT_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
