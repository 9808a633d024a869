#pragma once
// Messages that an answer causes without any write to commit them with (recommendation.served): a request
// hands them over without waiting, and a thread of their own writes them to the outbox in batches, one
// transaction each, from where the relay publishes them like any other outbox row. Bounded: past `capacity`
// waiting messages, new ones are dropped and counted (an impression counter is worth less than the answer's
// latency). A batch the database refuses stays and is tried again. Stop() writes what is left.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "domain/messages.hpp"
#include "store/sql/database.hpp"

namespace cohort::app {

class OutboxBuffer {
 public:
  OutboxBuffer(store::sql::Database& db, std::size_t capacity, std::chrono::milliseconds interval);
  ~OutboxBuffer();
  OutboxBuffer(const OutboxBuffer&) = delete;
  OutboxBuffer& operator=(const OutboxBuffer&) = delete;

  void Post(domain::MessageDraft message);
  void Stop();

  std::uint64_t written() const;
  std::uint64_t dropped() const;

 private:
  void Run();
  bool Flush();  // true when everything waiting was written

  store::sql::Database& db_;
  const std::size_t capacity_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<domain::MessageDraft> waiting_;
  bool stopping_ = false;
  std::uint64_t written_ = 0;
  std::uint64_t dropped_ = 0;
  std::thread thread_;
};

}  // namespace cohort::app
