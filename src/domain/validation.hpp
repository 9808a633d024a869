#pragma once
// Checks on values that come from outside. Each returns the client-facing reason, or nullopt when valid.

#include <optional>
#include <string>
#include <string_view>

#include "domain/entities.hpp"

namespace cohort::domain {

inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr int kMaxPageSize = 1000;

// Ids are the shop's own strings: 1–64 characters of [A-Za-z0-9_.:-].
bool IsValidId(std::string_view id);
bool IsValidCountryCode(std::string_view code);  // two upper-case ASCII letters
bool IsValidEmail(std::string_view email);

// Field-level checks; `field` is the JSON path used in the message ("address.city").
std::optional<std::string> ValidateText(std::string_view field, std::string_view value, std::size_t max_len);
std::optional<std::string> ValidateAddress(const Address& address);
std::optional<std::string> ValidateUser(const User& user);
std::optional<std::string> ValidateProduct(const Product& product);

}  // namespace cohort::domain
