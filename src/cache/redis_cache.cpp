#include "cache/redis_cache.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace cohort::cache {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  const auto clamped = std::max(ms, std::chrono::milliseconds(1));
  return timeval{static_cast<time_t>(clamped.count() / 1000),
                 static_cast<suseconds_t>((clamped.count() % 1000) * 1000)};
}

redisReply* AsReply(void* reply) { return static_cast<redisReply*>(reply); }

// Keeps an existing integer version; replaces a missing or non-integer one by the seed, so that a Redis
// restart or a corrupted key never brings back a version some process may still hold values for.
constexpr std::string_view kEnsureAndIncrementScript = R"lua(
local cur = redis.call('GET', KEYS[1])
if (not cur) or (not string.match(cur, '^%d+$')) then redis.call('SET', KEYS[1], ARGV[1]) end
local v = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return v
)lua";

}  // namespace

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme))
    return Error::InvalidArgument(fmt::format("redis url must start with redis://: '{}'", url));
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint endpoint;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    // Only the password is used: ACL users are not needed by the deployments this serves.
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos)
      userinfo = userinfo.substr(colon + 1);
    endpoint.password = std::string(userinfo);
  }
  std::string_view authority = rest;
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  std::string_view host = authority;
  if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    const std::string_view port = authority.substr(colon + 1);
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
    if (ec != std::errc() || end != port.data() + port.size() || endpoint.port <= 0 || endpoint.port > 65535)
      return Error::InvalidArgument(fmt::format("bad port in redis url '{}'", url));
  }
  if (host.empty()) return Error::InvalidArgument(fmt::format("no host in redis url '{}'", url));
  endpoint.host = std::string(host);
  if (!path.empty()) {
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), endpoint.db);
    if (ec != std::errc() || end != path.data() + path.size() || endpoint.db < 0)
      return Error::InvalidArgument(fmt::format("bad database number in redis url '{}'", url));
  }
  return endpoint;
}

void RedisCache::ReplyDeleter::operator()(void* reply) const { freeReplyObject(reply); }

Result<std::unique_ptr<RedisCache>> RedisCache::Create(RedisCacheOptions options, ClockFn clock) {
  COHORT_ASSIGN_OR_RETURN(RedisEndpoint endpoint, ParseRedisUrl(options.url));
  return std::unique_ptr<RedisCache>(
      new RedisCache(std::move(options), std::move(endpoint), std::move(clock)));
}

RedisCache::RedisCache(RedisCacheOptions options, RedisEndpoint endpoint, ClockFn clock)
    : options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      breaker_(options_.breaker_failures, options_.breaker_cooldown, std::move(clock)) {}

RedisCache::~RedisCache() {
  for (redisContext* context : pool_.idle) redisFree(context);
}

Error RedisCache::Fail(std::string message, std::uint64_t RedisStats::*kind, bool breaker_failure) {
  {
    std::lock_guard lock(stats_mutex_);
    ++stats_.errors;
    if (kind != nullptr) ++(stats_.*kind);
  }
  if (breaker_failure) {
    breaker_.RecordFailure();
  } else {
    breaker_.RecordSuccess();
  }
  return Error::Unavailable("redis " + endpoint_.host + ":" + std::to_string(endpoint_.port) + ": " +
                            message);
}

void RedisCache::CountError() {
  std::lock_guard lock(stats_mutex_);
  ++stats_.errors;
  ++stats_.bad_replies;
}

RedisStats RedisCache::Stats() const {
  RedisStats stats;
  {
    std::lock_guard lock(stats_mutex_);
    stats = stats_;
  }
  stats.breaker = breaker_.Stats();
  {
    std::lock_guard lock(pool_.mutex);
    stats.open_connections = static_cast<std::uint64_t>(pool_.open);
  }
  return stats;
}

Result<redisContext*> RedisCache::Connect() {
  redisContext* context =
      redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, ToTimeval(options_.connect_timeout));
  if (context == nullptr) return Error::Unavailable("cannot allocate a hiredis context");
  if (context->err != 0) {
    std::string message = context->errstr;
    redisFree(context);
    return Error::Unavailable("connect: " + message);
  }
  const timeval command_timeout = ToTimeval(options_.command_timeout);
  if (redisSetTimeout(context, command_timeout) != REDIS_OK) {
    redisFree(context);
    return Error::Unavailable("cannot set the command timeout");
  }
  auto setup = [&](std::initializer_list<std::string> args) -> Result<void> {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    ReplyPtr reply(redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (!reply) return Error::Unavailable(std::string("setup: ") + context->errstr);
    if (AsReply(reply.get())->type == REDIS_REPLY_ERROR)
      return Error::Unavailable(std::string("setup: ") + AsReply(reply.get())->str);
    return {};
  };
  Result<void> ready;
  if (!endpoint_.password.empty()) ready = setup({"AUTH", endpoint_.password});
  if (ready && endpoint_.db != 0) ready = setup({"SELECT", std::to_string(endpoint_.db)});
  if (!ready) {
    redisFree(context);
    return std::move(ready).error();
  }
  return context;
}

Result<redisContext*> RedisCache::Acquire() {
  std::unique_lock lock(pool_.mutex);
  const auto deadline = std::chrono::steady_clock::now() + options_.command_timeout;
  const int pool_size = std::max(options_.pool_size, 1);
  while (pool_.idle.empty() && pool_.open >= pool_size) {
    if (pool_.released.wait_until(lock, deadline) == std::cv_status::timeout && pool_.idle.empty() &&
        pool_.open >= pool_size)
      return Fail("no free connection in the pool within the command timeout", &RedisStats::timeouts, true);
  }
  if (!pool_.idle.empty()) {
    redisContext* context = pool_.idle.back();
    pool_.idle.pop_back();
    return context;
  }
  ++pool_.open;  // reserves the slot while connecting without the lock
  lock.unlock();
  auto context = Connect();
  if (!context) {
    lock.lock();
    --pool_.open;
    lock.unlock();
    pool_.released.notify_one();
    return Fail(context.error().internal_message, &RedisStats::connect_failures, true);
  }
  return *context;
}

void RedisCache::Release(redisContext* context, bool healthy) {
  {
    std::lock_guard lock(pool_.mutex);
    if (healthy) {
      pool_.idle.push_back(context);
    } else {
      // A connection that failed or timed out mid-reply may still receive that reply: never reuse it.
      redisFree(context);
      --pool_.open;
    }
  }
  pool_.released.notify_one();
}

Result<RedisCache::ReplyPtr> RedisCache::Command(std::span<const std::string_view> args) {
  if (!breaker_.Allow()) return Error::Unavailable("redis circuit breaker is open");
  COHORT_ASSIGN_OR_RETURN(redisContext * context, Acquire());
  // Small fixed arrays: the hot commands have at most a handful of arguments.
  constexpr std::size_t kInline = 8;
  const char* argv_inline[kInline];
  std::size_t lengths_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> lengths_heap;
  const char** argv = argv_inline;
  std::size_t* lengths = lengths_inline;
  if (args.size() > kInline) {
    argv_heap.resize(args.size());
    lengths_heap.resize(args.size());
    argv = argv_heap.data();
    lengths = lengths_heap.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lengths[i] = args[i].size();
  }
  {
    std::lock_guard lock(stats_mutex_);
    ++stats_.commands;
  }
  errno = 0;
  ReplyPtr reply(redisCommandArgv(context, static_cast<int>(args.size()), argv, lengths));
  if (!reply) {
    const bool timeout = context->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    std::string message = context->errstr;
    Release(context, false);
    return Fail(message, timeout ? &RedisStats::timeouts : nullptr, true);
  }
  Release(context, true);
  if (AsReply(reply.get())->type == REDIS_REPLY_ERROR)
    return Fail(std::string("error reply: ") + AsReply(reply.get())->str, &RedisStats::bad_replies, false);
  breaker_.RecordSuccess();
  return reply;
}

Result<std::optional<std::string>> RedisCache::Get(std::string_view key) {
  const std::string_view args[] = {"GET", key};
  COHORT_ASSIGN_OR_RETURN(ReplyPtr reply, Command(args));
  const redisReply* r = AsReply(reply.get());
  if (r->type == REDIS_REPLY_NIL) return std::optional<std::string>();
  if (r->type != REDIS_REPLY_STRING) {
    CountError();
    return Error::Unavailable("redis GET: unexpected reply type " + std::to_string(r->type));
  }
  return std::optional<std::string>(std::in_place, r->str, r->len);
}

Result<std::vector<std::optional<std::string>>> RedisCache::MGet(std::span<const std::string_view> keys) {
  std::vector<std::string_view> args;
  args.reserve(keys.size() + 1);
  args.push_back("MGET");
  args.insert(args.end(), keys.begin(), keys.end());
  COHORT_ASSIGN_OR_RETURN(ReplyPtr reply, Command(args));
  const redisReply* r = AsReply(reply.get());
  if (r->type != REDIS_REPLY_ARRAY || r->elements != keys.size()) {
    CountError();
    return Error::Unavailable("redis MGET: unexpected reply shape");
  }
  std::vector<std::optional<std::string>> values(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const redisReply* element = r->element[i];
    if (element->type == REDIS_REPLY_STRING) {
      values[i].emplace(element->str, element->len);
    } else if (element->type != REDIS_REPLY_NIL) {
      CountError();
    }
  }
  return values;
}

Result<void> RedisCache::Set(std::string_view key, std::string_view value, std::chrono::seconds ttl) {
  const std::string seconds = std::to_string(std::max<std::int64_t>(ttl.count(), 1));
  const std::string_view args[] = {"SET", key, value, "EX", seconds};
  COHORT_ASSIGN_OR_RETURN(ReplyPtr reply, Command(args));
  if (AsReply(reply.get())->type != REDIS_REPLY_STATUS) {
    CountError();
    return Error::Unavailable("redis SET: unexpected reply type");
  }
  return {};
}

Result<std::int64_t> RedisCache::EnsureAndIncrement(std::string_view key, std::int64_t seed,
                                                    std::int64_t delta, std::chrono::seconds ttl) {
  const std::string seed_text = std::to_string(seed);
  const std::string delta_text = std::to_string(delta);
  const std::string ttl_text = std::to_string(std::max<std::int64_t>(ttl.count(), 1));
  const std::string_view args[] = {"EVAL",  kEnsureAndIncrementScript, "1", key, seed_text, delta_text,
                                   ttl_text};
  COHORT_ASSIGN_OR_RETURN(ReplyPtr reply, Command(args));
  const redisReply* r = AsReply(reply.get());
  if (r->type != REDIS_REPLY_INTEGER) {
    CountError();
    return Error::Unavailable("redis EVAL: unexpected reply type");
  }
  return static_cast<std::int64_t>(r->integer);
}

}  // namespace cohort::cache
