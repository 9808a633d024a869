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

void OutboxBuffer::Post(const domain::MessageDraft& message) {
  std::lock_guard lock(mutex_);
  if (waiting_.size() >= capacity_) {
    ++counts_.dropped;
    return;
  }
  Pack(message, waiting_bytes_, waiting_);
}

void OutboxBuffer::Pack(const domain::MessageDraft& message, std::string& bytes, std::vector<Sizes>& sizes) {
  ((bytes += message.type) += message.payload) += message.id;
  sizes.push_back({message.type.size(), message.payload.size(), message.id.size()});
}

std::vector<domain::MessageDraft> OutboxBuffer::Unpack(std::string_view bytes, const std::vector<Sizes>& sizes) {
  std::vector<domain::MessageDraft> out;
  out.reserve(sizes.size());
  std::size_t at = 0;
  const auto take = [&](std::size_t n) {
    std::string part(bytes.substr(at, n));
    at += n;
    return part;
  };
  for (const Sizes& size : sizes) {
    domain::MessageDraft& m = out.emplace_back();
    m.type = take(size.type);
    m.payload = take(size.payload);
    m.id = take(size.id);
  }
  return out;
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
  std::string bytes;
  std::vector<Sizes> sizes;
  {
    std::lock_guard lock(mutex_);
    bytes.swap(waiting_bytes_);
    sizes.swap(waiting_);
  }
  if (sizes.empty()) return true;
  std::vector<domain::MessageDraft> batch = Unpack(bytes, sizes);
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
  bytes.clear();
  sizes.clear();
  for (const domain::MessageDraft& message : batch) Pack(message, bytes, sizes);
  waiting_bytes_.insert(0, bytes);
  waiting_.insert(waiting_.begin(), sizes.begin(), sizes.end());
  return false;
}

}  // namespace cohort::app
