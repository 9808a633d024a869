// How the server frames its responses, read byte by byte over raw TCP: the status line, Content-Length,
// Connection for HTTP/1.1 and HTTP/1.0, a HEAD answer without its body, and the X-Request-Id echo.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "integration/server_harness.hpp"

namespace cohort::testing {
namespace {

struct RawAnswer {
  std::string status_line;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool complete = false;  // a blank line ended the header section
};

RawAnswer Parse(const std::string& raw) {
  RawAnswer out;
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return out;
  out.complete = true;
  out.body = raw.substr(end + 4);
  std::size_t at = raw.find("\r\n");
  out.status_line = raw.substr(0, at);
  while (at < end) {
    const std::size_t next = raw.find("\r\n", at + 2);
    const std::string line = raw.substr(at + 2, next - at - 2);
    const auto colon = line.find(": ");
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.headers[name] = colon == std::string::npos ? "" : line.substr(colon + 2);
    at = next;
  }
  return out;
}

class HttpFramingTest : public ::testing::Test {
 protected:
  ServerProcess server_;
};

TEST_F(HttpFramingTest, Http11AnswerCarriesItsLengthTheRequestIdAndConnectionClose) {
  const RawAnswer a = Parse(server_.SendRaw(
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: framing-1\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(a.complete);
  EXPECT_EQ(a.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(a.headers.at("content-type"), "application/json");
  EXPECT_EQ(a.headers.at("x-request-id"), "framing-1");
  EXPECT_EQ(a.headers.at("connection"), "close");
  EXPECT_EQ(a.headers.at("content-length"), std::to_string(a.body.size()));
  EXPECT_EQ(nlohmann::json::parse(a.body).value("status", ""), "ok") << a.body;
}

TEST_F(HttpFramingTest, AnErrorHasItsReasonPhraseAndJsonBody) {
  const RawAnswer a = Parse(server_.SendRaw("GET /no/such/route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(a.complete);
  EXPECT_EQ(a.status_line, "HTTP/1.1 404 Not Found");
  EXPECT_EQ(a.headers.at("content-length"), std::to_string(a.body.size()));
  EXPECT_TRUE(nlohmann::json::parse(a.body).contains("error")) << a.body;
}

TEST_F(HttpFramingTest, Http10ClosesUnlessAskedToKeepAlive) {
  const RawAnswer closing = Parse(server_.SendRaw("GET /healthz HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(closing.complete);
  EXPECT_EQ(closing.status_line, "HTTP/1.0 200 OK");
  EXPECT_EQ(closing.headers.count("connection"), 0u);  // closing is HTTP/1.0's default
  EXPECT_EQ(closing.headers.at("content-length"), std::to_string(closing.body.size()));

  const RawAnswer kept = Parse(server_.SendRaw("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  ASSERT_TRUE(kept.complete);
  EXPECT_EQ(kept.status_line, "HTTP/1.0 200 OK");
  EXPECT_EQ(kept.headers.at("connection"), "keep-alive");
  EXPECT_EQ(kept.headers.at("content-length"), std::to_string(kept.body.size()));
}

TEST_F(HttpFramingTest, HeadAnnouncesTheLengthOfTheGetBodyAndSendsNone) {
  const RawAnswer get = Parse(server_.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const RawAnswer head = Parse(server_.SendRaw("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(get.complete);
  ASSERT_TRUE(head.complete);
  EXPECT_EQ(head.status_line, "HTTP/1.1 200 OK");
  EXPECT_FALSE(get.body.empty());
  EXPECT_EQ(head.headers.at("content-length"), std::to_string(get.body.size()));
  EXPECT_EQ(head.body, "");
}

TEST_F(HttpFramingTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const std::string raw = server_.SendRaw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /no/such/route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const RawAnswer first = Parse(raw);
  ASSERT_TRUE(first.complete);
  EXPECT_EQ(first.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(first.headers.count("connection"), 0u);  // kept: HTTP/1.1's default
  const std::size_t length = std::stoul(first.headers.at("content-length"));
  ASSERT_GE(first.body.size(), length);
  const RawAnswer second = Parse(first.body.substr(length));
  ASSERT_TRUE(second.complete) << raw;
  EXPECT_EQ(second.status_line, "HTTP/1.1 404 Not Found");
  EXPECT_EQ(second.headers.at("connection"), "close");
  EXPECT_EQ(second.headers.at("content-length"), std::to_string(second.body.size()));
}

}  // namespace
}  // namespace cohort::testing
