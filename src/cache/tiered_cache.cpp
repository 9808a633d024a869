#include "cache/tiered_cache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

namespace cohort::cache {
namespace {

constexpr std::string_view kHeaderMagic = "c1:";
// Past MaxKnownUsers() known users the table is emptied: a forgotten version is re-read from Redis or
// re-seeded, which costs a recomputation at worst, never a stale value. The bound follows L1's size: no cached
// entry is smaller than kMinEntryBytes, so L1 cannot hold values for more users than that, and the table (some
// 100 bytes a user) stays well below the memory L1 itself may use. Without Redis a forgotten version turns every
// answer of its user into a miss, so a bound below L1's reach would make a warm cache forget.
constexpr std::size_t kMinEntryBytes = 256;
constexpr std::size_t kMinKnownUsers = 1 << 16;
constexpr std::size_t kMaxScratchBytes = 256 * 1024;

std::int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A version never handed out before (see the header comment on seeds).
std::uint64_t SeedVersion() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

template <typename Int>
bool ParseInt(std::string_view text, Int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// ':' separates key parts and '%' escapes, so both are escaped inside a part.
void AppendEscaped(std::string& out, std::string_view part) {
  for (const char c : part) {
    if (c == ':') {
      out += "%3A";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
}

struct Decoded {
  std::uint64_t global = 0;
  std::uint64_t user = 0;
  std::int64_t expires_ms = 0;
  std::string_view payload;
};

std::string Encode(std::uint64_t global, std::uint64_t user, std::int64_t expires_ms,
                   std::string_view payload) {
  std::string out = fmt::format("{}{}:{}:{}\n", kHeaderMagic, global, user, expires_ms);
  out.append(payload);
  return out;
}

std::optional<Decoded> Decode(std::string_view raw) {
  if (!raw.starts_with(kHeaderMagic)) return std::nullopt;
  const auto newline = raw.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  std::string_view header = raw.substr(kHeaderMagic.size(), newline - kHeaderMagic.size());
  std::array<std::string_view, 3> fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto colon = header.find(':');
    if ((colon == std::string_view::npos) != (i == fields.size() - 1)) return std::nullopt;
    fields[i] = header.substr(0, colon);
    if (colon != std::string_view::npos) header = header.substr(colon + 1);
  }
  Decoded decoded;
  if (!ParseInt(fields[0], decoded.global) || !ParseInt(fields[1], decoded.user) ||
      !ParseInt(fields[2], decoded.expires_ms))
    return std::nullopt;
  decoded.payload = raw.substr(newline + 1);
  return decoded;
}

}  // namespace

std::string_view SourceName(Source source) {
  switch (source) {
    case Source::kL1:
      return "l1";
    case Source::kL2:
      return "l2";
    case Source::kComputed:
      return "computed";
  }
  return "unknown";
}

Result<std::unique_ptr<TieredCache>> TieredCache::Create(CacheOptions options, ClockFn clock) {
  if (!clock) clock = SteadyNow;
  std::unique_ptr<RedisCache> l2;
  if (options.enabled && options.l2_enabled && !options.redis_url.empty()) {
    COHORT_ASSIGN_OR_RETURN(l2, RedisCache::Create(
                                    RedisCacheOptions{
                                        .url = options.redis_url,
                                        .connect_timeout = options.redis_connect_timeout,
                                        .command_timeout = options.redis_command_timeout,
                                        .pool_size = options.redis_pool_size,
                                        .breaker_failures = options.breaker_failures,
                                        .breaker_cooldown = options.breaker_cooldown,
                                    },
                                    clock));
  }
  return std::unique_ptr<TieredCache>(new TieredCache(std::move(options), std::move(clock), std::move(l2)));
}

TieredCache::TieredCache(CacheOptions options, ClockFn clock, std::unique_ptr<RedisCache> l2)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      l1_(options_.enabled && options_.l1_enabled
              ? std::make_unique<LruCache>(options_.l1_max_bytes, options_.l1_shards, clock_)
              : nullptr),
      l2_(std::move(l2)),
      global_version_key_(options_.key_prefix + ":ver:global") {}

TieredCache::~TieredCache() = default;

TieredCache::Keys TieredCache::MakeKeys(const CacheKey& key) const {
  Keys keys;
  keys.logical.reserve(key.ns.size() + key.user_id.size() + key.name.size() + 2);
  AppendEscaped(keys.logical, key.ns);
  keys.logical += ':';
  AppendEscaped(keys.logical, key.user_id);
  keys.logical += ':';
  keys.logical.append(key.name);
  if (l2_) {
    keys.value = options_.key_prefix + ":val:" + keys.logical;
    if (!key.user_id.empty()) keys.user_version = UserVersionKey(key.user_id);
  }
  return keys;
}

std::string TieredCache::UserVersionKey(std::string_view user_id) const {
  std::string key = options_.key_prefix + ":ver:user:";
  AppendEscaped(key, user_id);
  return key;
}

TieredCache::Versions TieredCache::LocalVersions(std::string_view user_id, bool* fresh) {
  const auto now = clock_();
  auto is_fresh = [&](const KnownVersion& known) {
    return known.fetched != Clock::time_point::min() && now - known.fetched < options_.version_max_staleness;
  };
  std::lock_guard lock(versions_.mutex);
  if (!versions_.global) versions_.global = KnownVersion{SeedVersion()};
  Versions versions{versions_.global->version, 0};
  bool all_fresh = is_fresh(*versions_.global);
  if (!user_id.empty()) {
    auto found = versions_.users.find(user_id);
    if (found == versions_.users.end()) {
      if (versions_.users.size() >= std::max(kMinKnownUsers, options_.l1_max_bytes / kMinEntryBytes)) {
        std::erase_if(versions_.users,
                      [&](const auto& entry) { return !versions_.pending_users.contains(entry.first); });
      }
      found = versions_.users.emplace(std::string(user_id), KnownVersion{SeedVersion()}).first;
    }
    versions.user = found->second.version;
    all_fresh = all_fresh && is_fresh(found->second);
  }
  if (fresh != nullptr) *fresh = all_fresh;
  return versions;
}

std::optional<TieredCache::Versions> TieredCache::AdoptVersions(std::string_view user_id, const Keys& keys,
                                                                const std::optional<std::string>& global,
                                                                const std::optional<std::string>& user) {
  auto resolve = [&](const std::optional<std::string>& text,
                     const std::string& redis_key) -> std::optional<std::uint64_t> {
    std::uint64_t version = 0;
    if (text && ParseInt(*text, version)) return version;
    if (text) l2_->CountError();  // corrupt: the script below replaces it
    auto created =
        l2_->EnsureAndIncrement(redis_key, static_cast<std::int64_t>(SeedVersion()), 0, kVersionTtl);
    if (!created) return std::nullopt;
    return static_cast<std::uint64_t>(*created);
  };
  const auto global_version = resolve(global, global_version_key_);
  if (!global_version) return std::nullopt;
  Versions versions{*global_version, 0};
  if (!user_id.empty()) {
    const auto user_version = resolve(user, keys.user_version);
    if (!user_version) return std::nullopt;
    versions.user = *user_version;
  }
  const auto now = clock_();
  std::lock_guard lock(versions_.mutex);
  // A bump not yet written to Redis outranks what Redis says: keep it until the replay succeeds.
  if (!versions_.pending_global) versions_.global = KnownVersion{versions.global, now};
  if (!user_id.empty() && !versions_.pending_users.contains(std::string(user_id))) {
    versions_.users.insert_or_assign(std::string(user_id), KnownVersion{versions.user, now});
  }
  return versions;
}

TieredCache::Versions TieredCache::CurrentVersions(std::string_view user_id, const Keys& keys) {
  bool fresh = false;
  const Versions local = LocalVersions(user_id, &fresh);
  if (fresh || !l2_) return local;
  FlushPendingInvalidations();
  std::vector<std::string_view> redis_keys{global_version_key_};
  if (!user_id.empty()) redis_keys.push_back(keys.user_version);
  auto reply = l2_->MGet(redis_keys);
  if (!reply) return LocalVersions(user_id, nullptr);
  const std::optional<std::string> none;
  auto adopted = AdoptVersions(user_id, keys, (*reply)[0], user_id.empty() ? none : (*reply)[1]);
  return adopted ? *adopted : LocalVersions(user_id, nullptr);
}

Result<Lookup> TieredCache::ComputeOnly(const ComputeFn& compute) {
  computes_.fetch_add(1, std::memory_order_relaxed);
  Result<std::string> computed = compute();
  if (!computed) {
    compute_errors_.fetch_add(1, std::memory_order_relaxed);
    return std::move(computed).error();
  }
  return Lookup{std::move(computed).value(), Source::kComputed};
}

Result<Lookup> TieredCache::GetOrCompute(std::string_view key, std::chrono::seconds ttl,
                                         const ComputeFn& compute) {
  return GetOrCompute(CacheKey{"", "", key}, ttl, compute);
}

Result<Lookup> TieredCache::GetOrCompute(const CacheKey& key, std::chrono::seconds ttl,
                                         const ComputeFn& compute) {
  if (!options_.enabled || ttl <= std::chrono::seconds::zero()) return ComputeOnly(compute);
  ttl = std::min(ttl, kMaxValueTtl);
  const Keys keys = MakeKeys(key);

  if (l1_) {
    // Reused by every lookup on this thread, so an L1 hit copies the value once more only into the result.
    thread_local std::string raw;
    std::optional<Lookup> hit;
    if (l1_->Get(keys.logical, raw)) {
      const auto decoded = Decode(raw);
      if (decoded && Versions{decoded->global, decoded->user} == CurrentVersions(key.user_id, keys)) {
        hit = Lookup{std::string(decoded->payload), Source::kL1};
      } else {
        l1_stale_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (raw.capacity() > kMaxScratchBytes)
      std::string().swap(raw);  // one huge value must not stay in every thread
    if (hit) return std::move(*hit);
  }

  // The versions are part of the flight: a caller that comes after an Invalidate() in this process must not
  // share a computation that started before it.
  const Versions local = LocalVersions(key.user_id, nullptr);
  const std::string flight = fmt::format("{}\n{}.{}", keys.logical, local.global, local.user);
  return flights_.Run(flight, [&] { return Fill(key, keys, ttl, compute); });
}

Result<Lookup> TieredCache::Fill(const CacheKey& key, const Keys& keys, std::chrono::seconds ttl,
                                 const ComputeFn& compute) {
  std::optional<Versions> versions;
  std::optional<std::string> l2_value;
  if (l2_) {
    FlushPendingInvalidations();
    std::vector<std::string_view> redis_keys{global_version_key_};
    if (!key.user_id.empty()) redis_keys.push_back(keys.user_version);
    redis_keys.push_back(keys.value);
    if (auto reply = l2_->MGet(redis_keys)) {
      const std::optional<std::string> none;
      versions = AdoptVersions(key.user_id, keys, reply->front(), key.user_id.empty() ? none : (*reply)[1]);
      if (versions) l2_value = std::move(reply->back());
    }
  }
  if (!versions) versions = LocalVersions(key.user_id, nullptr);

  // A computation that ended just before this one started may have filled L1.
  if (l1_) {
    std::string raw;
    if (l1_->Get(keys.logical, raw)) {
      const auto decoded = Decode(raw);
      if (decoded && Versions{decoded->global, decoded->user} == *versions)
        return Lookup{std::string(decoded->payload), Source::kL1};
      l1_stale_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  if (l2_) {
    std::optional<Decoded> decoded;
    if (l2_value) {
      decoded = Decode(*l2_value);
      if (!decoded) {
        l2_decode_errors_.fetch_add(1, std::memory_order_relaxed);
        l2_->CountError();
      }
    }
    const std::int64_t remaining_ms = decoded ? decoded->expires_ms - WallMillis() : 0;
    if (decoded && Versions{decoded->global, decoded->user} == *versions && remaining_ms > 0) {
      l2_hits_.fetch_add(1, std::memory_order_relaxed);
      // Promoted for no longer than Redis keeps it, so L1 does not outlive the TTL it was written with.
      if (l1_)
        l1_->Put(keys.logical, *l2_value,
                 std::min<Clock::duration>(std::chrono::milliseconds(remaining_ms), ttl));
      return Lookup{std::string(decoded->payload), Source::kL2};
    }
    l2_misses_.fetch_add(1, std::memory_order_relaxed);
  }

  COHORT_ASSIGN_OR_RETURN(Lookup computed, ComputeOnly(compute));
  const std::string encoded = Encode(
      versions->global, versions->user,
      WallMillis() + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count(), computed.value);
  if (l1_) l1_->Put(keys.logical, encoded, ttl);
  if (l2_) (void)l2_->Set(keys.value, encoded, ttl);  // a failure is counted there; the value is still good
  return computed;
}

void TieredCache::Invalidate(std::string_view user_id) {
  if (user_id.empty()) return;  // values of no user are reached by InvalidateAll() only
  Bump(user_id);
}

void TieredCache::InvalidateAll() { Bump(std::nullopt); }

void TieredCache::Bump(std::optional<std::string_view> user_id) {
  invalidations_.fetch_add(1, std::memory_order_relaxed);
  if (!options_.enabled) return;
  if (l2_) {
    FlushPendingInvalidations();
    const std::string redis_key = user_id ? UserVersionKey(*user_id) : global_version_key_;
    auto bumped =
        l2_->EnsureAndIncrement(redis_key, static_cast<std::int64_t>(SeedVersion()), 1, kVersionTtl);
    if (bumped) {
      const KnownVersion known{static_cast<std::uint64_t>(*bumped), clock_()};
      std::lock_guard lock(versions_.mutex);
      if (user_id) {
        versions_.users.insert_or_assign(std::string(*user_id), known);
      } else {
        versions_.global = known;
      }
      return;
    }
  }
  // Redis unreachable (or absent): this process moves on to a version of its own at once, and Redis is told
  // later.
  std::lock_guard lock(versions_.mutex);
  KnownVersion* known = nullptr;
  if (user_id) {
    known = &versions_.users.try_emplace(std::string(*user_id), KnownVersion{SeedVersion()}).first->second;
  } else {
    if (!versions_.global) versions_.global = KnownVersion{SeedVersion()};
    known = &*versions_.global;
  }
  *known = KnownVersion{known->version + 1};
  if (l2_) {
    if (user_id) {
      versions_.pending_users.emplace(*user_id);
    } else {
      versions_.pending_global = true;
    }
    has_pending_.store(true, std::memory_order_release);
  }
}

void TieredCache::FlushPendingInvalidations() {
  if (!has_pending_.load(std::memory_order_acquire)) return;
  std::unique_lock flushing(flush_mutex_, std::try_to_lock);
  if (!flushing.owns_lock()) return;  // another thread is replaying them
  bool global = false;
  std::vector<std::string> users;
  {
    std::lock_guard lock(versions_.mutex);
    global = versions_.pending_global;
    users.assign(versions_.pending_users.begin(), versions_.pending_users.end());
  }
  // They stay pending until Redis has the new version, so that no read adopts the old one in between.
  auto replay = [&](const std::string& redis_key) -> std::optional<KnownVersion> {
    auto bumped =
        l2_->EnsureAndIncrement(redis_key, static_cast<std::int64_t>(SeedVersion()), 1, kVersionTtl);
    if (!bumped) return std::nullopt;
    return KnownVersion{static_cast<std::uint64_t>(*bumped), clock_()};
  };
  if (global) {
    const auto known = replay(global_version_key_);
    if (!known) return;
    std::lock_guard lock(versions_.mutex);
    versions_.global = *known;
    versions_.pending_global = false;
  }
  for (const auto& user : users) {
    const auto known = replay(UserVersionKey(user));
    if (!known) return;
    std::lock_guard lock(versions_.mutex);
    versions_.users.insert_or_assign(user, *known);
    versions_.pending_users.erase(user);
  }
  std::lock_guard lock(versions_.mutex);
  has_pending_.store(versions_.pending_global || !versions_.pending_users.empty(), std::memory_order_release);
}

CacheStats TieredCache::Stats() const {
  CacheStats stats;
  stats.enabled = options_.enabled;
  stats.l1_enabled = l1_ != nullptr;
  stats.l2_enabled = l2_ != nullptr;
  if (l1_) {
    stats.l1 = l1_->Stats();
    const std::uint64_t stale = std::min(l1_stale_.load(std::memory_order_relaxed), stats.l1.hits);
    stats.l1.hits -= stale;
    stats.l1.misses += stale;
  }
  if (l2_) {
    stats.l2.hits = l2_hits_.load(std::memory_order_relaxed);
    stats.l2.misses = l2_misses_.load(std::memory_order_relaxed);
    stats.l2.decode_errors = l2_decode_errors_.load(std::memory_order_relaxed);
    stats.l2.redis = l2_->Stats();
  }
  stats.computes = computes_.load(std::memory_order_relaxed);
  stats.compute_errors = compute_errors_.load(std::memory_order_relaxed);
  stats.shared_computes = flights_.waits();
  stats.invalidations = invalidations_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(versions_.mutex);
    stats.pending_invalidations = versions_.pending_users.size() + (versions_.pending_global ? 1 : 0);
  }
  return stats;
}

}  // namespace cohort::cache
