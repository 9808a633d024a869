#pragma once
// Messages that an answer causes without any write to commit them with (recommendation.served): a request
// hands them over without waiting, and a thread of their own names them ("direct-<random>-<n>", never an
// outbox row's name) and sends them on in batches. A batch goes straight
// to the queue through `publish` when one is given and the queue takes it; otherwise (no `publish`, or the
// broker is away) it is written to the outbox in one transaction, from where the relay publishes it like any
// other outbox row. Bounded: past `capacity` waiting messages, new ones are dropped and counted (an impression
// counter is worth less than the answer's latency). A batch the database refuses stays and is tried again.
// Stop() sends what is left.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "domain/messages.hpp"
#include "store/sql/database.hpp"

namespace cohort::app {

class OutboxBuffer {
 public:
  using Publish = std::function<Result<void>(std::span<const domain::MessageDraft>)>;

  OutboxBuffer(store::sql::Database& db, std::size_t capacity, std::chrono::milliseconds interval,
               Publish publish = {});
  ~OutboxBuffer();
  OutboxBuffer(const OutboxBuffer&) = delete;
  OutboxBuffer& operator=(const OutboxBuffer&) = delete;

  void Post(const domain::MessageDraft& message);
  void Stop();

  struct Counts {
    std::uint64_t published = 0;  // sent straight to the queue
    std::uint64_t outboxed = 0;   // written to the outbox
    std::uint64_t dropped = 0;    // over the bound
  };
  Counts counts() const;

 private:
  void Run();
  bool Flush();  // true when everything waiting was sent
  void Name(std::vector<domain::MessageDraft>& batch);  // gives the unnamed an id, kept through any retry

  // The waiting messages are kept as bytes (each one's type, payload and id, one after another), copied in by
  // Post: a request's strings are then freed by the thread that made them. Handing the strings over instead had
  // every message's memory freed by another thread, which cost glibc's allocator more than the copy.
  struct Sizes {
    std::size_t type, payload, id;
  };
  static void Pack(const domain::MessageDraft& message, std::string& bytes, std::vector<Sizes>& sizes);
  static std::vector<domain::MessageDraft> Unpack(std::string_view bytes, const std::vector<Sizes>& sizes);

  store::sql::Database& db_;
  const std::size_t capacity_;
  const std::chrono::milliseconds interval_;
  const Publish publish_;
  const std::string id_prefix_;
  std::uint64_t named_ = 0;  // on the flushing thread only
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string waiting_bytes_;
  std::vector<Sizes> waiting_;  // one per waiting message
  bool stopping_ = false;
  Counts counts_;
  std::thread thread_;
};

}  // namespace cohort::app
