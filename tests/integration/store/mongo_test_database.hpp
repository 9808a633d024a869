#pragma once
// The MongoDB side of the event-store tests. The server behind COHORT_TEST_MONGO_URL is, in this project's
// test runs, CongoDB (a MongoDB-wire-compatible peer started by scripts/test-services.sh), NOT mongod; where
// it differs from MongoDB, src/store/events/mongo/README.md lists the difference and the affected tests say so.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/events/mongo/mongo_event_store.hpp"

namespace cohort::testing {

// The URL that `make test` provides (COHORT_TEST_MONGO_URL). When it is not set, the calling test FAILS (it is
// never skipped) and the result is empty; the caller should then return.
inline std::string TestMongoUrl() {
  const char* url = std::getenv("COHORT_TEST_MONGO_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "COHORT_TEST_MONGO_URL is not set: run `scripts/test-services.sh start` and "
                     "`eval \"$(scripts/test-services.sh env)\"` (or `make test`)";
    return {};
  }
  return url;
}

// Whether the test server is CongoDB rather than mongod (COHORT_TEST_MONGO_PEER=congodb, set by
// scripts/test-services.sh). Tests of behaviour where the peer is known to differ skip on it, naming why.
inline bool MongoPeerIsCongoDb() {
  const char* peer = std::getenv("COHORT_TEST_MONGO_PEER");
  return peer != nullptr && std::string_view(peer) == "congodb";
}

#define COHORT_SKIP_ON_CONGODB(reason)                                                              \
  do {                                                                                            \
    if (::cohort::testing::MongoPeerIsCongoDb()) GTEST_SKIP() << "known CongoDB difference: " << (reason); \
  } while (false)

// `url` with its database (the path after the hosts) replaced by `database`; the options stay.
inline std::string MongoUrlWithDatabase(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  const auto hosts_start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto query = url.find('?', hosts_start);
  const auto slash = url.find('/', hosts_start);
  const auto hosts_end = slash != std::string::npos && slash < query ? slash : query;
  std::string out = url.substr(0, hosts_end == std::string::npos ? url.size() : hosts_end) + "/" + database;
  if (query != std::string::npos) out += url.substr(query);
  return out;
}

// A database name no other test (in this process or another) uses.
inline std::string UniqueMongoDatabaseName() {
  static std::atomic<int> counter{0};
  return fmt::format("cohort_t_{}_{}_{}", ::getpid(), counter.fetch_add(1),
                     static_cast<unsigned>(std::rand() % 100000));  // NOLINT(cert-msc50-cpp): a name, not a secret
}

// A fresh database on the test server, dropped on destruction, with an event store on it. The store may be
// moved out (the drop uses a connection of its own).
class MongoTestDatabase {
 public:
  // store() is null (and the test has failed) when there is no server URL or the store cannot be opened.
  MongoTestDatabase() {
    const std::string base = TestMongoUrl();
    if (base.empty()) return;
    url_ = MongoUrlWithDatabase(base, UniqueMongoDatabaseName());
    auto opened = store::OpenMongoEventStore(url_, 8);
    if (!opened.ok()) {
      ADD_FAILURE() << "cannot open " << url_ << ": " << opened.error().internal_message;
      return;
    }
    store_ = std::move(opened).value();
  }
  ~MongoTestDatabase() {
    if (url_.empty()) return;
    auto opened = store::OpenMongoEventStore(url_, 1);
    auto* mongo = opened.ok() ? dynamic_cast<store::MongoEventStore*>(opened->get()) : nullptr;
    if (mongo == nullptr) return;
    if (auto dropped = mongo->DropDatabase(); !dropped.ok())
      ADD_FAILURE() << "dropping the test database " << url_ << ": " << dropped.error().internal_message;
  }
  MongoTestDatabase(const MongoTestDatabase&) = delete;
  MongoTestDatabase& operator=(const MongoTestDatabase&) = delete;

  const std::string& url() const { return url_; }
  std::unique_ptr<store::EventStore>& store() { return store_; }

 private:
  std::string url_;
  std::unique_ptr<store::EventStore> store_;
};

}  // namespace cohort::testing
