#include "api/recommendation_routes.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/json_codec.hpp"
#include "api/metrics.hpp"
#include "api/request_params.hpp"
#include "api/route_handler.hpp"
#include "common/json_text.hpp"
#include "common/time.hpp"
#include "domain/validation.hpp"

namespace cohort::api {
namespace {

using Steady = std::chrono::steady_clock;
constexpr std::size_t kMaxLimit = 100;
// Event reads at once: more than the server's threads (2 by default), so that reads stuck on a frozen store
// leave room for a while; past that, requests wait in the queue and answer degraded at their deadline.
constexpr std::size_t kReadThreads = 8;
// About what an answer takes, to reserve its string: the parts besides the recommendations, and each of those.
constexpr std::size_t kAnswerBytes = 512;
constexpr std::size_t kRecommendationBytes = 192;

std::int64_t Micros(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

struct Query {
  analytics::RecommendQuery recommend;
  bool explain = false;
};

Result<std::vector<std::string>> IdList(const HttpRequest& request, std::string_view name) {
  std::vector<std::string> out;
  for (std::string_view value : request.QueryAll(name)) {
    if (!domain::IsValidId(value))
      return Error::InvalidArgument(
          fmt::format("query parameter '{}' must be 1-64 characters of [A-Za-z0-9_.:-]", name));
    out.emplace_back(value);
  }
  return out;
}

Result<Query> ParseQuery(const HttpRequest& request) {
  COHORT_TRY(CheckQueryNames(request, {"limit", "category", "exclude_category", "exclude", "explain"}));
  Query q;
  if (auto limit = request.Query("limit")) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc{} || end != limit->data() + limit->size() || n < 1 || n > kMaxLimit)
      return Error::InvalidArgument(fmt::format("query parameter 'limit' must be an integer from 1 to {}", kMaxLimit));
    q.recommend.limit = n;
  }
  for (std::string_view name : {"category", "exclude_category"}) {
    for (std::string_view value : request.QueryAll(name)) {
      if (value.empty() || value.size() > 200)
        return Error::InvalidArgument(fmt::format("query parameter '{}' must be 1-200 characters", name));
      (name == "category" ? q.recommend.categories : q.recommend.exclude_categories).emplace_back(value);
    }
  }
  COHORT_ASSIGN_OR_RETURN(q.recommend.exclude_products, IdList(request, "exclude"));
  if (auto explain = request.Query("explain")) {
    if (*explain != "true" && *explain != "false")
      return Error::InvalidArgument("query parameter 'explain' must be true or false");
    q.explain = *explain == "true";
  }
  return q;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += fmt::format("{}:{},", item.size(), item);  // length-prefixed: unambiguous
  return out;
}

// The cache holds "<segment> <product id> <product id> ...\n<answer JSON>": the first line is what
// recommendation.served reports, readable without parsing the answer.
struct CachedAnswer {
  std::string_view segment;
  std::vector<std::string> product_ids;
  std::string_view body;
};

CachedAnswer SplitCached(std::string_view value) {
  CachedAnswer out;
  const auto newline = value.find('\n');
  std::string_view head = value.substr(0, newline);
  out.body = newline == std::string_view::npos ? std::string_view() : value.substr(newline + 1);
  std::size_t start = 0;
  while (start <= head.size()) {
    const auto space = std::min(head.find(' ', start), head.size());
    const auto word = head.substr(start, space - start);
    if (start == 0) {
      out.segment = word;
    } else if (!word.empty()) {
      out.product_ids.emplace_back(word);
    }
    start = space + 1;
  }
  return out;
}

// The parts of an answer.
struct Answer {
  const domain::User& user;
  const analytics::Insight& insight;
  const std::vector<analytics::Recommendation>& recommendations;
  std::span<const domain::Product* const> products;  // [i] is recommendations[i]'s; a missing one: null
  const analytics::Model* model;
  Clock::time_point generated_at;
  bool degraded;
};

// Each recommendation's product among `products` (null when absent), found by binary search: a hash map of
// ten entries costs a dozen allocations per answer.
std::vector<const domain::Product*> InOrderOf(const std::vector<analytics::Recommendation>& recommendations,
                                              const std::vector<domain::Product>& products) {
  std::vector<const domain::Product*> sorted;
  sorted.reserve(products.size());
  for (const domain::Product& p : products) sorted.push_back(&p);
  const auto by_id = [](const domain::Product* a, const domain::Product* b) { return a->id < b->id; };
  std::sort(sorted.begin(), sorted.end(), by_id);
  std::vector<const domain::Product*> out;
  out.reserve(recommendations.size());
  for (const analytics::Recommendation& r : recommendations) {
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), r.product_id,
                                     [](const domain::Product* p, const std::string& id) { return p->id < id; });
    out.push_back(it != sorted.end() && (*it)->id == r.product_id ? *it : nullptr);
  }
  return out;
}

// The answer's JSON, in the order of the API's description, written directly (common/json_text.hpp): a JSON
// document built first and then written out cost more than reading the products.
void AppendAnswer(std::string& out, const Answer& a) {
  const auto string_or_null = [&out](const std::string* text) {
    if (text) {
      AppendJsonString(out, *text);
    } else {
      out += "null";
    }
  };
  out += R"({"user":{"id":)";
  AppendJsonString(out, a.user.id);
  out += R"(,"name":)";
  AppendJsonString(out, a.user.name);
  out += R"(,"city":)";
  AppendJsonString(out, a.user.address.city);
  out += R"(,"country":)";
  AppendJsonString(out, a.user.address.country_code);
  out += R"(},"segment":)";
  AppendJsonString(out, analytics::SegmentName(a.insight.segment));
  out += R"(,"offer":)";
  AppendJsonString(out, analytics::SegmentOffer(a.insight.segment));
  out += R"(,"churn_risk":)";
  AppendJsonNumber(out, a.insight.churn_risk);
  out += R"(,"p_alive":)";
  AppendJsonNumber(out, a.insight.p_alive.value_or(std::numeric_limits<double>::quiet_NaN()));
  out += R"(,"ltv":{"value":)";
  AppendJsonNumber(out, a.insight.ltv().value);
  out += R"(,"method":)";
  AppendJsonString(out, a.insight.ltv().method);
  out += R"(},"recommendations":[)";
  for (std::size_t i = 0; i < a.recommendations.size(); ++i) {
    const analytics::Recommendation& r = a.recommendations[i];
    const domain::Product* p = a.products[i];
    out += i == 0 ? R"({"product_id":)" : R"(,{"product_id":)";
    AppendJsonString(out, r.product_id);
    out += R"(,"name":)";
    string_or_null(p ? &p->name : nullptr);
    out += R"(,"category":)";
    AppendJsonString(out, p ? p->category : r.category);
    out += R"(,"price":)";
    AppendJsonNumber(out, p ? p->price : std::numeric_limits<double>::quiet_NaN());
    out += R"(,"score":)";
    AppendJsonNumber(out, r.score);
    out += R"(,"reason":)";
    AppendJsonString(out, r.reason);
    out += '}';
  }
  out += R"(],"model_version":)";
  string_or_null(a.model ? &a.model->version : nullptr);
  out += R"(,"generated_at":)";
  AppendJsonString(out, FormatRfc3339(a.generated_at));
  out += a.degraded ? R"(,"degraded":true})" : R"(,"degraded":false})";
}

// The explain steps; records nothing unless asked to (a cached answer is a few microseconds of work).
class StepTimer {
 public:
  explicit StepTimer(bool enabled) : enabled_(enabled) {}
  // The source is `source` followed by `source_tail`, joined only when recording.
  void Record(std::string_view step, std::string_view source, std::string_view source_tail = {}) {
    if (!enabled_) return;
    const auto now = Steady::now();
    steps_.push_back({{"step", step},
                      {"source", std::string(source) += source_tail},
                      {"micros", std::chrono::duration_cast<std::chrono::microseconds>(now - last_).count()}});
    last_ = now;
  }
  Json steps() const { return steps_.is_null() ? Json::array() : steps_; }

 private:
  const bool enabled_;
  Steady::time_point last_ = Steady::now();
  Json steps_;  // null until the first step: an empty array is an allocation per request
};

// A few long-lived threads for the event reads: starting a thread per request costs more than a SQLite read.
// The threads are detached and share the queue with this object, so a read stuck on a frozen store never holds
// up shutdown; tasks still queued when the object goes are dropped.
class ReadPool {
 public:
  explicit ReadPool(std::size_t threads) : state_(std::make_shared<State>()) {
    for (std::size_t i = 0; i < threads; ++i) std::thread([state = state_] { state->Run(); }).detach();
  }
  ~ReadPool() { state_->Stop(); }
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  void Post(std::function<void()> task) {
    {
      std::lock_guard lock(state_->mutex);
      state_->tasks.push_back(std::move(task));
    }
    state_->ready.notify_one();
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::function<void()>> tasks;
    bool stopped = false;

    void Run() {
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock lock(mutex);
          ready.wait(lock, [this] { return stopped || !tasks.empty(); });
          if (stopped) return;
          task = std::move(tasks.front());
          tasks.pop_front();
        }
        task();
      }
    }
    void Stop() {
      {
        std::lock_guard lock(mutex);
        stopped = true;
        tasks.clear();
      }
      ready.notify_all();
    }
  };
  std::shared_ptr<State> state_;
};

// Reads the user's events within `deadline` (nullopt past it). An in-process store reads in this thread and stops
// the statement at the deadline itself (SQLite checks it while the statement runs; WAL readers never wait for
// writers). A server across the network can hang without answering, so its reads go to the pool: a read that
// times out keeps its pool thread until the server answers, and its result is dropped.
Result<std::optional<std::vector<domain::Event>>> EventsWithin(ReadPool& pool, store::EventStore& events,
                                                               store::EventQuery query,
                                                               std::chrono::milliseconds deadline) {
  using Read = std::optional<std::vector<domain::Event>>;
  if (events.in_process()) {
    query.time_limit = deadline;
    auto got = events.UserEvents(query);
    if (got) return Read(std::move(*got));
    if (got.error().code == ErrorCode::kDeadlineExceeded) return Read();
    return std::move(got).error();
  }
  auto promise = std::make_shared<std::promise<Result<std::vector<domain::Event>>>>();
  auto future = promise->get_future();
  pool.Post([&events, query = std::move(query), promise] { promise->set_value(events.UserEvents(query)); });
  if (future.wait_for(deadline) != std::future_status::ready) return Read();
  COHORT_ASSIGN_OR_RETURN(auto got, future.get());
  return Read(std::move(got));
}

}  // namespace

void AddRecommendationRoutes(Router& router, store::RelationalStore& relational, store::EventStore& events,
                             cache::TieredCache& cache, ModelSource model, PublishServed publish,
                             RecommendationRoutesOptions options) {
  router.Add(
      "GET", "/api/users/{id}/personalized-recommendations",
      Handle([&relational, &events, &cache, model, publish, options,
              pool = std::make_shared<ReadPool>(kReadThreads)](const HttpRequest& req) -> Result<HttpResponse> {
        COHORT_ASSIGN_OR_RETURN(const std::string id, IdParam(req, "user"));
        COHORT_ASSIGN_OR_RETURN(const Query query, ParseQuery(req));
        const auto current = model();
        const std::string version = current ? current->version : "none";
        const std::string name =
            fmt::format("{}|{}|{}|{}|{}", version, query.recommend.limit, Joined(query.recommend.categories),
                        Joined(query.recommend.exclude_categories), Joined(query.recommend.exclude_products));

        StepTimer timer(query.explain);
        std::string degraded_answer;  // set when the events missed their deadline: served, never cached
        auto compute = [&]() -> Result<std::string> {
          timer.Record("cache", "miss");
          COHORT_ASSIGN_OR_RETURN(const domain::User user, relational.GetUser(id));
          const analytics::UserProfile profile = ProfileOf(user);
          timer.Record("user", relational.backend());
          auto read =
              EventsWithin(*pool, events, {.user_id = id, .limit = options.user_events_limit, .details = false},
                           options.events_deadline);
          // A store that fails rather than being slow degrades the answer the same way.
          std::optional<std::vector<domain::Event>> history;
          if (!read) {
            CountStoreError();
            spdlog::warn("personalized-recommendations: reading the events of '{}' failed, answering without them: "
                         "{} {}", id, read.error().client_message, read.error().internal_message);
          } else {
            history = std::move(*read);
          }
          const bool degraded = !history.has_value();
          timer.Record("events", !read ? "error" : degraded ? "deadline" : events.backend());
          const std::vector<domain::Event> none;
          const std::vector<domain::Event>& used = degraded ? none : *history;
          const auto now = Clock::now();
          const analytics::TimeUnit unit = analytics::FeatureUnit(current.get(), options.engine);
          analytics::UserFeatures features = analytics::ComputeFeatures(used, Micros(now), unit);
          if (degraded && options.stored_features) {
            // A failed read leaves the profile-only answer: the point of degrading is to answer anyway.
            auto stored = options.stored_features(id);
            const bool found = stored && stored->has_value();
            if (found) features = (*stored)->Features(Micros(now), unit);
            timer.Record("features", found ? "stored" : "none");
          }
          const analytics::Insight insight =
              analytics::ScoreFeatures(current.get(), profile, std::move(features), Micros(now), options.engine);
          std::vector<analytics::Recommendation> recs;
          if (current)
            recs = current->recommender.Recommend({used, profile.country, profile.country_name, Micros(now)},
                                                  query.recommend);
          timer.Record("analytics", current ? "model " : "defaults", current ? current->version : "");
          std::vector<std::string> ids;
          ids.reserve(recs.size());
          for (const auto& r : recs) ids.push_back(r.product_id);
          COHORT_ASSIGN_OR_RETURN(const auto products, relational.GetProducts(ids));
          const std::vector<const domain::Product*> details = InOrderOf(recs, products);
          std::string value;
          value.reserve(kAnswerBytes + kRecommendationBytes * recs.size());  // grown in one step, not ten
          value = analytics::SegmentName(insight.segment);
          for (const auto& r : recs) (value += ' ') += r.product_id;
          value += '\n';
          AppendAnswer(value, {user, insight, recs, details, current.get(), now, degraded});
          if (degraded) {
            degraded_answer = std::move(value);
            return Error{ErrorCode::kDeadlineExceeded, "events deadline", "events deadline"};
          }
          return value;
        };

        auto found = cache.GetOrCompute({"recs", id, name}, options.ttl, compute);
        std::string source;
        std::string value;
        if (found) {
          source = found->source == cache::Source::kComputed ? "miss" : std::string(cache::SourceName(found->source));
          value = std::move(found->value);
          if (found->source != cache::Source::kComputed) timer.Record("cache", source);
        } else if (!degraded_answer.empty()) {
          source = "miss";
          value = std::move(degraded_answer);
        } else {
          return std::move(found).error();
        }
        const CachedAnswer answer = SplitCached(value);
        publish(domain::RecommendationServedMessage(id, answer.segment, answer.product_ids));
        value.erase(0, value.size() - answer.body.size());  // the body is the value's tail: kept in place
        HttpResponse response{200, std::move(value), "application/json", {}};
        if (query.explain) {
          timer.Record("publish", "buffer");
          Json body = Json::parse(response.body);
          body["explain"] = {{"steps", timer.steps()}};
          response.body = body.dump();
        }
        response.headers.emplace_back("X-Cache", source);
        return response;
      }));
}

}  // namespace cohort::api
