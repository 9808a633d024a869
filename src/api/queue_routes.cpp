#include "api/queue_routes.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "api/json_codec.hpp"
#include "api/request_params.hpp"
#include "api/route_handler.hpp"

namespace cohort::api {
namespace {

using Totals = std::map<std::string, queue::QueueStats>;

// Rates between successive samples of the totals; the first interval starts when the routes were added.
class RateMeter {
 public:
  RateMeter() : at_(std::chrono::steady_clock::now()) {}

  // Per queue: {published, acked, retried, dead_lettered} per second since the previous sample.
  std::map<std::string, Json> Sample(const std::vector<queue::QueueStats>& stats) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::max(1e-3, std::chrono::duration<double>(now - at_).count());
    std::map<std::string, Json> rates;
    Totals next;
    for (const auto& s : stats) {
      const queue::QueueStats before = previous_.count(s.queue) ? previous_[s.queue] : queue::QueueStats{};
      auto rate = [&](std::uint64_t a, std::uint64_t b) {
        return a >= b ? static_cast<double>(a - b) / seconds : 0.0;
      };
      rates[s.queue] = Json{{"published_per_s", rate(s.published_total, before.published_total)},
                            {"acked_per_s", rate(s.acked_total, before.acked_total)},
                            {"retried_per_s", rate(s.retried_total, before.retried_total)},
                            {"dead_lettered_per_s", rate(s.dead_lettered_total, before.dead_lettered_total)}};
      next[s.queue] = s;
    }
    previous_ = std::move(next);
    at_ = now;
    return rates;
  }

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::time_point at_;
  Totals previous_;
};

Json DeadLetterJson(const queue::DeadLetter& d) {
  Json payload = Json::parse(d.payload, nullptr, false);
  if (payload.is_discarded()) payload = d.payload;  // not JSON: shown as the text it is
  return Json{{"id", d.id},
              {"queue", d.queue},
              {"message_id", d.message_id},
              {"type", d.type},
              {"payload", std::move(payload)},
              {"error", d.error},
              {"attempts", d.attempts},
              {"created_at", FormatRfc3339(d.created_at)},
              {"first_attempt_at", FormatRfc3339(d.first_attempt_at)},
              {"dead_lettered_at", FormatRfc3339(d.dead_lettered_at)}};
}

}  // namespace

void AddQueueRoutes(Router& router, QueueAdmin admin) {
  auto meter = std::make_shared<RateMeter>();
  queue::MessageQueue& q = *admin.queue;

  router.Add(
      "GET", "/api/admin/queues", Handle([&q, meter, admin](const HttpRequest& req) -> Result<HttpResponse> {
        COHORT_TRY(CheckQueryNames(req, {}));
        // The outbox before the queue: the relay publishes a message and only then deletes it from the
        // outbox, so read the other way round a message relayed in between would be in neither. A queue that
        // is away still leaves the outbox to report: that is when its backlog matters.
        std::optional<std::int64_t> pending;
        if (admin.outbox_pending) {
          COHORT_ASSIGN_OR_RETURN(pending, admin.outbox_pending());
        }
        auto stats = q.Stats();
        Json body{{"backend", q.backend()}, {"available", stats.ok()}};
        if (!stats) body["error"] = stats.error().client_message;
        const std::vector<queue::QueueStats> none;
        auto rates = stats ? meter->Sample(*stats) : std::map<std::string, Json>{};
        Json queues = Json::array();
        for (const auto& s : stats ? *stats : none) {
          Json entry{{"queue", s.queue},
                     {"ready", s.ready},
                     {"in_flight", s.in_flight},
                     {"retrying", s.retrying},
                     {"dead_lettered", s.dead_lettered},
                     {"published_total", s.published_total},
                     {"acked_total", s.acked_total},
                     {"retried_total", s.retried_total},
                     {"dead_lettered_total", s.dead_lettered_total}};
          entry.update(rates[s.queue]);
          queues.push_back(std::move(entry));
        }
        body["queues"] = std::move(queues);
        if (pending) {
          body["outbox"] =
              Json{{"pending", *pending}, {"relayed_total", admin.relayed_total ? admin.relayed_total() : 0}};
        }
        return JsonResponse(200, body);
      }));

  router.Add("GET", "/api/admin/dead-letters", Handle([&q](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {"queue", "limit"}));
               COHORT_ASSIGN_OR_RETURN(int limit, PageLimit(req, 100));
               queue::DeadLetterQuery query;
               query.limit = static_cast<std::size_t>(limit);
               if (auto name = req.Query("queue"); name && !name->empty()) query.queue = std::string(*name);
               COHORT_ASSIGN_OR_RETURN(std::vector<queue::DeadLetter> letters, q.ListDeadLetters(query));
               Json items = Json::array();
               for (const auto& d : letters) items.push_back(DeadLetterJson(d));
               return JsonResponse(200, Json{{"items", std::move(items)}});
             }));

  router.Add("POST", "/api/admin/dead-letters/{id}/replay",
             Handle([&q](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               const std::string id(req.PathParam("id"));
               COHORT_TRY(q.ReplayDeadLetter(id));
               return JsonResponse(200, Json{{"replayed", id}});
             }));

  router.Add("DELETE", "/api/admin/dead-letters/{id}",
             Handle([&q](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_TRY(q.DropDeadLetter(req.PathParam("id")));
               return HttpResponse{204, "", "application/json", {}};
             }));
}

}  // namespace cohort::api
