#pragma once
// The admin view of the message queue, whatever its backend:
//   GET    /api/admin/queues
//          depth, in flight, retrying, dead-lettered, totals and rates per queue, plus the outbox backlog;
//          while the queue is away, "available": false, its "error" and the outbox alone
//   GET    /api/admin/dead-letters?queue=&limit=
//          {"items":[{"id","queue","message_id","type","payload","error","attempts","created_at",
//                     "first_attempt_at","dead_lettered_at"}]}
//   POST   /api/admin/dead-letters/{id}/replay
//          back to its queue as a fresh delivery (attempt 1, same message id)
//   DELETE /api/admin/dead-letters/{id}
//          dropped for good
// Rates are messages per second between two calls of GET /api/admin/queues (the first call: since the process
// started), from the totals this process counted; with RabbitMQ the acks are counted by the worker processes,
// so serve shows publish rates only.

#include <cstdint>
#include <functional>

#include "api/router.hpp"
#include "common/result.hpp"
#include "queue/message_queue.hpp"

namespace cohort::api {

struct QueueAdmin {
  queue::MessageQueue* queue = nullptr;
  std::function<Result<std::int64_t>()> outbox_pending;
  std::function<std::uint64_t()> relayed_total;
};

void AddQueueRoutes(Router& router, QueueAdmin admin);

}  // namespace cohort::api
