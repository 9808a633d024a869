// MongoEventStore on libmongoc: the layout, the idempotency contract and the error mapping are described in
// the header. Every document and command is built with the libbson API, never from strings of user values;
// the one JSON → BSON parse is of the checked pipeline from Pipeline::ToMongo().

#include "store/events/mongo/mongo_event_store.hpp"

#include <mongoc/mongoc.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/time.hpp"
#include "domain/messages.hpp"
#include "store/messaging/outbox.hpp"

namespace cohort::store {

struct MongoEventStore::State {
  mongoc_client_pool_t* pool = nullptr;
  std::string database;
  std::unique_ptr<sql::Database> outbox;  // may be null: no messages

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (pool != nullptr) mongoc_client_pool_destroy(pool);
  }
};

namespace {

constexpr const char* kCollection = "events";
constexpr const char* kDefaultDatabase = "cohort";
constexpr int kLayoutVersion = 1;
constexpr std::size_t kDefaultPoolSize = 100;

// Defaults applied when the URL does not set them: a dead server fails within a few seconds.
constexpr std::int32_t kServerSelectionTimeoutMs = 3'000;
constexpr std::int32_t kConnectTimeoutMs = 3'000;
constexpr std::int32_t kSocketTimeoutMs = 10'000;
constexpr std::int32_t kWaitQueueTimeoutMs = 5'000;
constexpr std::int64_t kReadTimeoutMs = 5'000;  // maxTimeMS of find and count

// Server error codes (https://www.mongodb.com/docs/manual/reference/error-codes/).
constexpr std::uint32_t kDuplicateKey = 11000;
constexpr std::uint32_t kMaxTimeMsExpired = 50;
constexpr std::array<std::uint32_t, 12> kUnavailableCodes = {
    6,      // HostUnreachable
    7,      // HostNotFound
    89,     // NetworkTimeout
    91,     // ShutdownInProgress
    189,    // PrimarySteppedDown
    262,    // ExceededTimeLimit (network side)
    9001,   // SocketException
    10107,  // NotWritablePrimary
    11600,  // InterruptedAtShutdown
    11602,  // InterruptedDueToReplStateChange
    13435,  // NotPrimaryNoSecondaryOk
    13436,  // NotPrimaryOrSecondary
};
constexpr std::array<std::uint32_t, 5> kMemoryLimitCodes = {
    146,    // ExceededMemoryLimit
    292,    // QueryExceededMemoryLimitNoDiskUseAllowed
    16819,  // sort exceeded memory limit (older servers)
    16945,  // $group exceeded memory limit (older servers)
    15998,  // document too large for an in-memory stage
};

// ---- RAII for libbson and libmongoc handles ----------------------------------------------------------------

class Bson {
 public:
  Bson() { bson_init(&doc_); }
  ~Bson() { bson_destroy(&doc_); }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;

  bson_t* get() { return &doc_; }
  const bson_t* get() const { return &doc_; }

 private:
  bson_t doc_;
};

struct BsonDeleter {
  void operator()(bson_t* doc) const { bson_destroy(doc); }
};
using BsonPtr = std::unique_ptr<bson_t, BsonDeleter>;

struct UriDeleter {
  void operator()(mongoc_uri_t* uri) const { mongoc_uri_destroy(uri); }
};
struct CollectionDeleter {
  void operator()(mongoc_collection_t* c) const { mongoc_collection_destroy(c); }
};
struct DatabaseDeleter {
  void operator()(mongoc_database_t* d) const { mongoc_database_destroy(d); }
};
struct CursorDeleter {
  void operator()(mongoc_cursor_t* c) const { mongoc_cursor_destroy(c); }
};
using CollectionPtr = std::unique_ptr<mongoc_collection_t, CollectionDeleter>;
using CursorPtr = std::unique_ptr<mongoc_cursor_t, CursorDeleter>;

// A client popped from the pool for one operation and pushed back when done.
class PooledClient {
 public:
  explicit PooledClient(mongoc_client_pool_t* pool) : pool_(pool), client_(mongoc_client_pool_pop(pool)) {}
  ~PooledClient() {
    if (client_ != nullptr) mongoc_client_pool_push(pool_, client_);
  }
  PooledClient(const PooledClient&) = delete;
  PooledClient& operator=(const PooledClient&) = delete;

  mongoc_client_t* get() const { return client_; }

 private:
  mongoc_client_pool_t* pool_;
  mongoc_client_t* client_;
};

// ---- errors -------------------------------------------------------------------------------------------------

template <std::size_t N>
bool Contains(const std::array<std::uint32_t, N>& codes, std::uint32_t code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

bool IsServerDomain(const bson_error_t& error) {
  return error.domain == MONGOC_ERROR_SERVER || error.domain == MONGOC_ERROR_QUERY ||
         error.domain == MONGOC_ERROR_WRITE_CONCERN;
}

// What a server error that is neither transient nor a time or memory limit means for the caller.
enum class ServerFailure { kInternal, kInvalidPipeline };

Error MapError(const bson_error_t& error, std::string_view operation,
               ServerFailure server_failure = ServerFailure::kInternal) {
  std::string internal =
      fmt::format("mongo {}: {} (domain {}, code {})", operation, error.message, error.domain, error.code);
  if (IsServerDomain(error)) {
    if (error.code == kMaxTimeMsExpired)
      return {ErrorCode::kDeadlineExceeded, "the query took longer than its time limit", std::move(internal)};
    if (Contains(kUnavailableCodes, error.code)) return Error::Unavailable(std::move(internal));
    if (Contains(kMemoryLimitCodes, error.code))
      return {ErrorCode::kResourceExhausted, "the pipeline needs more memory than a stage may use",
              std::move(internal)};
    if (server_failure == ServerFailure::kInvalidPipeline)
      return {ErrorCode::kInvalidArgument, fmt::format("the pipeline failed on the server: {}", error.message),
              std::move(internal)};
    return Error::Internal(std::move(internal));
  }
  switch (error.domain) {
    case MONGOC_ERROR_SERVER_SELECTION:
    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_PROTOCOL:
      return Error::Unavailable(std::move(internal));
    case MONGOC_ERROR_CLIENT:
      // Authentication failures and an exhausted pool: the store cannot be used right now.
      return Error::Unavailable(std::move(internal));
    default:
      return Error::Internal(std::move(internal));
  }
}

Error NoClient() {
  return Error::Unavailable("mongo: no pooled connection became free within waitQueueTimeoutMS");
}

Error BsonTooLarge(std::string_view what) {
  return Error::InvalidArgument(fmt::format("{} is too large or too deeply nested for a BSON document", what));
}

// ---- JSON → BSON (event properties) -------------------------------------------------------------------------

bool AppendJson(bson_t* doc, std::string_view key, const nlohmann::json& value);

bool AppendJsonObject(bson_t* doc, const nlohmann::json& object) {
  for (const auto& [key, value] : object.items())
    if (!AppendJson(doc, key, value)) return false;
  return true;
}

bool AppendJson(bson_t* doc, std::string_view key, const nlohmann::json& value) {
  // libbson refuses keys with an embedded NUL; the append then fails and so does the event.
  if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      key.find('\0') != std::string_view::npos)
    return false;
  const char* k = key.data();
  const int klen = static_cast<int>(key.size());
  switch (value.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return bson_append_null(doc, k, klen);
    case nlohmann::json::value_t::boolean:
      return bson_append_bool(doc, k, klen, value.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return bson_append_int64(doc, k, klen, value.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = value.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return bson_append_int64(doc, k, klen, static_cast<std::int64_t>(u));
      return bson_append_double(doc, k, klen, static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float:
      return bson_append_double(doc, k, klen, value.get<double>());
    case nlohmann::json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (s.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
      return bson_append_utf8(doc, k, klen, s.data(), static_cast<int>(s.size()));
    }
    case nlohmann::json::value_t::object: {
      bson_t child;
      if (!bson_append_document_begin(doc, k, klen, &child)) return false;
      const bool ok = AppendJsonObject(&child, value);
      return bson_append_document_end(doc, &child) && ok;
    }
    case nlohmann::json::value_t::array: {
      bson_t child;
      if (!bson_append_array_begin(doc, k, klen, &child)) return false;
      bool ok = true;
      std::uint32_t index = 0;
      for (const auto& item : value) {
        char buffer[16];
        const char* index_key = nullptr;
        const std::size_t len = bson_uint32_to_string(index++, &index_key, buffer, sizeof buffer);
        if (!AppendJson(&child, std::string_view(index_key, len), item)) {
          ok = false;
          break;
        }
      }
      return bson_append_array_end(doc, &child) && ok;
    }
    case nlohmann::json::value_t::binary:
      return false;
  }
  return false;
}

bool AppendString(bson_t* doc, const char* key, const std::string& value) {
  if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
  return bson_append_utf8(doc, key, -1, value.data(), static_cast<int>(value.size()));
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::int64_t CeilDiv(std::int64_t a, std::int64_t b) { return -FloorDiv(-a, b); }

Result<void> EventToBson(const domain::Event& e, bson_t* doc) {
  auto properties = nlohmann::json::parse(e.properties, nullptr, /*allow_exceptions=*/false);
  if (!properties.is_object())
    return Error::InvalidArgument(fmt::format("event '{}': properties is not a JSON object", e.event_id));
  const bool ok = AppendString(doc, "_id", e.event_id) && AppendString(doc, "user_id", e.user_id) &&
                  AppendString(doc, "type", e.type) && (!e.product_id || AppendString(doc, "product_id", *e.product_id)) &&
                  (!e.category || AppendString(doc, "category", *e.category)) &&
                  (!e.price || bson_append_double(doc, "price", -1, *e.price)) &&
                  bson_append_int64(doc, "quantity", -1, e.quantity) &&
                  bson_append_date_time(doc, "ts", -1, FloorDiv(e.ts_micros, 1000));
  if (!ok) return BsonTooLarge(fmt::format("event '{}'", e.event_id));
  bson_t child;
  if (!bson_append_document_begin(doc, "properties", -1, &child))
    return BsonTooLarge(fmt::format("event '{}'", e.event_id));
  const bool properties_ok = AppendJsonObject(&child, properties);
  if (!bson_append_document_end(doc, &child) || !properties_ok)
    return Error::InvalidArgument(fmt::format(
        "event '{}': properties cannot be stored as a BSON document (a key with a NUL character, or too large)",
        e.event_id));
  return {};
}

// ---- BSON → JSON ------------------------------------------------------------------------------------------

// Dates that std::chrono's nanosecond clock can hold (years 1678 to 2261); others stay milliseconds.
constexpr std::int64_t kMaxFormattableMillis = 9'000'000'000'000;

nlohmann::json DateToJson(std::int64_t millis) {
  if (millis > kMaxFormattableMillis || millis < -kMaxFormattableMillis) return millis;
  return FormatRfc3339(
      Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(millis))));
}

nlohmann::json IterToJson(const bson_iter_t* iter);

nlohmann::json ChildrenToJson(const bson_iter_t* iter, bool array) {
  nlohmann::json out = array ? nlohmann::json::array() : nlohmann::json::object();
  bson_iter_t child;
  if (!bson_iter_recurse(iter, &child)) return out;
  while (bson_iter_next(&child)) {
    if (array)
      out.push_back(IterToJson(&child));
    else
      out[bson_iter_key(&child)] = IterToJson(&child);
  }
  return out;
}

nlohmann::json IterToJson(const bson_iter_t* iter) {
  switch (bson_iter_type(iter)) {
    case BSON_TYPE_DOUBLE:
      return bson_iter_double(iter);
    case BSON_TYPE_INT32:
      return bson_iter_int32(iter);
    case BSON_TYPE_INT64:
      return bson_iter_int64(iter);
    case BSON_TYPE_BOOL:
      return bson_iter_bool(iter);
    case BSON_TYPE_UTF8: {
      std::uint32_t len = 0;
      const char* s = bson_iter_utf8(iter, &len);
      return std::string(s, len);
    }
    case BSON_TYPE_DATE_TIME:
      return DateToJson(bson_iter_date_time(iter));
    case BSON_TYPE_DOCUMENT:
      return ChildrenToJson(iter, false);
    case BSON_TYPE_ARRAY:
      return ChildrenToJson(iter, true);
    case BSON_TYPE_OID: {
      char hex[25];
      bson_oid_to_string(bson_iter_oid(iter), hex);
      return std::string(hex);
    }
    case BSON_TYPE_DECIMAL128: {
      bson_decimal128_t value;
      char text[BSON_DECIMAL128_STRING];
      if (!bson_iter_decimal128(iter, &value)) return nullptr;
      bson_decimal128_to_string(&value, text);
      char* end = nullptr;
      const double d = std::strtod(text, &end);
      if (end != text && *end == '\0' && std::isfinite(d)) return d;
      return std::string(text);
    }
    case BSON_TYPE_TIMESTAMP: {
      std::uint32_t seconds = 0, increment = 0;
      bson_iter_timestamp(iter, &seconds, &increment);
      return {{"t", seconds}, {"i", increment}};
    }
    case BSON_TYPE_SYMBOL: {
      std::uint32_t len = 0;
      const char* s = bson_iter_symbol(iter, &len);
      return std::string(s, len);
    }
    case BSON_TYPE_CODE: {
      std::uint32_t len = 0;
      const char* s = bson_iter_code(iter, &len);
      return std::string(s, len);
    }
    case BSON_TYPE_REGEX: {
      const char* options = nullptr;
      const char* pattern = bson_iter_regex(iter, &options);
      return fmt::format("/{}/{}", pattern, options != nullptr ? options : "");
    }
    default:  // null, undefined, binary, min/max key, DBPointer, code with scope
      return nullptr;
  }
}

nlohmann::json DocumentToJson(const bson_t* doc) {
  nlohmann::json out = nlohmann::json::object();
  bson_iter_t iter;
  if (!bson_iter_init(&iter, doc)) return out;
  while (bson_iter_next(&iter)) out[bson_iter_key(&iter)] = IterToJson(&iter);
  return out;
}

std::string IterString(const bson_iter_t* iter) {
  if (BSON_ITER_HOLDS_UTF8(iter)) {
    std::uint32_t len = 0;
    const char* s = bson_iter_utf8(iter, &len);
    return std::string(s, len);
  }
  const auto json = IterToJson(iter);
  return json.is_string() ? json.get<std::string>() : json.dump();
}

Result<domain::Event> BsonToEvent(const bson_t* doc) {
  domain::Event e;
  bool has_id = false, has_user = false, has_type = false, has_ts = false;
  bson_iter_t iter;
  if (!bson_iter_init(&iter, doc)) return Error::Internal("mongo: a stored event is not valid BSON");
  while (bson_iter_next(&iter)) {
    const std::string_view key = bson_iter_key(&iter);
    const bson_type_t type = bson_iter_type(&iter);
    if (type == BSON_TYPE_NULL) continue;
    if (key == "_id") {
      e.event_id = IterString(&iter);
      has_id = true;
    } else if (key == "user_id") {
      e.user_id = IterString(&iter);
      has_user = true;
    } else if (key == "type") {
      e.type = IterString(&iter);
      has_type = true;
    } else if (key == "product_id") {
      e.product_id = IterString(&iter);
    } else if (key == "category") {
      e.category = IterString(&iter);
    } else if (key == "price") {
      if (BSON_ITER_HOLDS_NUMBER(&iter)) e.price = bson_iter_as_double(&iter);
    } else if (key == "quantity") {
      if (BSON_ITER_HOLDS_NUMBER(&iter)) e.quantity = bson_iter_as_int64(&iter);
    } else if (key == "ts") {
      if (type != BSON_TYPE_DATE_TIME) return Error::Internal("mongo: a stored event's ts is not a date");
      e.ts_micros = bson_iter_date_time(&iter) * 1000;
      has_ts = true;
    } else if (key == "properties") {
      if (type == BSON_TYPE_DOCUMENT)
        e.properties = ChildrenToJson(&iter, false).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  if (!has_id || !has_user || !has_type || !has_ts)
    return Error::Internal(fmt::format("mongo: stored event '{}' lacks _id, user_id, type or ts", e.event_id));
  return e;
}

// ---- pipelines ----------------------------------------------------------------------------------------------

// Rewrites every {"$date": "<RFC 3339>"} as {"$date": {"$numberLong": "<ms>"}}: libbson's parser takes at most
// three fraction digits and no "+hh:mm" offsets, while FormatRfc3339 writes microseconds. Stored times are
// whole milliseconds, so a bound between two milliseconds is rounded the way that keeps the comparison true
// of the stored values: up for $gte and $lt, down for $gt, $lte and the rest.
Result<void> NormalizeDates(nlohmann::ordered_json& value, std::string_view parent_key) {
  if (value.is_array()) {
    for (auto& item : value) COHORT_TRY(NormalizeDates(item, parent_key));
    return {};
  }
  if (!value.is_object()) return {};
  if (value.size() == 1 && value.contains("$date") && value["$date"].is_string()) {
    const auto& text = value["$date"].get_ref<const std::string&>();
    const auto t = ParseRfc3339(text);
    if (!t) return Error::Internal(fmt::format("mongo aggregate: '{}' is not an RFC 3339 date", text));
    const std::int64_t micros =
        std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
    const bool round_up = parent_key == "$gte" || parent_key == "$lt";
    const std::int64_t millis = round_up ? CeilDiv(micros, 1000) : FloorDiv(micros, 1000);
    value = {{"$date", {{"$numberLong", std::to_string(millis)}}}};
    return {};
  }
  for (auto& [key, child] : value.items()) COHORT_TRY(NormalizeDates(child, key));
  return {};
}

// Whether the documents a pipeline returns are (possibly projected) events, whose _id is the event_id, rather
// than documents it built, such as $group's, whose _id is their key.
bool ReturnsEvents(const nlohmann::ordered_json& stages) {
  static constexpr std::array<std::string_view, 8> kReshaping = {
      "$group", "$bucket", "$bucketAuto", "$count", "$sortByCount", "$replaceRoot", "$replaceWith", "$facet"};
  for (const auto& stage : stages) {
    if (!stage.is_object()) continue;
    for (const auto& [name, spec] : stage.items()) {
      if (std::find(kReshaping.begin(), kReshaping.end(), name) != kReshaping.end()) return false;
      // {$project: {_id: "$user_id"}} and the like give _id a new meaning.
      if ((name == "$project" || name == "$addFields" || name == "$set") && spec.is_object() &&
          spec.contains("_id") && !spec["_id"].is_boolean() && !spec["_id"].is_number())
        return false;
    }
  }
  return true;
}

nlohmann::json ResultToJson(const bson_t* doc, bool event) {
  nlohmann::json out = DocumentToJson(doc);
  if (event) {
    if (auto it = out.find("_id"); it != out.end()) {
      out["event_id"] = std::move(*it);
      out.erase("_id");
    }
  }
  return out;
}

// ---- logging ------------------------------------------------------------------------------------------------

void LogToSpdlog(mongoc_log_level_t level, const char* domain, const char* message, void* /*user_data*/) {
  switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
      spdlog::error("libmongoc {}: {}", domain, message);
      break;
    case MONGOC_LOG_LEVEL_WARNING:
      spdlog::warn("libmongoc {}: {}", domain, message);
      break;
    default:  // message, info, debug, trace: libmongoc's own chatter
      break;
  }
}

void InitMongoc() {
  static std::once_flag once;
  std::call_once(once, [] {
    mongoc_init();
    mongoc_log_set_handler(LogToSpdlog, nullptr);
  });
}

Result<CollectionPtr> EventsCollection(mongoc_client_t* client, const std::string& database) {
  CollectionPtr collection(mongoc_client_get_collection(client, database.c_str(), kCollection));
  if (!collection) return Error::Internal("mongo: cannot get the events collection");
  return collection;
}

}  // namespace

// ---- MongoEventStore ------------------------------------------------------------------------------------------

MongoEventStore::MongoEventStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
MongoEventStore::~MongoEventStore() = default;

const std::string& MongoEventStore::database_name() const { return state_->database; }

Result<int> MongoEventStore::Migrate() {
  if (state_->outbox) COHORT_TRY(Outbox(*state_->outbox).Migrate());
  PooledClient client(state_->pool);
  if (client.get() == nullptr) return NoClient();
  COHORT_ASSIGN_OR_RETURN(auto collection, EventsCollection(client.get(), state_->database));

  struct IndexSpec {
    const char* name;
    std::vector<std::pair<const char*, int>> keys;
  };
  const IndexSpec specs[] = {
      {"user_id_1_ts_-1", {{"user_id", 1}, {"ts", -1}}},
      {"type_1_ts_-1", {{"type", 1}, {"ts", -1}}},
      {"product_id_1", {{"product_id", 1}}},
      {"category_1", {{"category", 1}}},
  };
  Bson command;
  bson_t indexes;
  bool ok = bson_append_utf8(command.get(), "createIndexes", -1, kCollection, -1) &&
            bson_append_array_begin(command.get(), "indexes", -1, &indexes);
  std::uint32_t i = 0;
  for (const auto& spec : specs) {
    char buffer[16];
    const char* index_key = nullptr;
    const std::size_t len = bson_uint32_to_string(i++, &index_key, buffer, sizeof buffer);
    bson_t index, key;
    ok = ok && bson_append_document_begin(&indexes, index_key, static_cast<int>(len), &index) &&
         bson_append_document_begin(&index, "key", -1, &key);
    for (const auto& [field, direction] : spec.keys) ok = ok && bson_append_int32(&key, field, -1, direction);
    ok = ok && bson_append_document_end(&index, &key) && bson_append_utf8(&index, "name", -1, spec.name, -1) &&
         bson_append_document_end(&indexes, &index);
  }
  ok = ok && bson_append_array_end(command.get(), &indexes);
  if (!ok) return Error::Internal("mongo: cannot build the createIndexes command");

  Bson reply;
  bson_error_t error;
  if (!mongoc_collection_write_command_with_opts(collection.get(), command.get(), nullptr, reply.get(), &error))
    return MapError(error, "createIndexes");
  return kLayoutVersion;
}

Result<void> MongoEventStore::Ping() {
  PooledClient client(state_->pool);
  if (client.get() == nullptr) return NoClient();
  Bson command, reply;
  bson_append_int32(command.get(), "ping", -1, 1);
  bson_error_t error;
  if (!mongoc_client_command_simple(client.get(), "admin", command.get(), nullptr, reply.get(), &error))
    return MapError(error, "ping");
  return {};
}

Result<AppendCounts> MongoEventStore::Append(std::span<const domain::Event> events) {
  AppendCounts counts;
  if (events.empty()) return counts;

  std::vector<std::unique_ptr<Bson>> docs;
  std::vector<const bson_t*> pointers;
  docs.reserve(events.size());
  pointers.reserve(events.size());
  for (const auto& event : events) {
    docs.push_back(std::make_unique<Bson>());
    COHORT_TRY(EventToBson(event, docs.back()->get()));
    pointers.push_back(docs.back()->get());
  }

  Bson opts;
  // Client-side key checks off: the documents are built here from parsed JSON, and property keys with dots
  // or a leading '$' are legal field names for the server.
  bson_append_bool(opts.get(), "ordered", -1, false);
  bson_append_bool(opts.get(), "validate", -1, false);

  PooledClient client(state_->pool);
  if (client.get() == nullptr) return NoClient();
  COHORT_ASSIGN_OR_RETURN(auto collection, EventsCollection(client.get(), state_->database));
  Bson reply;
  bson_error_t error;
  const bool ok = mongoc_collection_insert_many(collection.get(), pointers.data(), pointers.size(), opts.get(),
                                                reply.get(), &error);

  bson_iter_t iter;
  if (bson_iter_init_find(&iter, reply.get(), "insertedCount") && BSON_ITER_HOLDS_NUMBER(&iter))
    counts.accepted = static_cast<std::size_t>(std::max<std::int64_t>(0, bson_iter_as_int64(&iter)));
  std::size_t write_errors = 0;
  std::optional<std::string> other_error;
  if (bson_iter_init_find(&iter, reply.get(), "writeErrors") && BSON_ITER_HOLDS_ARRAY(&iter)) {
    bson_iter_t item;
    bson_iter_recurse(&iter, &item);
    while (bson_iter_next(&item)) {
      ++write_errors;
      bson_iter_t field;
      std::int64_t code = 0;
      if (BSON_ITER_HOLDS_DOCUMENT(&item) && bson_iter_recurse(&item, &field) &&
          bson_iter_find(&field, "code") && BSON_ITER_HOLDS_NUMBER(&field))
        code = bson_iter_as_int64(&field);
      if (code == kDuplicateKey) {
        ++counts.duplicates;
      } else if (!other_error) {
        // The whole write error ({index, code, errmsg}), for the log.
        other_error = IterToJson(&item).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
  }
  const bool write_concern_failed =
      bson_iter_init_find(&iter, reply.get(), "writeConcernErrors") && BSON_ITER_HOLDS_ARRAY(&iter) &&
      [&] {
        bson_iter_t item;
        return bson_iter_recurse(&iter, &item) && bson_iter_next(&item);
      }();

  if (other_error)
    return Error::Internal(fmt::format("mongo insert_many: {} of {} events stored; a write error: {}",
                                       counts.accepted, events.size(), *other_error));
  if (write_concern_failed) return MapError(error, "insert_many (write concern)");
  // With only duplicate-key write errors libmongoc reports the first of them; any other error (network,
  // server selection) means the batch may be partly stored, and the caller retries it.
  const bool only_duplicates = IsServerDomain(error) && error.code == kDuplicateKey && write_errors > 0;
  if (!ok && !only_duplicates) return MapError(error, "insert_many");
  if (counts.accepted + counts.duplicates != events.size())
    return Error::Internal(fmt::format("mongo insert_many: {} stored and {} duplicates for {} events",
                                       counts.accepted, counts.duplicates, events.size()));
  if (state_->outbox) {
    const auto messages = domain::EventIngestedMessages(events);
    auto written = state_->outbox->InTransaction<bool>([&](sql::Connection& conn) -> Result<bool> {
      COHORT_TRY(WriteOutbox(conn, messages));
      return true;
    });
    if (!written) return std::move(written).error();
  }
  return counts;
}

Result<std::vector<domain::Event>> MongoEventStore::UserEvents(const EventQuery& query) {
  std::vector<domain::Event> out;
  if (query.limit == 0) return out;

  Bson filter;
  bool ok = AppendString(filter.get(), "user_id", query.user_id);
  if (query.type) ok = ok && AppendString(filter.get(), "type", *query.type);
  if (query.since_micros) {
    // Stored times are whole milliseconds: the first one at or after `since`.
    bson_t range;
    ok = ok && bson_append_document_begin(filter.get(), "ts", -1, &range) &&
         bson_append_date_time(&range, "$gte", -1, CeilDiv(*query.since_micros, 1000)) &&
         bson_append_document_end(filter.get(), &range);
  }
  Bson opts;
  bson_t sort;
  const auto limit = static_cast<std::int64_t>(
      std::min<std::size_t>(query.limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  ok = ok && bson_append_document_begin(opts.get(), "sort", -1, &sort) &&
       bson_append_int32(&sort, "ts", -1, -1) && bson_append_int32(&sort, "_id", -1, -1) &&
       bson_append_document_end(opts.get(), &sort) && bson_append_int64(opts.get(), "limit", -1, limit) &&
       bson_append_int64(opts.get(), "maxTimeMS", -1,
                         query.time_limit ? std::max<std::int64_t>(1, query.time_limit->count()) : kReadTimeoutMs);
  if (!query.details) {
    bson_t projection;
    ok = ok && bson_append_document_begin(opts.get(), "projection", -1, &projection) &&
         bson_append_int32(&projection, "properties", -1, 0) && bson_append_document_end(opts.get(), &projection);
  }
  if (!ok) return Error::InvalidArgument("the user id or type is too long");

  PooledClient client(state_->pool);
  if (client.get() == nullptr) return NoClient();
  COHORT_ASSIGN_OR_RETURN(auto collection, EventsCollection(client.get(), state_->database));
  CursorPtr cursor(mongoc_collection_find_with_opts(collection.get(), filter.get(), opts.get(), nullptr));
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    COHORT_ASSIGN_OR_RETURN(auto event, BsonToEvent(doc));
    if (!query.details) event.event_id.clear();  // _id orders the events, so it is read
    out.push_back(std::move(event));
  }
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) return MapError(error, "find");
  return out;
}

Result<void> MongoEventStore::Scan(std::size_t page_size, const EventPageSink& sink) {
  page_size = std::max<std::size_t>(1, page_size);
  Bson filter;
  Bson opts;
  bson_t sort;
  const bool ok = bson_append_document_begin(opts.get(), "sort", -1, &sort) &&
                  bson_append_int32(&sort, "user_id", -1, 1) && bson_append_int32(&sort, "ts", -1, 1) &&
                  bson_append_int32(&sort, "_id", -1, 1) && bson_append_document_end(opts.get(), &sort) &&
                  bson_append_int32(opts.get(), "batchSize", -1, static_cast<std::int32_t>(std::min<std::size_t>(
                                                                     page_size, 100'000)));
  if (!ok) return Error::Internal("mongo scan: cannot build the options");
  PooledClient client(state_->pool);
  if (client.get() == nullptr) return NoClient();
  COHORT_ASSIGN_OR_RETURN(auto collection, EventsCollection(client.get(), state_->database));
  CursorPtr cursor(mongoc_collection_find_with_opts(collection.get(), filter.get(), opts.get(), nullptr));
  std::vector<domain::Event> page;
  page.reserve(page_size);
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    COHORT_ASSIGN_OR_RETURN(auto event, BsonToEvent(doc));
    if (page.size() >= page_size && event.user_id != page.back().user_id) {  // pages end at a user boundary
      COHORT_TRY(sink(page));
      page.clear();
    }
    page.push_back(std::move(event));
  }
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) return MapError(error, "find");
  if (!page.empty()) COHORT_TRY(sink(page));
  return {};
}

Result<std::vector<nlohmann::json>> MongoEventStore::Aggregate(const events::Pipeline& pipeline,
                                                               const events::PipelineLimits& limits) {
  return AggregateMongoPipeline(pipeline.ToMongoOrdered(), limits);
}

Result<std::vector<nlohmann::json>> MongoEventStore::AggregateMongoPipeline(
    const nlohmann::ordered_json& mongo_pipeline, const events::PipelineLimits& limits) {
  if (!mongo_pipeline.is_array()) return Error::Internal("mongo aggregate: the pipeline is not an array");
  // The server stops after max_rows + 1 documents: enough to know that there are too many.
  // Ordered: the order of keys is meaningful ($sort on several fields, documents as $group keys).
  nlohmann::ordered_json command = {{"pipeline", mongo_pipeline}};
  COHORT_TRY(NormalizeDates(command["pipeline"], {}));
  const auto cap = static_cast<std::int64_t>(std::min<std::size_t>(
      limits.max_rows, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() - 1)));
  command["pipeline"].push_back({{"$limit", cap + 1}});
  const std::string text = command.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  bson_error_t error;
  BsonPtr stages(bson_new_from_json(reinterpret_cast<const std::uint8_t*>(text.data()),
                                    static_cast<ssize_t>(text.size()), &error));
  if (!stages) return Error::Internal(fmt::format("mongo aggregate: the pipeline is not extended JSON: {}", error.message));

  Bson opts;
  const std::int64_t max_time_ms = std::max<std::int64_t>(1, limits.timeout.count());
  bson_append_int64(opts.get(), "maxTimeMS", -1, max_time_ms);
  bson_append_bool(opts.get(), "allowDiskUse", -1, false);

  const bool events = ReturnsEvents(mongo_pipeline);
  PooledClient client(state_->pool);
  if (client.get() == nullptr) return NoClient();
  COHORT_ASSIGN_OR_RETURN(auto collection, EventsCollection(client.get(), state_->database));
  CursorPtr cursor(
      mongoc_collection_aggregate(collection.get(), MONGOC_QUERY_NONE, stages.get(), opts.get(), nullptr));
  std::vector<nlohmann::json> rows;
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    if (rows.size() >= limits.max_rows)
      return Error{ErrorCode::kResourceExhausted,
                   fmt::format("the result has more than {} rows; add a $limit stage", limits.max_rows),
                   "mongo aggregate: pipeline result past max_rows"};
    rows.push_back(ResultToJson(doc, events));
  }
  if (mongoc_cursor_error(cursor.get(), &error)) return MapError(error, "aggregate", ServerFailure::kInvalidPipeline);
  return rows;
}

Result<std::int64_t> MongoEventStore::Count() {
  PooledClient client(state_->pool);
  if (client.get() == nullptr) return NoClient();
  COHORT_ASSIGN_OR_RETURN(auto collection, EventsCollection(client.get(), state_->database));
  Bson opts, reply;
  bson_append_int64(opts.get(), "maxTimeMS", -1, kReadTimeoutMs);
  bson_error_t error;
  const std::int64_t n =
      mongoc_collection_estimated_document_count(collection.get(), opts.get(), nullptr, reply.get(), &error);
  if (n < 0) return MapError(error, "count");
  return n;
}

Result<void> MongoEventStore::DropDatabase() {
  PooledClient client(state_->pool);
  if (client.get() == nullptr) return NoClient();
  std::unique_ptr<mongoc_database_t, DatabaseDeleter> database(
      mongoc_client_get_database(client.get(), state_->database.c_str()));
  bson_error_t error;
  if (!mongoc_database_drop_with_opts(database.get(), nullptr, &error)) return MapError(error, "dropDatabase");
  return {};
}

Result<std::unique_ptr<EventStore>> OpenMongoEventStore(const std::string& url, std::size_t max_connections,
                                                       std::unique_ptr<sql::Database> outbox) {
  InitMongoc();
  bson_error_t error;
  std::unique_ptr<mongoc_uri_t, UriDeleter> uri(mongoc_uri_new_with_error(url.c_str(), &error));
  if (!uri)
    return Error{ErrorCode::kInvalidArgument, "the MongoDB URL is not a valid connection string",
                 fmt::format("mongo: invalid URL: {}", error.message)};

  const std::pair<const char*, std::int32_t> defaults[] = {
      {MONGOC_URI_SERVERSELECTIONTIMEOUTMS, kServerSelectionTimeoutMs},
      {MONGOC_URI_CONNECTTIMEOUTMS, kConnectTimeoutMs},
      {MONGOC_URI_SOCKETTIMEOUTMS, kSocketTimeoutMs},
      {MONGOC_URI_WAITQUEUETIMEOUTMS, kWaitQueueTimeoutMs},
  };
  for (const auto& [option, value] : defaults) {
    if (!mongoc_uri_has_option(uri.get(), option) && !mongoc_uri_set_option_as_int32(uri.get(), option, value))
      return Error::Internal(fmt::format("mongo: cannot set {} on the URL", option));
  }
  if (!mongoc_uri_has_option(uri.get(), MONGOC_URI_APPNAME))
    mongoc_uri_set_option_as_utf8(uri.get(), MONGOC_URI_APPNAME, "cohort");

  auto state = std::make_unique<MongoEventStore::State>();
  state->outbox = std::move(outbox);
  const char* database = mongoc_uri_get_database(uri.get());
  state->database = (database != nullptr && *database != '\0') ? database : kDefaultDatabase;
  state->pool = mongoc_client_pool_new_with_error(uri.get(), &error);
  if (state->pool == nullptr)
    return Error{ErrorCode::kInvalidArgument, "the MongoDB URL cannot be used",
                 fmt::format("mongo: cannot create a client pool: {}", error.message)};
  mongoc_client_pool_set_error_api(state->pool, MONGOC_ERROR_API_VERSION_2);
  if (!mongoc_uri_has_option(uri.get(), MONGOC_URI_MAXPOOLSIZE)) {
    const std::size_t size = max_connections > 0 ? max_connections : kDefaultPoolSize;
    mongoc_client_pool_max_size(state->pool,
                                static_cast<std::uint32_t>(std::min<std::size_t>(size, 1'000'000)));
  }
  return std::unique_ptr<EventStore>(std::make_unique<MongoEventStore>(std::move(state)));
}

}  // namespace cohort::store
