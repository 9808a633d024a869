#pragma once
// The embedded message queue: durable queues in a SQLite file of their own (data_dir/queue.db by default), so
// that queue traffic never contends for the write lock of the users and events database.
//
// A message is one row per queue it was routed to. A consumer takes rows by leasing them: one UPDATE ...
// RETURNING sets a lease token and pushes visible_at forward by the visibility timeout, for up to `prefetch`
// rows at a time; Ack deletes the row, Retry clears the lease and sets visible_at to the end of the delay,
// DeadLetter moves the row into the dead_letters table (dead_letter_table.hpp) in the same transaction. A
// consumer that dies holding a lease loses it when the visibility timeout runs out, and the row is delivered
// again. Settling checks the lease token, so a consumer whose lease ran out cannot settle a row another
// consumer holds now. Consumers in this process are woken at once by a publish; other processes see new rows
// at their next poll.
//
// Acks are batched, because a write transaction per message is what the queue's throughput is made of: Ack
// only notes the row, and the acks of a prefetch window are deleted in one transaction, together with the
// claim of the next window, when the subscription runs out of claimed rows (or, under a slow handler, at the
// first Next after ack_commit_delay; at the latest when the subscription is destroyed). Until that commit the
// rows keep their leases: a crash before it delivers them again (at least once), never loses them, and
// QueueStats::acked_total counts an ack only once it has committed. The deliveries held unsettled plus the
// acks not committed yet never exceed the prefetch, so a crash delivers again at most a window of messages.

#include <chrono>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "queue/message_queue.hpp"

namespace cohort::queue {

struct SqliteQueueOptions {
  std::string path;                                      // the SQLite file
  std::chrono::milliseconds visibility_timeout{30'000};  // how long a delivery stays leased
  std::chrono::milliseconds poll_interval{200};          // how often an idle subscription looks for rows
  std::chrono::milliseconds ack_commit_delay{100};       // longest wait of an ack for its window's commit,
                                                    // checked when the consumer asks for the next delivery
  std::size_t connections = 8;
};

// Opens (creating) the queue file and its tables. The returned queue must outlive its subscriptions.
Result<std::unique_ptr<MessageQueue>> OpenSqliteQueue(const SqliteQueueOptions& options);

}  // namespace cohort::queue
