#include "analytics/model.hpp"

#include <chrono>

#include <fmt/format.h>

#include "common/time.hpp"

namespace cohort::analytics {
namespace {

constexpr int kFormat = 1;  // bumped when the saved layout changes incompatibly

std::string Rfc3339(std::int64_t micros) {
  return FormatRfc3339(Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(micros))));
}

nlohmann::json FitJson(const auto& fit) {
  nlohmann::json j = ToJson(fit.model);
  j["fit"] = ToJson(fit.report);
  return j;
}

nlohmann::json SegmentsJson(const Model& m) {
  nlohmann::json out = nlohmann::json::object();
  for (Segment s : kSegments) {
    const SegmentTotal& t = m.segments[static_cast<std::size_t>(s)];
    out[std::string(SegmentName(s))] = {{"users", t.users}, {"revenue", t.revenue}};
  }
  return out;
}

template <typename T>
Result<T> Field(const nlohmann::json& j, const char* name) {
  if (!j.is_object() || !j.contains(name)) return Error::InvalidArgument(fmt::format("model: missing '{}'", name));
  try {
    return j.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    return Error::InvalidArgument(fmt::format("model: '{}' has the wrong type", name));
  }
}

// The member, or null when absent (operator[] on a const json must not meet a missing key).
const nlohmann::json& Child(const nlohmann::json& j, const char* name) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(name);
  return it == j.end() ? kNull : *it;
}

}  // namespace

nlohmann::json ModelSummaryJson(const Model& m) {
  nlohmann::json churn = ToJson(m.churn.coefficients);
  churn["fitted"] = m.churn.fitted;
  churn["auc"] = m.churn.auc ? nlohmann::json(*m.churn.auc) : nlohmann::json(nullptr);
  churn["training_rows"] = m.churn.training_rows;
  churn["evaluation_rows"] = m.churn.evaluation_rows;
  return {{"version", m.version},
          {"trained_at", m.trained_at},
          {"until", Rfc3339(m.until_micros)},
          {"time_unit", TimeUnitName(m.time_unit)},
          {"users", m.users},
          {"events", m.events},
          {"bgnbd", m.bgnbd ? FitJson(*m.bgnbd) : nlohmann::json(nullptr)},
          {"gamma_gamma", m.gamma_gamma ? FitJson(*m.gamma_gamma) : nlohmann::json(nullptr)},
          {"churn", churn},
          {"vip_revenue_cut", m.vip_revenue_cut},
          {"segments", SegmentsJson(m)},
          {"recommender", {{"products", m.recommender.product_count()}}}};
}

nlohmann::json ModelToJson(const Model& m) {
  nlohmann::json j = ModelSummaryJson(m);
  j["format"] = kFormat;
  j["until_micros"] = m.until_micros;
  j["recommender"] = m.recommender.ToJson();
  return j;
}

Result<Model> ModelFromJson(const nlohmann::json& j) {
  COHORT_ASSIGN_OR_RETURN(int format, Field<int>(j, "format"));
  if (format != kFormat) return Error::InvalidArgument(fmt::format("model: format {} is not {}", format, kFormat));
  Model m;
  COHORT_ASSIGN_OR_RETURN(m.version, Field<std::string>(j, "version"));
  COHORT_ASSIGN_OR_RETURN(m.trained_at, Field<std::string>(j, "trained_at"));
  COHORT_ASSIGN_OR_RETURN(m.until_micros, Field<std::int64_t>(j, "until_micros"));
  COHORT_ASSIGN_OR_RETURN(std::string unit, Field<std::string>(j, "time_unit"));
  COHORT_ASSIGN_OR_RETURN(m.time_unit, ParseTimeUnit(unit));
  COHORT_ASSIGN_OR_RETURN(m.users, Field<std::int64_t>(j, "users"));
  COHORT_ASSIGN_OR_RETURN(m.events, Field<std::int64_t>(j, "events"));
  COHORT_ASSIGN_OR_RETURN(m.vip_revenue_cut, Field<double>(j, "vip_revenue_cut"));
  if (!Child(j, "bgnbd").is_null()) {
    COHORT_ASSIGN_OR_RETURN(BgNbdModel bgnbd, BgNbdModelFromJson(Child(j, "bgnbd")));
    m.bgnbd = BgNbdFit{bgnbd, {}};
  }
  if (!Child(j, "gamma_gamma").is_null()) {
    COHORT_ASSIGN_OR_RETURN(GammaGammaModel gg, GammaGammaModelFromJson(Child(j, "gamma_gamma")));
    m.gamma_gamma = GammaGammaFit{gg, {}};
  }
  const nlohmann::json& churn = Child(j, "churn");
  COHORT_ASSIGN_OR_RETURN(m.churn.coefficients, ChurnCoefficientsFromJson(churn));
  COHORT_ASSIGN_OR_RETURN(m.churn.fitted, Field<bool>(churn, "fitted"));
  if (const auto& auc = Child(churn, "auc"); auc.is_number()) m.churn.auc = auc.get<double>();
  COHORT_ASSIGN_OR_RETURN(m.churn.training_rows, Field<std::int64_t>(churn, "training_rows"));
  COHORT_ASSIGN_OR_RETURN(m.churn.evaluation_rows, Field<std::int64_t>(churn, "evaluation_rows"));
  const nlohmann::json& segments = Child(j, "segments");
  for (Segment s : kSegments) {
    const std::string name(SegmentName(s));
    if (!segments.is_object() || !segments.contains(name))
      return Error::InvalidArgument(fmt::format("model: segments.{} is missing", name));
    SegmentTotal& t = m.segments[static_cast<std::size_t>(s)];
    COHORT_ASSIGN_OR_RETURN(t.users, Field<std::int64_t>(Child(segments, name.c_str()), "users"));
    COHORT_ASSIGN_OR_RETURN(t.revenue, Field<double>(Child(segments, name.c_str()), "revenue"));
  }
  COHORT_ASSIGN_OR_RETURN(m.recommender, RecommenderModel::FromJson(Child(j, "recommender")));
  return m;
}

}  // namespace cohort::analytics
