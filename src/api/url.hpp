#pragma once
// Request-target parsing shared by the HTTP server and its tests; free of Boost.Beast.

#include <string>
#include <string_view>

#include "api/http_types.hpp"
#include "common/result.hpp"

namespace cohort::api {

// The two halves of an origin-form request target ("/a/b?x=1"); both still percent-encoded.
struct RequestTarget {
  std::string_view path;   // "/a/b"; "/" when the target has no path
  std::string_view query;  // "x=1", without the '?'; empty when there is none
};

// Splits a request target at the first '?' and drops any '#fragment'. An absolute-form target
// ("http://host:8080/a?x") is reduced to its path and query, as RFC 9112 §3.2.2 asks of servers.
RequestTarget SplitTarget(std::string_view target);

// Strict percent-decoding: every '%' must start a two-hex-digit escape, otherwise InvalidArgument.
// With plus_is_space, '+' decodes to ' ' (form encoding, for query strings only). Decoded bytes are not
// validated (the result may hold any byte, including "/" from "%2F").
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Parses "a=1&b=x+y&a=2" into ordered name/value pairs, as the WHATWG application/x-www-form-urlencoded
// parser does: empty pieces are skipped, a piece without '=' has an empty value, '+' is a space, and a '%'
// that does not start a valid escape is kept literally (lenient, so a stray '%' never fails a request).
NameValues ParseQuery(std::string_view query);

}  // namespace cohort::api
