#pragma once
// A behavioural event: what a customer did, when, with which product. `properties` holds any further
// fields the shop sends, as a JSON object.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cohort::domain {

// The types the analytics know; any other type is stored and queryable too.
inline constexpr std::string_view kView = "view";
inline constexpr std::string_view kAddToCart = "add_to_cart";
inline constexpr std::string_view kPurchase = "purchase";
inline constexpr std::string_view kRemoveFromCart = "remove_from_cart";
inline constexpr std::string_view kReturn = "return";

inline constexpr std::size_t kMaxEventBytes = 32 * 1024;

struct Event {
  std::string event_id;  // idempotency key: an event is stored once
  std::string user_id;
  std::string type;
  std::optional<std::string> product_id;
  std::optional<std::string> category;
  std::optional<double> price;  // >= 0
  std::int64_t quantity = 1;    // >= 1
  std::int64_t ts_micros = 0;   // microseconds since the Unix epoch, UTC
  std::string properties = "{}";  // a JSON object, serialised
};

}  // namespace cohort::domain
