#pragma once
// One parameterised test body per suite, run against every message-queue backend: "sqlite" (the embedded
// queue, a file in a temporary folder) and "rabbitmq" (the broker that `make test` starts,
// COHORT_TEST_AMQP_URL; the cases FAIL when it is not set, they are never skipped). The queue is opened
// through app::OpenMessageQueue, the one place that chooses the backend. Every test uses queue names and
// message types of its own, so tests sharing one broker never see each other's messages.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "app/config.hpp"
#include "app/messaging.hpp"
#include "integration/queue/amqp_broker.hpp"
#include "integration/server_harness.hpp"
#include "queue/message_queue.hpp"
#include "queue/processed_log.hpp"
#include "store/messaging/outbox.hpp"
#include "store/sql/database.hpp"

namespace cohort::testing {

inline std::string TestAmqpUrl() {
  const char* url = std::getenv("COHORT_TEST_AMQP_URL");
  return url == nullptr ? std::string() : std::string(url);
}

inline std::string UniqueName(std::string_view stem) {
  static std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{}{:08x}", stem, static_cast<std::uint32_t>(random()));
}

// A RabbitMQ vhost of its own on the test broker, deleted on destruction, so that the fixed queue names
// (cohort.notifications, ...) of a `cohort` process never mix with other tests'.
class BrokerVhost {
 public:
  BrokerVhost() : name_(UniqueName("cohort-test-")) {
    ok_ = BrokerCtl("add_vhost " + name_) &&
          BrokerCtl(fmt::format("set_permissions -p {} guest '.*' '.*' '.*'", name_));
  }
  ~BrokerVhost() { BrokerCtl("delete_vhost " + name_); }
  BrokerVhost(const BrokerVhost&) = delete;
  BrokerVhost& operator=(const BrokerVhost&) = delete;
  bool ok() const { return ok_; }
  // The test broker's URL with this vhost.
  std::string url() const {
    std::string base = TestAmqpUrl();
    if (!base.empty() && base.back() != '/') base += '/';
    return base + name_;
  }

 private:
  std::string name_;
  bool ok_ = false;
};

// Polls `done` every 20 ms for up to `limit`; true once it holds. A generous limit, only so that a broken
// backend ends the test instead of hanging it: nothing is measured.
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

class QueueBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    config_.data_dir = dir_.path();
    config_.queue_visibility_timeout_ms = 2000;
    if (GetParam() == "rabbitmq") {
      config_.amqp_url = TestAmqpUrl();
      if (config_.amqp_url.empty()) GTEST_FAIL() << "RabbitMQ backend requested without COHORT_TEST_AMQP_URL";
      broker_lock_ = std::make_unique<BrokerLock>(false);  // a test that stops the broker waits for this one
    }
    auto queue = app::OpenMessageQueue(config_);
    ASSERT_TRUE(queue) << queue.error().client_message << " " << queue.error().internal_message;
    queue_ = std::move(queue).value();
    auto db = store::sql::OpenSqlite(dir_.path() + "/cohort.db", 4);
    ASSERT_TRUE(db) << db.error().internal_message;
    db_ = std::move(db).value();
    ASSERT_TRUE(store::Outbox(*db_).Migrate());  // processed_messages and the consumer tables
    processed_ = std::make_unique<queue::ProcessedLog>(*db_);
    prefix_ = UniqueName("t");
  }

  // A message type of this test: "<prefix>.<suffix>".
  std::string Type(std::string_view suffix) const { return fmt::format("{}.{}", prefix_, suffix); }
  std::string Queue(std::string_view suffix) const { return fmt::format("{}-{}", prefix_, suffix); }

  queue::OutgoingMessage Message(std::string_view type, int n) const {
    return {fmt::format("{}-m{}", prefix_, n), std::string(type), fmt::format(R"({{"n":{}}})", n)};
  }

  TempDir dir_;
  std::unique_ptr<BrokerLock> broker_lock_;  // held until the queue below is closed
  app::Config config_;
  std::unique_ptr<queue::MessageQueue> queue_;
  std::unique_ptr<store::sql::Database> db_;
  std::unique_ptr<queue::ProcessedLog> processed_;
  std::string prefix_;
};

inline std::string QueueBackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

#define COHORT_INSTANTIATE_FOR_QUEUES(Suite)                                       \
  INSTANTIATE_TEST_SUITE_P(Queues, Suite, ::testing::Values("sqlite", "rabbitmq"), \
                           ::cohort::testing::QueueBackendName)

}  // namespace cohort::testing
