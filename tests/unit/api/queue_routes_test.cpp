// GET /api/admin/queues on the embedded queue: a message that the outbox relay moves while the endpoint reads
// is reported in the outbox or in its queue, never in neither.

#include "api/queue_routes.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "queue/sqlite/sqlite_queue.hpp"

namespace cohort::api {
namespace {

TEST(QueueRoutesTest, AMessageRelayedWhileTheEndpointReadsIsInTheOutboxOrInItsQueue) {
  const std::string path = ::testing::TempDir() + "/cohort_queue_routes_test.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  auto opened = queue::OpenSqliteQueue({.path = path});
  ASSERT_TRUE(opened.ok()) << opened.error().internal_message;
  queue::MessageQueue& q = **opened;
  ASSERT_TRUE(q.DeclareQueue({"counters", {"thing.happened"}}).ok());

  // One message waits in the outbox. Reading the outbox is what lets the relay run: it publishes the message
  // and deletes it from the outbox before the read sees the outbox, as a relay pass that ends just before
  // the read does.
  std::int64_t outbox = 1;
  Router router;
  AddQueueRoutes(router, {&q,
                          [&]() -> Result<std::int64_t> {
                            if (outbox > 0) {
                              const queue::OutgoingMessage relayed{
                                  .id = "outbox-1", .type = "thing.happened", .payload = "{}"};
                              COHORT_TRY(q.Publish(std::span(&relayed, 1)));
                              outbox = 0;
                            }
                            return outbox;
                          },
                          [] { return std::uint64_t{0}; }});

  HttpRequest request;
  request.method = "GET";
  request.path = "/api/admin/queues";
  const HttpResponse response = router.Dispatch(request);
  ASSERT_EQ(response.status, 200) << response.body;
  const auto body = nlohmann::json::parse(response.body);
  std::int64_t reported = body["outbox"]["pending"].get<std::int64_t>();
  for (const auto& entry : body["queues"]) reported += entry["ready"].get<std::int64_t>();
  EXPECT_EQ(reported, 1) << body.dump();
}

}  // namespace
}  // namespace cohort::api
