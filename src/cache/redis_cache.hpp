#pragma once
// RedisCache: the shared tier (L2), a thin, failure-proof client over hiredis (0.14, RESP2). It owns a small
// pool of blocking connections, each with a connect and a command timeout, and sends every command through a
// CircuitBreaker. Nothing here throws: a connection failure, a timeout, an error reply or a reply of an
// unexpected type is an Unavailable error, counted in Stats(); callers treat it as a miss. Connections are
// made lazily, so a Redis that is down at start-up does not keep the process from starting. Thread-safe.
//
// Transport failures and timeouts count against the breaker; an answer of the wrong shape does not (the
// server is alive), it only counts as an error.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/circuit_breaker.hpp"
#include "cache/clock.hpp"
#include "common/result.hpp"

struct redisContext;

namespace cohort::cache {

struct RedisEndpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string password;  // empty: no AUTH
};

// redis://[:password@]host[:port][/db]; InvalidArgument otherwise.
Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

struct RedisCacheOptions {
  std::string url;
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{50};  // also the longest wait for a free pooled connection
  int pool_size = 4;
  int breaker_failures = 5;
  std::chrono::milliseconds breaker_cooldown{5000};
};

struct RedisStats {
  std::uint64_t commands = 0;          // commands sent
  std::uint64_t errors = 0;            // every failed command, whatever the reason, plus CountError()
  std::uint64_t connect_failures = 0;  // included in errors
  std::uint64_t timeouts = 0;          // included in errors
  std::uint64_t bad_replies = 0;       // error replies and unexpected reply types, included in errors
  std::uint64_t open_connections = 0;
  BreakerStats breaker;
};

class RedisCache {
 public:
  static Result<std::unique_ptr<RedisCache>> Create(RedisCacheOptions options, ClockFn clock = SteadyNow);
  ~RedisCache();
  RedisCache(const RedisCache&) = delete;
  RedisCache& operator=(const RedisCache&) = delete;

  // GET: nullopt when the key does not exist (or holds a non-string).
  Result<std::optional<std::string>> Get(std::string_view key);
  // MGET: one round trip; one element per key, nullopt where the key is absent.
  Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string_view> keys);
  // SET key value EX ttl (ttl is raised to 1 s: Redis rejects EX 0).
  Result<void> Set(std::string_view key, std::string_view value, std::chrono::seconds ttl);
  // Atomically: when `key` is absent or not a decimal integer, sets it to `seed`; then adds `delta` (0 or 1)
  // and sets its TTL. Returns the new value. One round trip (a short Lua script).
  Result<std::int64_t> EnsureAndIncrement(std::string_view key, std::int64_t seed, std::int64_t delta,
                                          std::chrono::seconds ttl);

  // For callers that find a value they cannot decode: it shows in the same error count.
  void CountError();
  RedisStats Stats() const;
  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  struct ReplyDeleter {
    void operator()(void* reply) const;
  };
  using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

  RedisCache(RedisCacheOptions options, RedisEndpoint endpoint, ClockFn clock);

  // Sends one command through the breaker and the pool; the reply is not null and not an error reply.
  Result<ReplyPtr> Command(std::span<const std::string_view> args);
  Result<redisContext*> Acquire();
  void Release(redisContext* context, bool healthy);
  Result<redisContext*> Connect();
  Error Fail(std::string message, std::uint64_t RedisStats::*kind, bool breaker_failure);

  const RedisCacheOptions options_;
  const RedisEndpoint endpoint_;
  CircuitBreaker breaker_;

  struct Pool {
    mutable std::mutex mutex;
    std::condition_variable released;
    std::vector<redisContext*> idle;
    int open = 0;  // idle + lent out + being connected
  } pool_;

  mutable std::mutex stats_mutex_;
  RedisStats stats_;  // breaker and open_connections are filled in by Stats()
};

}  // namespace cohort::cache
