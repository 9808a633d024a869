// The reference for bench/events/run.sh: how fast each backend itself loads the rows of an events file, with
// nothing of Cohort in the way (sqlite3, libpq and libmongoc directly, none of Cohort's store code).
//
//   raw_insert_bench generate N SEED FILE    writes N deterministic events as NDJSON (the same file for every run)
//   raw_insert_bench sqlite FILE DB_PATH [ROWS_PER_TRANSACTION [CACHE_KIB]]
//                                            prepared INSERTs in one transaction (or one per ROWS_PER_TRANSACTION
//                                            rows), into a fresh events table, with Cohort's pragmas; CACHE_KIB
//                                            sets PRAGMA cache_size
//   raw_insert_bench postgres FILE URL       one COPY ... FROM STDIN in one transaction, into a fresh events table
//   raw_insert_bench mongo FILE URL          unordered insert_many of 5,000 documents at a time, fresh collection
//   raw_insert_bench mongo-drop URL          drops the URL's database (the bench's own, never a shared one)
//   raw_insert_bench mongo-count URL         prints the number of documents in the URL database's events
//   raw_insert_bench query sqlite|postgres DB_PATH|URL SQL WARMUPS N
//                                            runs SQL WARMUPS times, then N times timed (bench/events/pipeline.sh's
//                                            reference: the aggregation written by hand, on the same store)
//
// The table (or collection) has the schema and indexes of Cohort's own: the SQL tables from Cohort's own
// migrations (src/store/events/event_schema.cpp, the one piece of Cohort linked in), the collection as
// src/store/events/mongo/mongo_event_store.cpp makes it, and the SQLite connection the same pragmas. Reading and
// parsing the file is not timed: only the load is. The result is one line on stdout,
// "rows=N seconds=S rows_per_s=R" ("rows=N p50_ms=P max_ms=M times_ms=T,T,..." for query), for the script;
// details go to stderr.

#include <libpq-fe.h>
#include <mongoc/mongoc.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "store/events/event_schema.hpp"
#include "store/sql/database.hpp"

namespace {

using SteadyClock = std::chrono::steady_clock;

// One event as the SQL backends store it.
struct Row {
  std::string event_id, user_id, type;
  std::optional<std::string> product_id, category;
  std::optional<double> price;
  std::int64_t quantity = 1;
  std::int64_t ts_micros = 0;
  std::string properties = "{}";  // minified JSON object
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "raw_insert_bench: %s\n", message.c_str());
  std::exit(1);
}

void Report(std::size_t rows, SteadyClock::duration elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::printf("rows=%zu seconds=%.3f rows_per_s=%.0f\n", rows, seconds, seconds > 0 ? rows / seconds : 0.0);
}

// ---- dates: the generator writes, and this reads, exactly YYYY-MM-DDTHH:MM:SS.ffffffZ ------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

std::string FormatTs(std::int64_t micros) {
  const std::int64_t days = micros / 86'400'000'000;
  std::int64_t rest = micros % 86'400'000'000;
  int y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  const std::int64_t hh = rest / 3'600'000'000;
  rest %= 3'600'000'000;
  const std::int64_t mm = rest / 60'000'000;
  rest %= 60'000'000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", y, m, d, hh, mm, rest / 1'000'000,
                     rest % 1'000'000);
}

std::int64_t ParseTs(std::string_view text) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0, us = 0;
  const std::string buf(text);
  if (buf.size() != 27 || std::sscanf(buf.c_str(), "%4d-%2u-%2uT%2u:%2u:%2u.%6uZ", &y, &mo, &d, &h, &mi, &s, &us) != 7)
    Die("unexpected ts '" + buf + "' (this reads only the generator's YYYY-MM-DDTHH:MM:SS.ffffffZ)");
  return ((DaysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60'000'000LL + s * 1'000'000LL + us;
}

// ---- the events file -----------------------------------------------------------------------------------------

// Deterministic events shaped like a shop's traffic: mostly views, some carts and purchases, over 2025, for
// N/50 users and 1,000 products in 12 categories, each with a small properties object.
int Generate(std::int64_t count, std::uint64_t seed, const std::string& path) {
  static constexpr const char* kCategories[] = {"books", "electronics", "home",   "garden", "toys",   "sports",
                                                "beauty", "grocery",    "fashion", "music", "health", "auto"};
  static constexpr const char* kDevices[] = {"mobile", "desktop", "tablet"};
  static constexpr const char* kSources[] = {"search", "ads", "email", "direct", "social"};
  constexpr int kProducts = 1000;
  const std::int64_t users = std::max<std::int64_t>(1, count / 50);
  std::mt19937_64 rng(seed);
  std::vector<double> product_price(kProducts);
  for (auto& p : product_price) p = std::round(std::exp(std::uniform_real_distribution<>(0.5, 6.5)(rng)) * 100) / 100;
  const std::int64_t start = DaysFromCivil(2025, 1, 1) * 86'400'000'000;
  const std::int64_t span = 365LL * 86'400'000'000;

  std::FILE* out = std::fopen(path.c_str(), "w");
  if (!out) Die("cannot write " + path);
  std::string line;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto user = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(users));
    const int product = static_cast<int>(rng() % kProducts);
    const unsigned roll = static_cast<unsigned>(rng() % 100);
    const char* type = roll < 70 ? "view" : roll < 85 ? "add_to_cart" : roll < 95 ? "purchase"
                                                       : roll < 99 ? "remove_from_cart" : "return";
    const std::int64_t quantity = roll >= 85 && roll < 95 ? 1 + static_cast<std::int64_t>(rng() % 3) : 1;
    const std::int64_t ts = start + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span));
    line = fmt::format(
        R"({{"event_id":"b{}-{:09}","user_id":"u{:06}","type":"{}","product_id":"p{:05}","category":"{}",)"
        R"("price":{},"quantity":{},"ts":"{}","properties":{{"session":"s{:08}","device":"{}","source":"{}"}}}})"
        "\n",
        seed, i, user, type, product + 1, kCategories[product % 12], product_price[static_cast<std::size_t>(product)],
        quantity, FormatTs(ts), rng() % 100'000'000, kDevices[rng() % 3], kSources[rng() % 5]);
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) Die("cannot write " + path);
  }
  if (std::fclose(out) != 0) Die("cannot write " + path);
  std::fprintf(stderr, "raw_insert_bench: %" PRId64 " events for %" PRId64 " users written to %s\n", count, users,
               path.c_str());
  return 0;
}

std::vector<Row> ReadRows(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::document_stream stream;
  if (parser.load_many(path).get(stream)) Die("cannot read " + path);
  std::vector<Row> rows;
  for (auto doc : stream) {
    simdjson::dom::object object;
    if (doc.get_object().get(object)) Die(fmt::format("{}: line {} is not a JSON object", path, rows.size() + 1));
    Row row;
    for (auto [key, value] : object) {
      std::string_view text;
      if (key == "event_id" && !value.get_string().get(text)) row.event_id = text;
      else if (key == "user_id" && !value.get_string().get(text)) row.user_id = text;
      else if (key == "type" && !value.get_string().get(text)) row.type = text;
      else if (key == "product_id" && !value.get_string().get(text)) row.product_id = std::string(text);
      else if (key == "category" && !value.get_string().get(text)) row.category = std::string(text);
      else if (key == "price") row.price = value.get_double().value();
      else if (key == "quantity") row.quantity = value.get_int64().value();
      else if (key == "ts" && !value.get_string().get(text)) row.ts_micros = ParseTs(text);
      else if (key == "properties") row.properties = simdjson::minify(value);
      else Die(fmt::format("{}: unexpected field '{}'", path, key));
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) Die(path + " holds no events");
  return rows;
}

// ---- SQLite --------------------------------------------------------------------------------------------------


void SqliteExec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    Die(fmt::format("sqlite: {} in: {}", text, std::string_view(sql).substr(0, 80)));
  }
}

void BindText(sqlite3_stmt* stmt, int index, const std::optional<std::string>& value) {
  if (value) sqlite3_bind_text(stmt, index, value->data(), static_cast<int>(value->size()), SQLITE_STATIC);
  else sqlite3_bind_null(stmt, index);
}

int LoadSqlite(const std::string& file, const std::string& db_path, std::size_t rows_per_transaction,
               long cache_kib) {
  const std::vector<Row> rows = ReadRows(file);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    Die("cannot open " + db_path);
  // Cohort's connection pragmas: the same durability and page cache.
  SqliteExec(db, cohort::store::sql::kSqlitePragmas);
  if (cache_kib > 0) SqliteExec(db, fmt::format("PRAGMA cache_size=-{}", cache_kib).c_str());
  SqliteExec(db, "DROP TABLE IF EXISTS events");
  for (const auto& migration : cohort::store::EventMigrations(cohort::store::sql::Dialect::kSqlite))
    SqliteExec(db, std::string(migration.sql).c_str());
  sqlite3_stmt* stmt = nullptr;
  const char* insert =
      "INSERT INTO events (event_id, user_id, type, product_id, category, price, quantity, ts, properties) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
  if (sqlite3_prepare_v3(db, insert, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
    Die(std::string("sqlite prepare: ") + sqlite3_errmsg(db));

  const auto started = SteadyClock::now();
  SqliteExec(db, "BEGIN IMMEDIATE");
  std::size_t in_transaction = 0;
  for (const Row& r : rows) {
    if (rows_per_transaction > 0 && in_transaction++ == rows_per_transaction) {
      SqliteExec(db, "COMMIT; BEGIN IMMEDIATE");
      in_transaction = 1;
    }
    sqlite3_bind_text(stmt, 1, r.event_id.data(), static_cast<int>(r.event_id.size()), SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, r.user_id.data(), static_cast<int>(r.user_id.size()), SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, r.type.data(), static_cast<int>(r.type.size()), SQLITE_STATIC);
    BindText(stmt, 4, r.product_id);
    BindText(stmt, 5, r.category);
    if (r.price) sqlite3_bind_double(stmt, 6, *r.price);
    else sqlite3_bind_null(stmt, 6);
    sqlite3_bind_int64(stmt, 7, r.quantity);
    sqlite3_bind_int64(stmt, 8, r.ts_micros);
    sqlite3_bind_text(stmt, 9, r.properties.data(), static_cast<int>(r.properties.size()), SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_DONE) Die(std::string("sqlite insert: ") + sqlite3_errmsg(db));
    sqlite3_reset(stmt);
  }
  SqliteExec(db, "COMMIT");
  const auto elapsed = SteadyClock::now() - started;

  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
  Report(rows.size(), elapsed);
  return 0;
}

// ---- PostgreSQL ----------------------------------------------------------------------------------------------


void PgExec(PGconn* conn, const char* sql) {
  PGresult* result = PQexec(conn, sql);
  const auto status = PQresultStatus(result);
  const std::string error = PQresultErrorMessage(result);
  PQclear(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    Die(fmt::format("postgres: {} in: {}", error, std::string_view(sql).substr(0, 80)));
}

// COPY's text format: \N for NULL; backslash, tab, newline and carriage return escaped.
void AppendCopyText(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

void AppendCopyOptional(std::string& out, const std::optional<std::string>& text) {
  if (text) AppendCopyText(out, *text);
  else out += "\\N";
}

int LoadPostgres(const std::string& file, const std::string& url) {
  const std::vector<Row> rows = ReadRows(file);
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) Die(std::string("postgres: ") + PQerrorMessage(conn));
  PgExec(conn, "SET client_min_messages = warning");
  PgExec(conn, "DROP TABLE IF EXISTS events");
  for (const auto& migration : cohort::store::EventMigrations(cohort::store::sql::Dialect::kPostgres))
    PgExec(conn, std::string(migration.sql).c_str());

  constexpr std::size_t kChunkBytes = 256 * 1024;  // as Cohort's CopyRows
  std::string buffer;
  buffer.reserve(kChunkBytes + 4096);
  const auto started = SteadyClock::now();
  PgExec(conn, "BEGIN");
  {
    PGresult* start = PQexec(
        conn, "COPY events (event_id, user_id, type, product_id, category, price, quantity, ts, properties) FROM STDIN");
    if (PQresultStatus(start) != PGRES_COPY_IN) Die(std::string("postgres COPY: ") + PQresultErrorMessage(start));
    PQclear(start);
  }
  for (const Row& r : rows) {
    AppendCopyText(buffer, r.event_id);
    buffer += '\t';
    AppendCopyText(buffer, r.user_id);
    buffer += '\t';
    AppendCopyText(buffer, r.type);
    buffer += '\t';
    AppendCopyOptional(buffer, r.product_id);
    buffer += '\t';
    AppendCopyOptional(buffer, r.category);
    buffer += '\t';
    if (r.price) fmt::format_to(std::back_inserter(buffer), "{}", *r.price);
    else buffer += "\\N";
    fmt::format_to(std::back_inserter(buffer), "\t{}\t{}\t", r.quantity, r.ts_micros);
    AppendCopyText(buffer, r.properties);
    buffer += '\n';
    if (buffer.size() >= kChunkBytes) {
      if (PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) != 1)
        Die(std::string("postgres COPY: ") + PQerrorMessage(conn));
      buffer.clear();
    }
  }
  if (!buffer.empty() && PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) != 1)
    Die(std::string("postgres COPY: ") + PQerrorMessage(conn));
  if (PQputCopyEnd(conn, nullptr) != 1) Die(std::string("postgres COPY: ") + PQerrorMessage(conn));
  std::uint64_t loaded = 0;
  while (PGresult* result = PQgetResult(conn)) {
    if (PQresultStatus(result) != PGRES_COMMAND_OK) Die(std::string("postgres COPY: ") + PQresultErrorMessage(result));
    loaded = std::strtoull(PQcmdTuples(result), nullptr, 10);
    PQclear(result);
  }
  PgExec(conn, "COMMIT");
  const auto elapsed = SteadyClock::now() - started;
  PQfinish(conn);
  if (loaded != rows.size()) Die(fmt::format("postgres COPY loaded {} rows of {}", loaded, rows.size()));
  Report(rows.size(), elapsed);
  return 0;
}

// ---- MongoDB -------------------------------------------------------------------------------------------------

struct BsonDeleter {
  void operator()(bson_t* b) const { bson_destroy(b); }
};
using BsonPtr = std::unique_ptr<bson_t, BsonDeleter>;

void AppendJson(bson_t* doc, std::string_view key, simdjson::dom::element value);

void AppendJsonObject(bson_t* doc, simdjson::dom::object object) {
  for (auto [key, value] : object) AppendJson(doc, key, value);
}

void AppendJson(bson_t* doc, std::string_view key, simdjson::dom::element value) {
  const auto k = key.data();
  const int klen = static_cast<int>(key.size());
  switch (value.type()) {
    case simdjson::dom::element_type::OBJECT: {
      bson_t child;
      bson_append_document_begin(doc, k, klen, &child);
      AppendJsonObject(&child, value.get_object().value());
      bson_append_document_end(doc, &child);
      break;
    }
    case simdjson::dom::element_type::ARRAY: {
      bson_t child;
      bson_append_array_begin(doc, k, klen, &child);
      const simdjson::dom::array items = value.get_array().value();
      std::size_t i = 0;
      for (auto item : items) AppendJson(&child, std::to_string(i++), item);
      bson_append_array_end(doc, &child);
      break;
    }
    case simdjson::dom::element_type::STRING: {
      const std::string_view s = value.get_string().value();
      bson_append_utf8(doc, k, klen, s.data(), static_cast<int>(s.size()));
      break;
    }
    case simdjson::dom::element_type::INT64: bson_append_int64(doc, k, klen, value.get_int64().value()); break;
    case simdjson::dom::element_type::UINT64:
      bson_append_double(doc, k, klen, static_cast<double>(value.get_uint64().value()));
      break;
    case simdjson::dom::element_type::DOUBLE: bson_append_double(doc, k, klen, value.get_double().value()); break;
    case simdjson::dom::element_type::BOOL: bson_append_bool(doc, k, klen, value.get_bool().value()); break;
    case simdjson::dom::element_type::NULL_VALUE: bson_append_null(doc, k, klen); break;
    default: break;
  }
}

// Cohort's document layout (src/store/events/mongo/mongo_event_store.hpp): _id = event_id, optional fields
// omitted, ts a date in milliseconds, properties an embedded document.
BsonPtr RowToBson(const Row& r, simdjson::dom::parser& parser) {
  BsonPtr doc(bson_new());
  bson_t* d = doc.get();
  bson_append_utf8(d, "_id", -1, r.event_id.data(), static_cast<int>(r.event_id.size()));
  bson_append_utf8(d, "user_id", -1, r.user_id.data(), static_cast<int>(r.user_id.size()));
  bson_append_utf8(d, "type", -1, r.type.data(), static_cast<int>(r.type.size()));
  if (r.product_id) bson_append_utf8(d, "product_id", -1, r.product_id->data(), static_cast<int>(r.product_id->size()));
  if (r.category) bson_append_utf8(d, "category", -1, r.category->data(), static_cast<int>(r.category->size()));
  if (r.price) bson_append_double(d, "price", -1, *r.price);
  bson_append_int64(d, "quantity", -1, r.quantity);
  bson_append_date_time(d, "ts", -1, r.ts_micros / 1000);
  bson_t child;
  bson_append_document_begin(d, "properties", -1, &child);
  AppendJsonObject(&child, parser.parse(r.properties).get_object().value());
  bson_append_document_end(d, &child);
  return doc;
}

// The database named in the URL; the bench never touches any other.
std::string MongoDatabase(mongoc_uri_t* uri) {
  const char* name = mongoc_uri_get_database(uri);
  if (!name || !*name) Die("the MongoDB URL must name the bench's own database");
  return name;
}

void MongoCommand(mongoc_client_t* client, const std::string& database, const bson_t* command, const char* what) {
  bson_error_t error;
  bson_t reply;
  const bool ok = mongoc_client_command_simple(client, database.c_str(), command, nullptr, &reply, &error);
  bson_destroy(&reply);
  if (!ok) Die(fmt::format("mongo {}: {}", what, error.message));
}

int LoadMongo(const std::string& file, const std::string& url) {
  const std::vector<Row> rows = ReadRows(file);
  mongoc_init();
  bson_error_t error;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(url.c_str(), &error);
  if (!uri) Die(std::string("mongo URL: ") + error.message);
  const std::string database = MongoDatabase(uri);
  mongoc_client_t* client = mongoc_client_new_from_uri(uri);
  if (!client) Die("mongo: cannot create a client");

  // A fresh collection with Cohort's four indexes.
  mongoc_collection_t* collection = mongoc_client_get_collection(client, database.c_str(), "events");
  mongoc_collection_drop(collection, nullptr);  // "ns not found" on a fresh database is fine
  BsonPtr indexes(BCON_NEW("createIndexes", BCON_UTF8("events"), "indexes", "[",
                           "{", "key", "{", "user_id", BCON_INT32(1), "ts", BCON_INT32(-1), "}", "name",
                           BCON_UTF8("user_id_1_ts_-1"), "}",
                           "{", "key", "{", "type", BCON_INT32(1), "ts", BCON_INT32(-1), "}", "name",
                           BCON_UTF8("type_1_ts_-1"), "}",
                           "{", "key", "{", "product_id", BCON_INT32(1), "}", "name", BCON_UTF8("product_id_1"), "}",
                           "{", "key", "{", "category", BCON_INT32(1), "}", "name", BCON_UTF8("category_1"), "}",
                           "]"));
  MongoCommand(client, database, indexes.get(), "createIndexes");

  simdjson::dom::parser parser;
  std::vector<BsonPtr> docs;
  docs.reserve(rows.size());
  for (const Row& r : rows) docs.push_back(RowToBson(r, parser));
  BsonPtr opts(BCON_NEW("ordered", BCON_BOOL(false)));

  constexpr std::size_t kBatch = 5000;  // as a POST /api/events batch of the bench
  std::size_t inserted = 0;
  const auto started = SteadyClock::now();
  for (std::size_t first = 0; first < docs.size(); first += kBatch) {
    std::vector<const bson_t*> batch;
    for (std::size_t i = first; i < std::min(docs.size(), first + kBatch); ++i) batch.push_back(docs[i].get());
    bson_t reply;
    const bool ok =
        mongoc_collection_insert_many(collection, batch.data(), batch.size(), opts.get(), &reply, &error);
    bson_iter_t iter;
    if (bson_iter_init_find(&iter, &reply, "insertedCount") && BSON_ITER_HOLDS_NUMBER(&iter))
      inserted += static_cast<std::size_t>(bson_iter_as_int64(&iter));
    bson_destroy(&reply);
    if (!ok) Die(std::string("mongo insert_many: ") + error.message);
  }
  const auto elapsed = SteadyClock::now() - started;
  mongoc_collection_destroy(collection);
  mongoc_client_destroy(client);
  mongoc_uri_destroy(uri);
  mongoc_cleanup();
  if (inserted != rows.size()) Die(fmt::format("mongo stored {} documents of {}", inserted, rows.size()));
  Report(rows.size(), elapsed);
  return 0;
}

int DropMongo(const std::string& url) {
  mongoc_init();
  bson_error_t error;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(url.c_str(), &error);
  if (!uri) Die(std::string("mongo URL: ") + error.message);
  const std::string database = MongoDatabase(uri);
  mongoc_client_t* client = mongoc_client_new_from_uri(uri);
  BsonPtr command(BCON_NEW("dropDatabase", BCON_INT32(1)));
  MongoCommand(client, database, command.get(), "dropDatabase");
  mongoc_client_destroy(client);
  mongoc_uri_destroy(uri);
  mongoc_cleanup();
  return 0;
}

// ---- the query reference -------------------------------------------------------------------------------------

void ReportLatencies(std::vector<double> ms, std::size_t rows) {
  std::string all;
  for (double m : ms) all += fmt::format("{}{:.1f}", all.empty() ? "" : ",", m);
  std::sort(ms.begin(), ms.end());
  std::printf("rows=%zu p50_ms=%.1f max_ms=%.1f times_ms=%s\n", rows, ms[(ms.size() - 1) / 2], ms.back(), all.c_str());
}

double MillisSince(SteadyClock::time_point started) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
}

int QuerySqlite(const std::string& db_path, const std::string& sql, int warmups, int runs) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) Die("cannot open " + db_path);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    Die(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
  std::vector<double> ms;
  std::size_t rows = 0;
  for (int i = 0; i < warmups + runs; ++i) {
    const auto started = SteadyClock::now();
    rows = 0;
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) ++rows;
    if (rc != SQLITE_DONE) Die(std::string("sqlite query: ") + sqlite3_errmsg(db));
    sqlite3_reset(stmt);
    if (i >= warmups) ms.push_back(MillisSince(started));
  }
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
  ReportLatencies(std::move(ms), rows);
  return 0;
}

int QueryPostgres(const std::string& url, const std::string& sql, int warmups, int runs) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) Die(std::string("postgres: ") + PQerrorMessage(conn));
  std::vector<double> ms;
  std::size_t rows = 0;
  for (int i = 0; i < warmups + runs; ++i) {
    const auto started = SteadyClock::now();
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_TUPLES_OK) Die(std::string("postgres query: ") + PQresultErrorMessage(result));
    rows = static_cast<std::size_t>(PQntuples(result));
    PQclear(result);
    if (i >= warmups) ms.push_back(MillisSince(started));
  }
  PQfinish(conn);
  ReportLatencies(std::move(ms), rows);
  return 0;
}

int CountMongo(const std::string& url) {
  mongoc_init();
  bson_error_t error;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(url.c_str(), &error);
  if (!uri) Die(std::string("mongo URL: ") + error.message);
  const std::string database = MongoDatabase(uri);
  mongoc_client_t* client = mongoc_client_new_from_uri(uri);
  mongoc_collection_t* collection = mongoc_client_get_collection(client, database.c_str(), "events");
  const std::int64_t count = mongoc_collection_estimated_document_count(collection, nullptr, nullptr, nullptr, &error);
  mongoc_collection_destroy(collection);
  mongoc_client_destroy(client);
  mongoc_uri_destroy(uri);
  mongoc_cleanup();
  if (count < 0) Die(std::string("mongo count: ") + error.message);
  std::printf("%" PRId64 "\n", count);
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: raw_insert_bench generate N SEED FILE | sqlite FILE DB_PATH [ROWS_PER_TRANSACTION [CACHE_KIB]] | "
               "postgres FILE URL | "
               "mongo FILE URL | mongo-drop URL | mongo-count URL | query sqlite|postgres DB_PATH|URL SQL WARMUPS N\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 4 && args[0] == "generate")
    return Generate(std::stoll(args[1]), std::stoull(args[2]), args[3]);
  if (args.size() >= 3 && args.size() <= 5 && args[0] == "sqlite")
    return LoadSqlite(args[1], args[2], args.size() > 3 ? std::stoul(args[3]) : 0,
                      args.size() > 4 ? std::stol(args[4]) : 0);
  if (args.size() == 3 && args[0] == "postgres") return LoadPostgres(args[1], args[2]);
  if (args.size() == 3 && args[0] == "mongo") return LoadMongo(args[1], args[2]);
  if (args.size() == 2 && args[0] == "mongo-drop") return DropMongo(args[1]);
  if (args.size() == 2 && args[0] == "mongo-count") return CountMongo(args[1]);
  if (args.size() == 6 && args[0] == "query" && std::stoi(args[5]) > 0) {
    if (args[1] == "sqlite") return QuerySqlite(args[2], args[3], std::stoi(args[4]), std::stoi(args[5]));
    if (args[1] == "postgres") return QueryPostgres(args[2], args[3], std::stoi(args[4]), std::stoi(args[5]));
  }
  return Usage();
}
