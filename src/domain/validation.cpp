#include "domain/validation.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace cohort::domain {
namespace {

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '-';
}

}  // namespace

bool IsValidId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), IsIdChar);
}

bool IsValidCountryCode(std::string_view code) {
  return code.size() == 2 && std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool IsValidEmail(std::string_view email) {
  if (email.size() < 3 || email.size() > 254) return false;
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= email.size()) return false;
  if (email.find('@', at + 1) != std::string_view::npos) return false;
  return std::none_of(email.begin(), email.end(),
                      [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; });
}

std::optional<std::string> ValidateText(std::string_view field, std::string_view value, std::size_t max_len) {
  if (value.empty()) return fmt::format("field '{}' must not be empty", field);
  if (value.size() > max_len) return fmt::format("field '{}' is longer than {} bytes", field, max_len);
  if (value.find('\0') != std::string_view::npos) return fmt::format("field '{}' contains a NUL byte", field);
  return std::nullopt;
}

std::optional<std::string> ValidateAddress(const Address& address) {
  if (auto e = ValidateText("address.street", address.street, 200)) return e;
  if (auto e = ValidateText("address.postal_code", address.postal_code, 20)) return e;
  if (auto e = ValidateText("address.city", address.city, 100)) return e;
  if (!IsValidCountryCode(address.country_code))
    return "field 'address.country' must be an ISO 3166-1 alpha-2 code in upper case, like \"UA\"";
  if (!address.country_name.empty())
    if (auto e = ValidateText("address.country_name", address.country_name, 100)) return e;
  return std::nullopt;
}

std::optional<std::string> ValidateUser(const User& user) {
  if (!IsValidId(user.id)) return "field 'id' must be 1-64 characters of [A-Za-z0-9_.:-]";
  if (auto e = ValidateText("name", user.name, 200)) return e;
  if (!IsValidEmail(user.email)) return "field 'email' is not a valid email address";
  if (user.birth_year && (*user.birth_year < 1900 || *user.birth_year > 2100))
    return "field 'birth_year' must be between 1900 and 2100";
  return ValidateAddress(user.address);
}

std::optional<std::string> ValidateProduct(const Product& product) {
  if (!IsValidId(product.id)) return "field 'id' must be 1-64 characters of [A-Za-z0-9_.:-]";
  if (auto e = ValidateText("name", product.name, 300)) return e;
  if (auto e = ValidateText("category", product.category, 100)) return e;
  if (!std::isfinite(product.price) || product.price < 0) return "field 'price' must be a number >= 0";
  return std::nullopt;
}

}  // namespace cohort::domain
