#include "api/url.hpp"

namespace cohort::api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes `text` into `out`. On an invalid escape returns false when `strict`, otherwise keeps it literally.
bool DecodeInto(std::string_view text, bool plus_is_space, bool strict, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
      if (strict) return false;
      out.push_back('%');
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool NeedsDecoding(std::string_view text, bool plus_is_space) {
  return text.find_first_of(plus_is_space ? std::string_view("%+") : std::string_view("%")) !=
         std::string_view::npos;
}

std::string DecodeLenient(std::string_view text) {
  std::string out;
  if (NeedsDecoding(text, /*plus_is_space=*/true)) {
    DecodeInto(text, /*plus_is_space=*/true, /*strict=*/false, out);
  } else {
    out.assign(text);
  }
  return out;
}

}  // namespace

RequestTarget SplitTarget(std::string_view target) {
  if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (!target.empty() && target.front() != '/') {
    // Absolute form: skip "scheme://authority".
    if (const auto scheme_end = target.find("://"); scheme_end != std::string_view::npos) {
      const auto path_start = target.find_first_of("/?", scheme_end + 3);
      target = path_start == std::string_view::npos ? std::string_view() : target.substr(path_start);
    }
  }
  RequestTarget out;
  const auto question = target.find('?');
  out.path = target.substr(0, question);
  if (question != std::string_view::npos) out.query = target.substr(question + 1);
  if (out.path.empty()) out.path = "/";
  return out;
}

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  if (!NeedsDecoding(text, plus_is_space)) {
    out.assign(text);
    return out;
  }
  if (!DecodeInto(text, plus_is_space, /*strict=*/true, out)) {
    return Error::InvalidArgument("invalid percent-encoding (a '%' must be followed by two hex digits)");
  }
  return out;
}

NameValues ParseQuery(std::string_view query) {
  NameValues out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    const auto eq = piece.find('=');
    const std::string_view name = piece.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    out.emplace_back(DecodeLenient(name), DecodeLenient(value));
  }
  return out;
}

}  // namespace cohort::api
