// JSON text written by hand (common/json_text.hpp) reads back as what was written; strings come out as
// nlohmann::json writes them.

#include "common/json_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace cohort {
namespace {

std::string Number(double value) {
  std::string out;
  AppendJsonNumber(out, value);
  return out;
}

std::string String(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

// Every double reads back as itself, from its shortest text; simple ones are written as nlohmann::json writes
// them (whose text is not always the shortest, and which writes 1e15 as "1e+15").
TEST(JsonTextTest, NumbersReadBackAsThemselves) {
  const std::vector<double> values{0.0,  -0.0, 1.0,      12.0,        -3.0, 0.1,   30.33,
                                   1e-5, 1e-4, -2.5e-10, 123456789.0, 1e20, 1e300, 0.28645339608192444};
  for (const double v : values) EXPECT_EQ(Number(v), nlohmann::json(v).dump()) << v;
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<int> exponent(-300, 300);
  for (int i = 0; i < 20'000; ++i) {
    for (const double v : {std::round(unit(random) * 1'000'000) / 100, unit(random),
                           unit(random) * std::pow(10.0, exponent(random))}) {
      const std::string text = Number(v);
      EXPECT_EQ(nlohmann::json::parse(text).get<double>(), v) << text;
      EXPECT_LE(text.size(), nlohmann::json(v).dump().size()) << text;
    }
  }
  for (const double extreme : {std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                               std::numeric_limits<double>::min(), std::numeric_limits<double>::denorm_min()})
    EXPECT_EQ(nlohmann::json::parse(Number(extreme)).get<double>(), extreme) << Number(extreme);
}

TEST(JsonTextTest, WholeNumbersKeepTheirFractionSoThatReadersSeeADouble) {
  EXPECT_EQ(Number(12.0), "12.0");
  EXPECT_TRUE(nlohmann::json::parse(Number(12.0)).is_number_float());
}

TEST(JsonTextTest, NumbersThatAreNotFiniteAreNull) {
  EXPECT_EQ(Number(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(Number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Number(-std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonTextTest, StringsAreEscapedAsNlohmannEscapesThem) {
  const std::vector<std::string> texts{"",
                                       "plain",
                                       "quote \" and backslash \\",
                                       "tab\tnew\nline",
                                       std::string("nul\0x", 5),
                                       "\x01\x1f",
                                       "Łódź — 東京 👍",
                                       "/slash"};
  for (const std::string& text : texts) {
    EXPECT_EQ(String(text), nlohmann::json(text).dump()) << text;
    EXPECT_EQ(nlohmann::json::parse(String(text)).get<std::string>(), text);
  }
}

TEST(JsonTextTest, AppendsToWhatIsThere) {
  std::string out = "[";
  AppendJsonString(out, "a");
  out += ',';
  AppendJsonNumber(out, 2);
  out += ']';
  EXPECT_EQ(out, R"(["a",2.0])");
}

}  // namespace
}  // namespace cohort
