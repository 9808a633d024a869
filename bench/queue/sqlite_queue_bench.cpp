// The embedded queue end to end: a batch of messages published (committed), then taken, handled (an empty
// handler) and acked by the consumer runtime on one worker thread, until every ack has committed (the queue
// batches them: QueueStats::acked_total counts committed acks only), next to a reference that does the same
// SQLite work by hand: the rows inserted in one transaction per publish batch, then each read and deleted by
// primary key (raw sqlite3, the same file settings: WAL, synchronous=NORMAL), each delete a transaction of its
// own; a second reference reads and deletes in transactions of 32 rows, the batching the queue does for a
// prefetch window of 32. All move kMessages messages of kPayloadBytes per iteration; items_per_second is
// messages per second. After the table the queue's rates are printed as ratios to the references of the run.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "queue/consumer_runtime.hpp"
#include "queue/sqlite/sqlite_queue.hpp"
#include "bench/common/ratio_reporter.hpp"

namespace cohort::queue {
namespace {

constexpr int kMessages = 2000;
constexpr int kPublishBatch = 100;
constexpr std::size_t kPayloadBytes = 256;

std::string Payload() { return fmt::format(R"({{"pad":"{}"}})", std::string(kPayloadBytes - 10, 'x')); }

std::string FreshPath(std::string_view stem) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("cohort-queue-bench-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const auto path = dir / fmt::format("{}.db", stem);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  return path.string();
}

// True once `target` acks of the queue have committed.
bool AcksCommitted(MessageQueue& queue, std::uint64_t target) {
  auto stats = queue.Stats();
  if (!stats) return false;
  for (const QueueStats& s : *stats)
    if (s.queue == "bench") return s.acked_total >= target;
  return false;
}

class CountingConsumer final : public Consumer {
 public:
  const QueueSpec& spec() const override { return spec_; }
  HandlerResult Handle(const Delivery&) override {
    ++handled;
    return HandlerResult::Ack();
  }
  std::atomic<int> handled{0};

 private:
  QueueSpec spec_{"bench", {"bench.message"}};
};

void BM_EmbeddedQueueEndToEnd(benchmark::State& state) {
  auto opened = OpenSqliteQueue({.path = FreshPath("queue"), .poll_interval = std::chrono::milliseconds(5)});
  if (!opened) {
    state.SkipWithError(opened.error().internal_message.c_str());
    return;
  }
  MessageQueue& queue = **opened;
  auto consumer = std::make_shared<CountingConsumer>();
  RuntimeOptions options;
  options.prefetch = static_cast<std::size_t>(state.range(0));
  options.poll = std::chrono::milliseconds(50);
  ConsumerRuntime runtime(queue, nullptr, options);
  runtime.Add(consumer);
  (void)queue.DeclareQueue(consumer->spec());
  runtime.Start();
  const std::string payload = Payload();
  int sequence = 0;
  for (auto _ : state) {
    const int target = consumer->handled.load() + kMessages;
    for (int first = 0; first < kMessages; first += kPublishBatch) {
      std::vector<OutgoingMessage> batch;
      for (int i = 0; i < kPublishBatch; ++i)
        batch.push_back({fmt::format("m{}", sequence++), "bench.message", payload});
      if (auto published = queue.Publish(batch); !published) {
        state.SkipWithError(published.error().internal_message.c_str());
        return;
      }
    }
    // Stats runs SQL: asked only once every message has been handled.
    while (consumer->handled.load() < target || !AcksCommitted(queue, static_cast<std::uint64_t>(target)))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  runtime.Stop();
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_EmbeddedQueueEndToEnd)->Arg(1)->Arg(32)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);

void Check(int rc, sqlite3* db, benchmark::State& state) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) state.SkipWithError(sqlite3_errmsg(db));
}

// `window` 0: each delete is a transaction of its own; above 0: the reads and deletes of `window` rows run in
// one transaction, as the queue commits the acks of a prefetch window together.
void RawInsertThenDelete(benchmark::State& state, int window) {
  sqlite3* db = nullptr;
  sqlite3_open(FreshPath("raw").c_str(), &db);
  Check(
      sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                   "CREATE TABLE m (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT, type TEXT, payload TEXT)",
                   nullptr, nullptr, nullptr),
      db, state);
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* take = nullptr;
  sqlite3_stmt* remove = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO m (id, type, payload) VALUES (?, ?, ?)", -1, &insert, nullptr);
  sqlite3_prepare_v2(db, "SELECT seq, id, type, payload FROM m ORDER BY seq LIMIT 1", -1, &take, nullptr);
  sqlite3_prepare_v2(db, "DELETE FROM m WHERE seq = ?", -1, &remove, nullptr);
  const std::string payload = Payload();
  int sequence = 0;
  for (auto _ : state) {
    for (int first = 0; first < kMessages; first += kPublishBatch) {
      sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      for (int i = 0; i < kPublishBatch; ++i) {
        const std::string id = fmt::format("m{}", sequence++);
        sqlite3_bind_text(insert, 1, id.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 2, "bench.message", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 3, payload.c_str(), static_cast<int>(payload.size()), SQLITE_STATIC);
        Check(sqlite3_step(insert), db, state);
        sqlite3_reset(insert);
      }
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
    for (int i = 0; i < kMessages; ++i) {
      if (window > 0 && i % window == 0) sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      if (sqlite3_step(take) != SQLITE_ROW) {
        state.SkipWithError("a row is missing");
        break;
      }
      std::string copy(reinterpret_cast<const char*>(sqlite3_column_text(take, 3)));
      benchmark::DoNotOptimize(copy);
      const sqlite3_int64 seq = sqlite3_column_int64(take, 0);
      sqlite3_reset(take);
      sqlite3_bind_int64(remove, 1, seq);
      Check(sqlite3_step(remove), db, state);
      sqlite3_reset(remove);
      if (window > 0 && (i % window == window - 1 || i == kMessages - 1))
        Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, state);
    }
  }
  sqlite3_finalize(insert);
  sqlite3_finalize(take);
  sqlite3_finalize(remove);
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations() * kMessages);
}
void BM_RawSqliteInsertThenDelete(benchmark::State& state) { RawInsertThenDelete(state, 0); }
BENCHMARK(BM_RawSqliteInsertThenDelete)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawSqliteInsertThenDeleteInWindows(benchmark::State& state) {
  RawInsertThenDelete(state, static_cast<int>(state.range(0)));
}
BENCHMARK(BM_RawSqliteInsertThenDeleteInWindows)->Arg(32)->UseRealTime()->Unit(benchmark::kMillisecond);

// Each prefetch's end-to-end rate, next to raw SQLite doing the same work one transaction per delete, and in
// windows of the same size (what the batched acks can hope for).
void PrintRates(const cohort::bench::Timings& timings) {
  const auto raw = timings.find("BM_RawSqliteInsertThenDelete/real_time");
  if (raw == timings.end()) return;
  for (const auto& [name, timing] : timings) {
    if (name.rfind("BM_EmbeddedQueueEndToEnd/", 0) != 0) continue;
    std::printf("%-40s %.0f messages/s end to end, %.2fx the rate of the raw SQLite reference (%.0f/s)\n",
                name.c_str(), kMessages / timing.real_seconds, raw->second.real_seconds / timing.real_seconds,
                kMessages / raw->second.real_seconds);
    const std::string prefetch = name.substr(name.find('/'));
    const auto windowed = timings.find("BM_RawSqliteInsertThenDeleteInWindows" + prefetch);
    if (windowed != timings.end())
      std::printf("%-40s %.2fx the rate of raw SQLite deleting in windows of the same size (%.0f/s)\n", "",
                  windowed->second.real_seconds / timing.real_seconds, kMessages / windowed->second.real_seconds);
  }
}

}  // namespace
}  // namespace cohort::queue

int main(int argc, char** argv) {
  return cohort::bench::RunBenchmarks(argc, argv, [](const cohort::bench::Timings& timings) {
    cohort::queue::PrintRates(timings);
  });
}
