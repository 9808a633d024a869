// The embedded queue end to end: a batch of messages published (committed), then taken, handled (an empty
// handler) and acked by the consumer runtime on one worker thread, next to a reference that does the same
// SQLite work by hand: the rows inserted in one transaction per publish batch, then each read and deleted by
// primary key (raw sqlite3, the same file settings: WAL, synchronous=NORMAL). Both move kMessages messages of
// kPayloadBytes per iteration; items_per_second is messages per second. After the table the queue's rate is
// printed as a ratio to the reference of the same run.

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
    while (consumer->handled.load() < target || runtime.totals().acked < static_cast<std::uint64_t>(target))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  runtime.Stop();
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_EmbeddedQueueEndToEnd)->Arg(1)->Arg(32)->UseRealTime()->Unit(benchmark::kMillisecond);

void Check(int rc, sqlite3* db, benchmark::State& state) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) state.SkipWithError(sqlite3_errmsg(db));
}

void BM_RawSqliteInsertThenDelete(benchmark::State& state) {
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
    }
  }
  sqlite3_finalize(insert);
  sqlite3_finalize(take);
  sqlite3_finalize(remove);
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_RawSqliteInsertThenDelete)->UseRealTime()->Unit(benchmark::kMillisecond);

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type != Run::RT_Iteration && !median) continue;
      if (median || !from_median_[run.run_name.str()]) {
        real_[run.run_name.str()] = run.GetAdjustedRealTime();
        from_median_[run.run_name.str()] = median;
      }
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const auto raw = real_.find("BM_RawSqliteInsertThenDelete/real_time");
    if (raw == real_.end()) return;
    for (const auto& [name, real] : real_) {
      if (name == raw->first) continue;
      std::printf("%-40s %.0f messages/s end to end, %.2fx the rate of the raw SQLite reference (%.0f/s)\n",
                  name.c_str(), kMessages / (real / 1e3), raw->second / real,
                  kMessages / (raw->second / 1e3));
    }
  }

 private:
  std::map<std::string, double> real_;  // milliseconds per iteration
  std::map<std::string, bool> from_median_;
};

}  // namespace
}  // namespace cohort::queue

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  cohort::queue::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
