#include "app/outbox_buffer.hpp"

#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/messaging/outbox.hpp"

namespace cohort::app {

OutboxBuffer::OutboxBuffer(store::sql::Database& db, std::size_t capacity, std::chrono::milliseconds interval,
                           Publish publish)
    : db_(db),
      capacity_(capacity),
      interval_(interval),
      publish_(std::move(publish)),
      id_prefix_([] {
        std::random_device seed;
        return fmt::format("direct-{:08x}{:08x}-", seed(), seed());
      }()),
      thread_([this] { Run(); }) {}

OutboxBuffer::~OutboxBuffer() { Stop(); }

void OutboxBuffer::Post(domain::MessageDraft message) {
  std::lock_guard lock(mutex_);
  if (waiting_.size() >= capacity_) {
    ++counts_.dropped;
    return;
  }
  waiting_.push_back(std::move(message));
}

void OutboxBuffer::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!Flush()) spdlog::warn("outbox buffer: {} messages could not be sent at shutdown", waiting_.size());
}

OutboxBuffer::Counts OutboxBuffer::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void OutboxBuffer::Run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    Flush();
    lock.lock();
  }
}

void OutboxBuffer::Name(std::vector<domain::MessageDraft>& batch) {
  for (domain::MessageDraft& message : batch)
    if (message.id.empty()) message.id = id_prefix_ + std::to_string(named_++);
}

bool OutboxBuffer::Flush() {
  std::vector<domain::MessageDraft> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(waiting_);
  }
  if (batch.empty()) return true;
  Name(batch);
  if (publish_) {
    if (publish_(batch)) {
      std::lock_guard lock(mutex_);
      counts_.published += batch.size();
      return waiting_.empty();
    }
    // The broker is away: the outbox keeps them until the relay can publish.
  }
  auto written = db_.InTransaction<bool>([&](store::sql::Connection& conn) -> Result<bool> {
    COHORT_TRY(store::WriteOutbox(conn, batch));
    return true;
  });
  std::lock_guard lock(mutex_);
  if (written) {
    counts_.outboxed += batch.size();
    return waiting_.empty();
  }
  spdlog::warn("outbox buffer: writing {} messages failed, will retry: {}", batch.size(),
               written.error().internal_message.empty() ? written.error().client_message
                                                        : written.error().internal_message);
  // Put them back in front, within the bound.
  const std::size_t room = capacity_ > waiting_.size() ? capacity_ - waiting_.size() : 0;
  if (batch.size() > room) {
    counts_.dropped += batch.size() - room;
    batch.resize(room);
  }
  waiting_.insert(waiting_.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
  return false;
}

}  // namespace cohort::app
