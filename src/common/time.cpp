#include "common/time.hpp"

#include <charconv>
#include <iterator>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace cohort {
namespace {

bool ReadInt(std::string_view text, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > text.size()) return false;
  for (std::size_t i = pos; i < pos + len; ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  std::from_chars(text.data() + pos, text.data() + pos + len, out);
  return true;
}

}  // namespace

std::string FormatRfc3339(Clock::time_point t) {
  using namespace std::chrono;
  const auto micros = duration_cast<microseconds>(t.time_since_epoch()).count();
  auto secs = micros / 1'000'000;
  auto frac = micros % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  const sys_days day{floor<days>(sys_seconds{seconds{secs}})};
  const year_month_day ymd{day};
  const auto tod = secs - duration_cast<seconds>(day.time_since_epoch()).count();
  // Formats compiled in, so that they are not parsed at run time: every answer carries a time.
  std::string out;
  out.reserve(27);
  fmt::format_to(std::back_inserter(out), FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}"),
                 static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                 tod / 3600, (tod / 60) % 60, tod % 60);
  if (frac != 0) fmt::format_to(std::back_inserter(out), FMT_COMPILE(".{:06}"), frac);
  out += 'Z';
  return out;
}

std::optional<Clock::time_point> ParseRfc3339(std::string_view text) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 20 || !ReadInt(text, 0, 4, y) || text[4] != '-' || !ReadInt(text, 5, 2, mo) ||
      text[7] != '-' || !ReadInt(text, 8, 2, d) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !ReadInt(text, 11, 2, h) || text[13] != ':' || !ReadInt(text, 14, 2, mi) || text[16] != ':' ||
      !ReadInt(text, 17, 2, s))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::size_t pos = 19;
  microseconds frac{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    std::int64_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) {
        value = value * 10 + (text[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    while (digits++ < 6) value *= 10;
    frac = microseconds{value};
  }
  if (pos >= text.size()) return std::nullopt;
  seconds offset{0};
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0, om = 0;
    if (!ReadInt(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadInt(text, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{std::min(s, 59)} + frac - offset;
  return time_point_cast<Clock::duration>(t);
}

}  // namespace cohort
