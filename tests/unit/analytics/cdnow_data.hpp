#pragma once
// The public CDNOW sample (Fader, Hardie & Lee 2005), read from the shared data folder beside the checkout.
// Tests that need it skip when it is absent.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "analytics/purchase_summary.hpp"
#include "common/csv.hpp"

namespace cohort::analytics::cdnow {

inline std::filesystem::path CdnowDir() { return std::filesystem::path(COHORT_SHARED_DATA_DIR) / "cdnow"; }

inline bool HaveCdnow() {
  return std::filesystem::exists(CdnowDir() / "CDNOW_sample.txt") &&
         std::filesystem::exists(CdnowDir() / "cdnow_customers_summary_with_transactions.csv");
}

// Midnight UTC of a YYYYMMDD date, in microseconds.
inline std::int64_t DateMicros(int yyyymmdd) {
  const std::chrono::year_month_day date{std::chrono::year(yyyymmdd / 10000),
                                         std::chrono::month(static_cast<unsigned>(yyyymmdd / 100 % 100)),
                                         std::chrono::day(static_cast<unsigned>(yyyymmdd % 100))};
  return static_cast<std::int64_t>(std::chrono::sys_days(date).time_since_epoch().count()) * kMicrosPerDay;
}

// CDNOW_sample.txt: customer id, sample id (1..2357), date YYYYMMDD, quantity, amount. Keyed by sample id.
inline std::map<int, std::vector<Purchase>> ReadCdnowTransactions() {
  std::map<int, std::vector<Purchase>> by_customer;
  std::ifstream in(CdnowDir() / "CDNOW_sample.txt");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    int master_id = 0;
    int sample_id = 0;
    int date = 0;
    int quantity = 0;
    double amount = 0.0;
    if (fields >> master_id >> sample_id >> date >> quantity >> amount)
      by_customer[sample_id].push_back({DateMicros(date), amount});
  }
  return by_customer;
}

struct PublishedSummary {
  int id = 0;
  PurchaseSummary summary;  // in weeks, calibration to 1997-09-30
};

// cdnow_customers_summary_with_transactions.csv: ID,x,t_x,T,zbar (two decimals).
inline std::vector<PublishedSummary> ReadCdnowSummaries() {
  std::vector<PublishedSummary> rows;
  std::ifstream in(CdnowDir() / "cdnow_customers_summary_with_transactions.csv");
  CsvReader reader(in);
  std::vector<std::string> fields;
  reader.Next(fields);  // header
  while (reader.Next(fields))
    if (fields.size() == 5)
      rows.push_back(
          {std::stoi(fields[0]),
           {std::stoll(fields[1]), std::stod(fields[2]), std::stod(fields[3]), std::stod(fields[4])}});
  return rows;
}

inline std::vector<PurchaseSummary> SummariesOnly(const std::vector<PublishedSummary>& rows) {
  std::vector<PurchaseSummary> out;
  for (const auto& row : rows) out.push_back(row.summary);
  return out;
}

inline constexpr const char* kNoCdnow = "CDNOW data not found beside the checkout (shared/data/cdnow)";

}  // namespace cohort::analytics::cdnow
