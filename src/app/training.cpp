#include "app/training.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "analytics/calibration.hpp"
#include "analytics/evaluation.hpp"
#include "analytics/trainer.hpp"
#include "common/time.hpp"

namespace cohort::app {
namespace {

using analytics::UserProfile;

constexpr std::size_t kScanPage = 20'000;

std::int64_t Micros(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// "YYYY-MM-DD" (that day's start) or an RFC 3339 time.
Result<std::int64_t> ParseInstant(const std::string& text, std::string_view flag) {
  const std::string full = text.size() == 10 ? text + "T00:00:00Z" : text;
  auto t = ParseRfc3339(full);
  if (!t) return Error::InvalidArgument(fmt::format("{} must be a date (YYYY-MM-DD) or an RFC 3339 time", flag));
  return Micros(*t);
}

// Progress lines on stderr: overwritten in place on a terminal, one per stage otherwise.
class ProgressLine {
 public:
  ProgressLine() : tty_(isatty(2) != 0) {}
  void Update(const std::string& line) {
    if (tty_) fmt::print(stderr, "\r{}", line);
  }
  void Stage(std::string_view line) { fmt::print(stderr, "{}{}\n", tty_ ? "\r\x1b[K" : "", line); }

 private:
  bool tty_;
};

// The shop as the trainer needs it: every user's profile and the catalogue's categories.
struct Shop {
  std::unordered_map<std::string, UserProfile> users;
  std::unordered_map<std::string, std::string> product_category;
};

Result<Shop> LoadShop(store::RelationalStore& relational) {
  Shop shop;
  std::unordered_map<std::string, std::string> country_names;
  COHORT_ASSIGN_OR_RETURN(auto countries, relational.ListCountries());
  for (auto& c : countries) country_names.emplace(c.code, c.name);
  domain::UserQuery users;
  users.limit = 1000;
  while (true) {
    COHORT_ASSIGN_OR_RETURN(auto page, relational.ListUsers(users));
    for (auto& u : page.items) {
      UserProfile p;
      p.id = u.id;
      if (auto t = ParseRfc3339(u.created_at)) p.registered_micros = Micros(*t);
      p.country = u.address.country_code;
      if (auto it = country_names.find(p.country); it != country_names.end()) p.country_name = it->second;
      shop.users.emplace(u.id, std::move(p));
    }
    if (!page.next_after) break;
    users.after = page.next_after;
  }
  domain::ProductQuery products;
  products.limit = 1000;
  while (true) {
    COHORT_ASSIGN_OR_RETURN(auto page, relational.ListProducts(products));
    for (auto& p : page.items) shop.product_category.emplace(p.id, p.category);
    if (!page.next_after) break;
    products.after = page.next_after;
  }
  return shop;
}

// Calls `visit` once per user: those with events in the store's order, then registered users without events.
template <typename Visit>
Result<void> ForEachUser(store::EventStore& events, const Shop& shop, ProgressLine& progress, Visit&& visit) {
  std::unordered_set<std::string> seen;
  std::int64_t read = 0;
  COHORT_TRY(events.Scan(kScanPage, [&](std::vector<domain::Event>& page) -> Result<void> {
    std::size_t begin = 0;
    while (begin < page.size()) {
      std::size_t end = begin;
      while (end < page.size() && page[end].user_id == page[begin].user_id) ++end;
      const std::string& id = page[begin].user_id;
      auto it = shop.users.find(id);
      const UserProfile profile = it != shop.users.end() ? it->second : UserProfile{id, std::nullopt, {}, {}};
      visit(profile, std::span<const domain::Event>(page.data() + begin, end - begin));
      seen.insert(id);
      begin = end;
    }
    read += static_cast<std::int64_t>(page.size());
    progress.Update(fmt::format("reading events: {} events, {} users", read, seen.size()));
    return {};
  }));
  for (const auto& [id, profile] : shop.users)
    if (!seen.contains(id)) visit(profile, std::span<const domain::Event>());
  progress.Stage(fmt::format("read {} events of {} users ({} registered)", read, seen.size(), shop.users.size()));
  return {};
}

std::string VersionFor(Clock::time_point now) {
  // Microseconds keep two trainings in one second apart; the text sorts by time.
  const auto micros = Micros(now);
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, micros % 1'000'000);
}

int Fail(const Error& error) {
  fmt::print(stderr, "cohort: {}\n", error.client_message);
  if (!error.internal_message.empty()) spdlog::debug("{}", error.internal_message);
  return 1;
}

Result<std::unique_ptr<store::ModelStore>> OpenModels(const Config& config) {
  COHORT_ASSIGN_OR_RETURN(auto models, store::OpenModelStore(config.SqlitePath(), config.postgres_url, 1));
  COHORT_TRY(models->Migrate());
  return models;
}

analytics::TrainOptions TrainOptionsFrom(const Config& config, std::int64_t until, analytics::TimeUnit unit) {
  analytics::TrainOptions options;
  options.until_micros = until;
  options.time_unit = unit;
  options.churn_window_days = config.churn_window_days;
  options.rules = EngineOptionsFrom(config).rules;
  return options;
}

}  // namespace

analytics::EngineOptions EngineOptionsFrom(const Config& config) {
  analytics::EngineOptions options;
  options.rules.dormant_days = config.segment_dormant_days;
  options.rules.new_user_grace_days = config.segment_new_user_grace_days;
  options.rules.at_risk_min_days = config.segment_at_risk_min_days;
  options.rules.at_risk_churn = config.segment_at_risk_churn;
  options.rules.vip_top_share = config.segment_vip_top_share;
  options.rules.vip_min_revenue = config.segment_vip_min_revenue;
  options.clv.horizon_months = config.ltv_months;
  options.clv.monthly_discount = config.ltv_monthly_discount;
  options.time_unit = config.time_unit == "weeks" ? analytics::TimeUnit::kWeeks : analytics::TimeUnit::kDays;
  return options;
}

Result<analytics::Model> TrainAndSave(const Config& config, Stores& stores, store::ModelStore& models,
                                      std::int64_t until_micros, analytics::TimeUnit unit,
                                      const analytics::Progress& progress) {
  const auto started = Clock::now();
  ProgressLine line;
  COHORT_ASSIGN_OR_RETURN(Shop shop, LoadShop(*stores.relational));
  progress(fmt::format("loaded {} users and {} products", shop.users.size(), shop.product_category.size()));
  analytics::TrainOptions options = TrainOptionsFrom(config, until_micros, unit);
  options.version = VersionFor(started);
  options.trained_at = FormatRfc3339(std::chrono::floor<std::chrono::seconds>(started));
  analytics::ModelTrainer trainer(options);
  COHORT_TRY(ForEachUser(*stores.events, shop, line,
                         [&](const UserProfile& p, std::span<const domain::Event> e) { trainer.AddUser(p, e); }));
  COHORT_ASSIGN_OR_RETURN(analytics::Model model, trainer.Finish(shop.product_category, progress));
  const std::string body = analytics::ModelToJson(model).dump();
  COHORT_TRY(models.Save({model.version, model.trained_at, static_cast<std::int64_t>(body.size())}, body));
  progress(fmt::format("saved model {} ({} bytes) in {:.1f} s", model.version, body.size(),
                       std::chrono::duration<double>(Clock::now() - started).count()));
  return model;
}

int RunTrain(const Config& config, const TrainArgs& args) {
  std::int64_t until = Micros(Clock::now());
  if (args.until) {
    auto parsed = ParseInstant(*args.until, "--until");
    if (!parsed) return Fail(parsed.error());
    until = analytics::EndOfUtcDay(*parsed);
  }
  auto unit = analytics::ParseTimeUnit(args.time_unit.value_or(config.time_unit));
  if (!unit) return Fail(Error::InvalidArgument("--time-unit must be days or weeks"));
  auto stores = OpenStores(config, 2);
  if (!stores) return Fail(stores.error());
  auto models = OpenModels(config);
  if (!models) return Fail(models.error());
  ProgressLine line;
  auto model = TrainAndSave(config, *stores, **models, until, *unit, [&](std::string_view s) { line.Stage(s); });
  if (!model) return Fail(model.error());
  if (args.json) {
    fmt::print("{}\n", analytics::ModelSummaryJson(*model).dump(2));
  } else {
    const auto& m = *model;
    fmt::print("model {}: {} users, {} events up to {}\n", m.version, m.users, m.events, args.until.value_or("now"));
    if (m.bgnbd)
      fmt::print("  BG/NBD       r={:.4f} alpha={:.4f} a={:.4f} b={:.4f} log-likelihood={:.2f}\n", m.bgnbd->model.r,
                 m.bgnbd->model.alpha, m.bgnbd->model.a, m.bgnbd->model.b, m.bgnbd->model.log_likelihood);
    if (m.gamma_gamma)
      fmt::print("  Gamma-Gamma  p={:.4f} q={:.4f} v={:.4f} log-likelihood={:.2f}\n", m.gamma_gamma->model.p,
                 m.gamma_gamma->model.q, m.gamma_gamma->model.v, m.gamma_gamma->model.log_likelihood);
    const auto& c = m.churn.coefficients;
    fmt::print("  churn        w0={:.3f} w1={:.3f} w2={:.3f} w3={:.3f} ({}) AUC={}\n", c.w0, c.w1, c.w2, c.w3,
               m.churn.fitted ? "fitted" : "defaults", m.churn.auc ? fmt::format("{:.3f}", *m.churn.auc) : "n/a");
    for (analytics::Segment s : analytics::kSegments)
      fmt::print("  {:<8} {:>9} users  revenue {:.2f}\n", analytics::SegmentName(s),
                 m.segments[static_cast<std::size_t>(s)].users, m.segments[static_cast<std::size_t>(s)].revenue);
  }
  return 0;
}

int RunEval(const Config& config, const EvalArgs& args) {
  if (args.k < 1 || args.k > 1000) return Fail(Error::InvalidArgument("--k must be from 1 to 1000"));
  auto stores = OpenStores(config, 2);
  if (!stores) return Fail(stores.error());
  const analytics::TimeUnit unit = EngineOptionsFrom(config).time_unit;
  ProgressLine line;
  auto shop = LoadShop(*stores->relational);
  if (!shop) return Fail(shop.error());

  struct UserRange {
    UserProfile profile;
    std::size_t begin, end;
  };
  std::vector<domain::Event> all;
  std::vector<UserRange> users;
  auto read = ForEachUser(*stores->events, *shop, line, [&](const UserProfile& p, std::span<const domain::Event> e) {
    if (e.empty()) return;
    users.push_back({p, all.size(), all.size() + e.size()});
    all.insert(all.end(), e.begin(), e.end());
  });
  if (!read) return Fail(read.error());
  if (all.size() < 2) return Fail(Error::InvalidArgument("the store holds too few events to evaluate"));

  std::int64_t split = 0;
  if (args.split) {
    auto parsed = ParseInstant(*args.split, "--split");
    if (!parsed) return Fail(parsed.error());
    split = *parsed;
  } else {  // the start of the day of the event that leaves the last 20% for testing
    std::vector<std::int64_t> times;
    times.reserve(all.size());
    for (const auto& e : all) times.push_back(e.ts_micros);
    auto at = times.begin() + static_cast<std::ptrdiff_t>(times.size() * 8 / 10);
    std::nth_element(times.begin(), at, times.end());
    split = analytics::UtcDay(*at) * analytics::kMicrosPerDay;
  }
  std::int64_t last = split;
  std::vector<domain::Event> train, test;
  for (const auto& e : all) {
    (e.ts_micros < split ? train : test).push_back(e);
    last = std::max(last, e.ts_micros);
  }
  if (train.empty() || test.empty())
    return Fail(Error::InvalidArgument(fmt::format("the split {} leaves no events on one side",
                                                   FormatRfc3339(Clock::time_point(std::chrono::microseconds(split))))));
  const std::int64_t holdout_days = std::max<std::int64_t>(1, analytics::UtcDay(last) - analytics::UtcDay(split) + 1);
  line.Stage(fmt::format("split {}: {} training events, {} test events over {} days",
                         FormatRfc3339(Clock::time_point(std::chrono::microseconds(split))), train.size(),
                         test.size(), holdout_days));

  // Churn and BG/NBD fitted on the history before the split, as `cohort train --until` would.
  analytics::TrainOptions options = TrainOptionsFrom(config, split - 1, unit);
  options.train_recommender = false;
  analytics::ModelTrainer trainer(options);
  for (const auto& u : users) trainer.AddUser(u.profile, std::span<const domain::Event>(all).subspan(u.begin, u.end - u.begin));
  auto model = trainer.Finish(shop->product_category, [&](std::string_view s) { line.Stage(s); });
  if (!model) return Fail(model.error());

  // Out of time: buyers as of the split, churned when they bought nothing in the holdout (at most the churn window).
  const std::int64_t window_days = std::min<std::int64_t>(holdout_days, config.churn_window_days);
  std::vector<analytics::ScoredLabel> churn_scores;
  std::vector<analytics::PurchaseSummary> calibration;
  std::vector<std::int64_t> holdout;
  for (const auto& u : users) {
    const auto events = std::span<const domain::Event>(all).subspan(u.begin, u.end - u.begin);
    const analytics::UserFeatures f = analytics::ComputeFeatures(events, split - 1, unit);
    if (f.purchases == 0) continue;
    std::vector<analytics::Purchase> purchases;
    for (const auto& e : events)
      if (e.type == domain::kPurchase) purchases.push_back({e.ts_micros, e.price.value_or(0) * static_cast<double>(e.quantity)});
    const std::int64_t later = analytics::CountHoldoutPurchaseDays(purchases, split - 1, holdout_days).value();
    const std::int64_t soon = analytics::CountHoldoutPurchaseDays(purchases, split - 1, window_days).value();
    const double risk =
        analytics::ChurnRisk(model->churn.coefficients, analytics::ChurnInputs(f, u.profile, split - 1)).value();
    churn_scores.push_back({risk, soon == 0});
    calibration.push_back(f.summary);
    holdout.push_back(later);
  }
  nlohmann::json churn_json = {{"auc", nullptr}, {"customers", churn_scores.size()}, {"window_days", window_days}};
  if (auto auc = analytics::Auc(churn_scores)) churn_json["auc"] = *auc;
  nlohmann::json calibration_json = nullptr;
  if (model->bgnbd) {
    auto table = analytics::BgNbdCalibrationTable(model->bgnbd->model, calibration, holdout,
                                                  static_cast<double>(holdout_days) / analytics::DaysPerUnit(unit));
    if (table) calibration_json = analytics::ToJson(*table);
  }

  line.Stage("evaluating the recommenders");
  analytics::EvaluationOptions eval_options;
  eval_options.k = static_cast<std::size_t>(args.k);
  std::unordered_map<std::string, std::string> user_country;
  for (const auto& [id, p] : shop->users)
    if (!p.country.empty()) user_country.emplace(id, p.country);
  const analytics::EvaluationReport report =
      analytics::EvaluateRecommenders(train, test, split, user_country, shop->product_category, eval_options);

  nlohmann::json out = report.ToJson();
  out["split"] = FormatRfc3339(Clock::time_point(std::chrono::microseconds(split)));
  out["churn"] = churn_json;
  out["bgnbd_calibration"] = calibration_json;
  out["time_unit"] = analytics::TimeUnitName(unit);

  fmt::print("offline evaluation, split {}, k={}, {} users evaluated\n", out["split"].get<std::string>(), args.k,
             report.users_evaluated);
  fmt::print("  {:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "recommender", "precision", "recall", "ndcg", "map",
             "hit_rate", "coverage");
  for (const auto& [name, m] : {std::pair{"cohort", report.cohort}, std::pair{"popularity", report.popularity}})
    fmt::print("  {:<12} {:>9.4f} {:>9.4f} {:>9.4f} {:>9.4f} {:>9.4f} {:>9.4f}\n", name, m.precision, m.recall,
               m.ndcg, m.map, m.hit_rate, m.coverage);
  fmt::print("  churn AUC (holdout of {} days, {} buyers): {}\n", window_days, churn_scores.size(),
             churn_json["auc"].is_null() ? std::string("n/a") : fmt::format("{:.4f}", churn_json["auc"].get<double>()));
  if (calibration_json.is_array()) {
    fmt::print("  BG/NBD calibration ({} days holdout): x  customers  actual  expected\n", holdout_days);
    for (const auto& row : calibration_json)
      fmt::print("    {:>3} {:>9} {:>8.3f} {:>9.3f}\n", row["x_bucket"].get<std::string>(), row["customers"].get<std::int64_t>(),
                 row["actual_mean"].get<double>(), row["expected_mean"].get<double>());
  }
  if (args.json_file) {
    std::ofstream file(*args.json_file);
    file << out.dump(2) << '\n';
    if (!file) return Fail(Error::InvalidArgument(fmt::format("cannot write {}", *args.json_file)));
  }
  return 0;
}

}  // namespace cohort::app
