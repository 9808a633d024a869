#pragma once
// The EventStore backends that the conformance suite (event_store_test.cpp) runs on, and how one is opened
// for a test. A backend joins the suite with its name in EventStoreBackends() and a branch in
// OpenEventStoreForTest; the fixture (BackendTest) gives every test a fresh SQLite file and, for "postgres",
// a fresh schema.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "integration/store/mongo_test_database.hpp"
#include "store/events/event_store.hpp"
#include "store/events/sql_event_store.hpp"

namespace cohort::testing {

// "mongo" runs on the server behind COHORT_TEST_MONGO_URL: in this project's runs CongoDB, a MongoDB
// wire-compatible test peer (scripts/test-services.sh), NOT mongod. Cases where the peer is known to differ
// from MongoDB skip on it with the reason (COHORT_SKIP_ON_CONGODB; src/store/events/mongo/README.md).
inline std::vector<std::string> EventStoreBackends() { return {"sqlite", "postgres", "mongo"}; }

// Where one test's store lives.
struct EventStoreTestPlace {
  std::string sqlite_path;   // a file in the test's temporary folder
  std::string postgres_url;  // a fresh schema ("postgres" only)
  std::string unique_name;   // unique per test, for a backend that needs a name of its own (a database)
};

struct OpenedEventStore {
  // Released after the store: for a backend that must remove server-side state when the test ends.
  std::shared_ptr<void> cleanup;
  std::unique_ptr<store::EventStore> store;
};

// An empty, migrated store on `backend`.
inline Result<OpenedEventStore> OpenEventStoreForTest(const std::string& backend, const EventStoreTestPlace& place) {
  OpenedEventStore opened;
  if (backend == "sqlite" || backend == "postgres") {
    COHORT_ASSIGN_OR_RETURN(opened.store,
                            store::OpenSqlEventStore(place.sqlite_path, backend == "postgres" ? place.postgres_url : "",
                                                     /*max_connections=*/4));
  } else if (backend == "mongo") {
    // A fresh database of its own, dropped when the test ends (after the store is closed).
    auto database = std::make_shared<MongoTestDatabase>();
    if (database->store() == nullptr) return Error::Unavailable("no MongoDB test server (COHORT_TEST_MONGO_URL)");
    opened.store = std::move(database->store());
    opened.cleanup = std::move(database);
  } else {
    return Error::InvalidArgument("no event store backend named '" + backend + "'");
  }
  COHORT_TRY(opened.store->Migrate());
  return opened;
}

// Conformance cases of pipeline_cases.json (by name) that a backend's test server is known to get wrong,
// each with the reason: the suite reports them instead of failing. A real MongoDB has none; the expected
// results follow MongoDB's documented semantics.
inline std::map<std::string, std::string> KnownConformanceDifferences(const std::string& backend) {
  if (backend == "mongo" && MongoPeerIsCongoDb())
    return {
        {"count_of_nothing_outputs_nothing", "CongoDB's $count outputs {n: 0} for no input; MongoDB outputs nothing"},
        {"add_to_set_skips_missing", "CongoDB's $addToSet adds null for a missing value; MongoDB skips it"},
        {"project_nested_inclusion_and_rename",
         "CongoDB drops an included sub-path when its parent has other fields; MongoDB keeps it"},
    };
  return {};
}

}  // namespace cohort::testing
