#pragma once
// Test-only helpers for the cache's integration tests: a raw hiredis connection to look at (and spoil) what
// the cache wrote, the shared test Redis URL, unique key prefixes, and a redis-server of a test's own.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cache/redis_cache.hpp"

namespace cohort::testing {

// The URL `make test` provides (COHORT_TEST_REDIS_URL). When it is not set the calling test FAILS (it is
// never skipped) and the result is empty; the caller should then return.
inline std::string TestRedisUrl() {
  const char* url = std::getenv("COHORT_TEST_REDIS_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "COHORT_TEST_REDIS_URL is not set: run `scripts/test-services.sh start` and "
                     "`eval \"$(scripts/test-services.sh env)\"` (or `make test`)";
    return {};
  }
  return url;
}

// A prefix no other test (or earlier run) uses, so tests sharing one Redis never see each other's keys.
inline std::string UniquePrefix(const std::string& name) {
  static int counter = 0;
  return "cohort-test-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
}

// A blocking connection for assertions; throws std::runtime_error when Redis cannot be reached.
class RawRedis {
 public:
  explicit RawRedis(const std::string& url) {
    auto endpoint = cache::ParseRedisUrl(url);
    if (!endpoint) throw std::runtime_error("bad redis url " + url);
    context_.reset(redisConnectWithTimeout(endpoint->host.c_str(), endpoint->port, timeval{2, 0}));
    if (!context_ || context_->err) throw std::runtime_error("cannot connect to " + url);
    redisSetTimeout(context_.get(), timeval{5, 0});
  }

  // Runs a command; the reply as text: a string or status, an integer in decimal, "(nil)", "(error) ...", or
  // for an array its elements joined by '\n'.
  std::string Run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (reply == nullptr) throw std::runtime_error(std::string("redis: ") + context_->errstr);
    std::string text = Text(reply);
    freeReplyObject(reply);
    return text;
  }

  std::vector<std::string> Keys(const std::string& pattern) {
    std::vector<std::string> keys;
    auto* reply =
        static_cast<redisReply*>(redisCommand(context_.get(), "KEYS %b", pattern.data(), pattern.size()));
    if (reply == nullptr) throw std::runtime_error(std::string("redis: ") + context_->errstr);
    for (std::size_t i = 0; i < reply->elements; ++i)
      keys.emplace_back(reply->element[i]->str, reply->element[i]->len);
    freeReplyObject(reply);
    return keys;
  }

 private:
  static std::string Text(const redisReply* reply) {
    switch (reply->type) {
      case REDIS_REPLY_STRING:
      case REDIS_REPLY_STATUS:
        return std::string(reply->str, reply->len);
      case REDIS_REPLY_INTEGER:
        return std::to_string(reply->integer);
      case REDIS_REPLY_NIL:
        return "(nil)";
      case REDIS_REPLY_ERROR:
        return "(error) " + std::string(reply->str, reply->len);
      case REDIS_REPLY_ARRAY: {
        std::string joined;
        for (std::size_t i = 0; i < reply->elements; ++i) joined += (i ? "\n" : "") + Text(reply->element[i]);
        return joined;
      }
      default:
        return "(unknown)";
    }
  }
  struct Free {
    void operator()(redisContext* context) const { redisFree(context); }
  };
  std::unique_ptr<redisContext, Free> context_;
};

// A port nothing listens on right now (the kernel's choice for port 0).
inline int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// A redis-server of the test's own, on its own port, that the test may stop and start again. Stopped (without
// saving) on destruction.
class OwnRedisServer {
 public:
  OwnRedisServer()
      : port_(FreePort()),
        dir_("/tmp/cohort-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_)) {
    if (std::system(("mkdir -p " + dir_).c_str()) != 0) throw std::runtime_error("cannot create " + dir_);
    Start();
  }
  ~OwnRedisServer() {
    Stop();
    (void)std::system(("rm -rf " + dir_).c_str());
  }
  OwnRedisServer(const OwnRedisServer&) = delete;
  OwnRedisServer& operator=(const OwnRedisServer&) = delete;

  // DEBUG is enabled so that a test can make the server slow (DEBUG SLEEP).
  void Start() {
    const std::string command = "redis-server --daemonize yes --bind 127.0.0.1 --port " +
                                std::to_string(port_) +
                                " --save '' --appendonly no --enable-debug-command yes --dir " + dir_ +
                                " --pidfile " + dir_ + "/redis.pid --logfile " + dir_ + "/redis.log";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("cannot start: " + command);
    for (int i = 0; i < 100; ++i) {
      if (Cli("ping") == "PONG") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("redis-server on port " + std::to_string(port_) + " did not answer PING");
  }

  void Stop() {
    (void)Cli("shutdown nosave");
    for (int i = 0; i < 100 && Cli("ping") == "PONG"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // redis-cli's trimmed output (empty when the server is not there).
  std::string Cli(const std::string& arguments) const {
    const std::string command = "redis-cli -p " + std::to_string(port_) + " " + arguments + " 2>/dev/null";
    std::string output;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      char buffer[256];
      while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
      ::pclose(pipe);
    }
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    return output;
  }

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  int port_;
  std::string dir_;
};

}  // namespace cohort::testing
