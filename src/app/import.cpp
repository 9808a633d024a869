#include "app/import.hpp"

#include <unistd.h>

#include <charconv>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/event_codec.hpp"
#include "api/event_ingest.hpp"
#include "common/csv.hpp"
#include "common/time.hpp"
#include "domain/validation.hpp"

namespace cohort::app {
namespace {

constexpr std::size_t kBatch = 5000;
constexpr std::size_t kErrorsShown = 20;

std::int64_t ToMicros(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

int Fail(const Error& error) {
  fmt::print(stderr, "\nimport failed: {}\n", error.client_message);
  if (!error.internal_message.empty()) fmt::print(stderr, "  {}\n", error.internal_message);
  return 1;
}

// Counts, progress and the report of bad lines for one import run. Batches are written on threads of their own,
// so that reading and parsing the file overlaps the database's work; a server store (PostgreSQL, MongoDB)
// takes two batches of kBatch at once, SQLite one of kSqliteBatch, as its writers would only wait for each
// other's lock, and each commit rewrites every index page the batch touched.
class ImportRun {
 public:
  ImportRun(Stores& stores, std::string what)
      : stores_(stores),
        what_(std::move(what)),
        tty_(isatty(2) != 0),
        sqlite_(stores.events->backend() == "sqlite") {}

  std::size_t batch_size() const { return sqlite_ ? kSqliteBatch : kBatch; }

  void Reject(std::size_t line, const std::string& message) {
    if (rejected_++ < kErrorsShown) fmt::print(stderr, "{}line {}: {}\n", tty_ ? "\r" : "", line, message);
  }
  void Skip() { ++skipped_; }
  void Line(std::size_t line) { lines_ = line; }

  // Queues an event (already validated); flushes a full batch.
  Result<void> Add(domain::Event event) {
    pending_.push_back(std::move(event));
    if (pending_.size() >= batch_size()) return Flush();
    return {};
  }

  Result<void> Flush() {
    if (pending_.empty()) return {};
    if (inflight_.size() >= (sqlite_ ? 1U : 2U)) COHORT_TRY(Collect());
    inflight_.push_back(std::async(std::launch::async, [this, batch = std::move(pending_)] {
      return api::IngestEvents(*stores_.events, *stores_.relational, batch);
    }));
    pending_.clear();
    return {};
  }

  // Waits for every write in flight.
  Result<void> Drain() {
    COHORT_TRY(Flush());
    while (!inflight_.empty()) COHORT_TRY(Collect());
    return {};
  }

  int Finish(const std::string& extra = "") {
    if (auto drained = Drain(); !drained) return Fail(drained.error());
    if (tty_) fmt::print(stderr, "\n");
    if (rejected_ > kErrorsShown) fmt::print(stderr, "... and {} more rejected lines\n", rejected_ - kErrorsShown);
    fmt::print("{}: {} lines read, {} events accepted, {} duplicates, {} rejected, {} skipped, {} for unknown users{}\n",
               what_, lines_, accepted_, duplicates_, rejected_, skipped_, unknown_users_, extra);
    return 0;
  }

 private:
  // Waits for the oldest write in flight and counts it.
  Result<void> Collect() {
    Result<api::IngestCounts> counts = inflight_.front().get();
    inflight_.pop_front();
    if (!counts) return std::move(counts).error();
    accepted_ += counts->accepted;
    duplicates_ += counts->duplicates;
    unknown_users_ += counts->unknown_users;
    if (tty_)
      fmt::print(stderr, "\r{}: {} lines, {} accepted, {} duplicates, {} rejected", what_, lines_, accepted_,
                 duplicates_, rejected_);
    return {};
  }

  static constexpr std::size_t kSqliteBatch = 50'000;

  Stores& stores_;
  std::string what_;
  bool tty_;
  bool sqlite_;
  std::vector<domain::Event> pending_;
  std::deque<std::future<Result<api::IngestCounts>>> inflight_;
  std::size_t lines_ = 0, accepted_ = 0, duplicates_ = 0, rejected_ = 0, skipped_ = 0, unknown_users_ = 0;
};

bool LooksLikeNdjson(const std::string& path, std::istream& in) {
  for (std::string_view ext : {".ndjson", ".jsonl", ".json"})
    if (path.ends_with(ext)) return true;
  if (path.ends_with(".csv")) return false;
  in >> std::ws;
  const bool json = in.peek() == '{';
  in.seekg(0);
  return json;
}

int ImportNdjson(ImportRun& run, std::istream& in) {
  std::string chunk, line;
  std::size_t chunk_first_line = 1, line_no = 0, lines_in_chunk = 0;
  auto flush_chunk = [&]() -> Result<void> {
    api::ParsedEvents parsed = api::ParseEventsNdjson(chunk, ToMicros(Clock::now()));
    for (const auto& [index, error] : parsed.errors) run.Reject(chunk_first_line + index, error.client_message);
    for (auto& e : parsed.events) COHORT_TRY(run.Add(std::move(e)));
    chunk.clear();
    lines_in_chunk = 0;
    chunk_first_line = line_no + 1;
    return run.Flush();
  };
  while (std::getline(in, line)) {
    ++line_no;
    run.Line(line_no);
    chunk += line;
    chunk += '\n';
    if (++lines_in_chunk >= run.batch_size())
      if (auto r = flush_chunk(); !r) return Fail(r.error());
  }
  if (auto r = flush_chunk(); !r) return Fail(r.error());
  return run.Finish();
}

// CSV with a header naming event fields; columns "properties.NAME" go into properties (as strings).
int ImportCsv(ImportRun& run, std::istream& in) {
  CsvReader csv(in);
  std::vector<std::string> header, row;
  if (!csv.Next(header)) return run.Finish();
  static const std::set<std::string> kFields = {"event_id", "user_id", "type",     "product_id",
                                                "category", "price",   "quantity", "ts"};
  for (const auto& name : header)
    if (!kFields.contains(name) && !name.starts_with("properties."))
      return Fail(Error::InvalidArgument(
          fmt::format("line 1: unknown column '{}' (event fields, or properties.NAME for extra data)", name)));
  while (csv.Next(row)) {
    run.Line(csv.line());
    if (row.size() == 1 && row[0].empty()) continue;
    if (row.size() != header.size()) {
      run.Reject(csv.line(), fmt::format("{} fields where the header has {}", row.size(), header.size()));
      continue;
    }
    domain::Event e;
    e.ts_micros = ToMicros(Clock::now());
    nlohmann::json properties = nlohmann::json::object();
    std::optional<std::string> problem;
    for (std::size_t i = 0; i < header.size() && !problem; ++i) {
      const std::string& name = header[i];
      const std::string& value = row[i];
      if (value.empty()) continue;
      if (name == "event_id") e.event_id = value;
      else if (name == "user_id") e.user_id = value;
      else if (name == "type") e.type = value;
      else if (name == "product_id") e.product_id = value;
      else if (name == "category") e.category = value;
      else if (name == "price") {
        double price = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), price);
        if (ec != std::errc{} || end != value.data() + value.size()) problem = "field 'price' must be a number";
        e.price = price;
      } else if (name == "quantity") {
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), e.quantity);
        if (ec != std::errc{} || end != value.data() + value.size()) problem = "field 'quantity' must be an integer";
      } else if (name == "ts") {
        auto t = ParseRfc3339(value);
        if (!t) problem = fmt::format("field 'ts' must be an RFC 3339 time (got '{}')", value);
        else e.ts_micros = ToMicros(*t);
      } else {
        properties[name.substr(std::string_view("properties.").size())] = value;
      }
    }
    if (!problem) {
      e.properties = properties.dump();
      if (auto valid = api::ValidateAndComplete(e); !valid) problem = valid.error().client_message;
    }
    if (problem) {
      run.Reject(csv.line(), *problem);
      continue;
    }
    if (auto r = run.Add(std::move(e)); !r) return Fail(r.error());
  }
  if (auto r = run.Flush(); !r) return Fail(r.error());
  return run.Finish();
}

// --- Online Retail ---------------------------------------------------------------------------------------

// The country names of the UCI Online Retail data set, as ISO 3166-1 alpha-2 codes. Names that are not
// countries get user-assigned codes (XC, EU) or ZZ.
const std::map<std::string, std::pair<std::string, std::string>, std::less<>>& RetailCountries() {
  static const std::map<std::string, std::pair<std::string, std::string>, std::less<>> countries = {
      {"Australia", {"AU", "Australia"}}, {"Austria", {"AT", "Austria"}}, {"Bahrain", {"BH", "Bahrain"}},
      {"Belgium", {"BE", "Belgium"}}, {"Brazil", {"BR", "Brazil"}}, {"Canada", {"CA", "Canada"}},
      {"Channel Islands", {"XC", "Channel Islands"}}, {"Cyprus", {"CY", "Cyprus"}},
      {"Czech Republic", {"CZ", "Czechia"}}, {"Denmark", {"DK", "Denmark"}}, {"EIRE", {"IE", "Ireland"}},
      {"European Community", {"EU", "European Community"}}, {"Finland", {"FI", "Finland"}},
      {"France", {"FR", "France"}}, {"Germany", {"DE", "Germany"}}, {"Greece", {"GR", "Greece"}},
      {"Hong Kong", {"HK", "Hong Kong"}}, {"Iceland", {"IS", "Iceland"}}, {"Israel", {"IL", "Israel"}},
      {"Italy", {"IT", "Italy"}}, {"Japan", {"JP", "Japan"}}, {"Lebanon", {"LB", "Lebanon"}},
      {"Lithuania", {"LT", "Lithuania"}}, {"Malta", {"MT", "Malta"}}, {"Netherlands", {"NL", "Netherlands"}},
      {"Norway", {"NO", "Norway"}}, {"Poland", {"PL", "Poland"}}, {"Portugal", {"PT", "Portugal"}},
      {"RSA", {"ZA", "South Africa"}}, {"Saudi Arabia", {"SA", "Saudi Arabia"}},
      {"Singapore", {"SG", "Singapore"}}, {"Spain", {"ES", "Spain"}}, {"Sweden", {"SE", "Sweden"}},
      {"Switzerland", {"CH", "Switzerland"}}, {"USA", {"US", "United States"}},
      {"United Arab Emirates", {"AE", "United Arab Emirates"}}, {"United Kingdom", {"GB", "United Kingdom"}},
      {"Unspecified", {"ZZ", "Unspecified"}},
  };
  return countries;
}

// "12/1/2010 8:26" (the original spreadsheet export) or "2010-12-01 08:26:00"; read as UTC.
std::optional<std::int64_t> ParseRetailDate(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep1 = 0, sep2 = 0;
  std::string buf(text);
  if (std::sscanf(buf.c_str(), "%d%c%d%c%d %d:%d:%d", &y, &sep1, &mo, &sep2, &d, &h, &mi, &s) >= 7 && sep1 == '-' &&
      sep2 == '-') {
  } else if (std::sscanf(buf.c_str(), "%d/%d/%d %d:%d", &mo, &d, &y, &h, &mi) == 5) {
    s = 0;
  } else {
    return std::nullopt;
  }
  auto t = ParseRfc3339(fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, mo, d, h, mi, s));
  if (!t) return std::nullopt;
  return ToMicros(*t);
}

// Stock codes become product ids: characters outside [A-Za-z0-9_.:-] are replaced by '_'.
std::string ProductIdFor(std::string_view stock_code) {
  std::string id(stock_code.substr(0, domain::kMaxIdLength));
  for (char& c : id)
    if (!domain::IsValidId(std::string_view(&c, 1))) c = '_';
  return id;
}

}  // namespace

int RunImportEvents(Stores& stores, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(Error::InvalidArgument(fmt::format("cannot read '{}'", path)));
  ImportRun run(stores, "import events");
  return LooksLikeNdjson(path, in) ? ImportNdjson(run, in) : ImportCsv(run, in);
}

int RunImportRetail(Stores& stores, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(Error::InvalidArgument(fmt::format("cannot read '{}'", path)));
  CsvReader csv(in);
  std::vector<std::string> header, row;
  static const std::vector<std::string> kColumns = {"InvoiceNo", "StockCode", "Description", "Quantity",
                                                    "InvoiceDate", "UnitPrice", "CustomerID", "Country"};
  if (!csv.Next(header) || header != kColumns)
    return Fail(Error::InvalidArgument(
        "the header must be InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"));
  ImportRun run(stores, "import retail");
  std::unordered_map<std::string, domain::Product> products;
  std::map<std::string, std::string> customers;  // CustomerID -> country name
  std::size_t no_customer = 0;
  while (csv.Next(row)) {
    run.Line(csv.line());
    if (row.size() == 1 && row[0].empty()) continue;
    if (row.size() != kColumns.size()) {
      run.Reject(csv.line(), fmt::format("{} fields where the header has 8", row.size()));
      continue;
    }
    const std::string& invoice = row[0];
    std::string customer = row[6];
    if (customer.ends_with(".0")) customer.resize(customer.size() - 2);
    if (customer.empty()) {
      ++no_customer;
      run.Skip();
      continue;
    }
    long long quantity = 0;
    double price = 0;
    auto q = std::from_chars(row[3].data(), row[3].data() + row[3].size(), quantity);
    auto p = std::from_chars(row[5].data(), row[5].data() + row[5].size(), price);
    auto ts = ParseRetailDate(row[4]);
    if (q.ec != std::errc{} || p.ec != std::errc{} || !ts || quantity == 0 || price < 0) {
      run.Reject(csv.line(), "Quantity, UnitPrice or InvoiceDate is not usable");
      continue;
    }
    domain::Event e;
    e.event_id = fmt::format("retail:{}:{}", ProductIdFor(invoice), csv.line());
    e.user_id = customer;
    e.type = (invoice.starts_with("C") || quantity < 0) ? std::string(domain::kReturn) : std::string(domain::kPurchase);
    e.product_id = ProductIdFor(row[1]);
    e.price = price;
    e.quantity = quantity < 0 ? -quantity : quantity;
    e.ts_micros = *ts;
    e.properties = nlohmann::json{{"invoice", invoice}}.dump();
    if (auto valid = api::ValidateAndComplete(e); !valid) {
      run.Reject(csv.line(), valid.error().client_message);
      continue;
    }
    if (!row[2].empty()) products[*e.product_id] = {*e.product_id, row[2], "uncategorized", price};
    customers.emplace(customer, row[7]);
    if (auto r = run.Add(std::move(e)); !r) return Fail(r.error());
  }
  if (auto r = run.Drain(); !r) return Fail(r.error());

  std::vector<domain::Product> product_list;
  for (auto& [id, product] : products) product_list.push_back(std::move(product));
  if (auto r = stores.relational->UpsertProducts(product_list); !r) return Fail(r.error());

  std::vector<std::string> ids;
  for (const auto& [id, country] : customers) ids.push_back(id);
  auto existing = stores.relational->ExistingUserIds(ids);
  if (!existing) return Fail(existing.error());
  const std::set<std::string> known(existing->begin(), existing->end());
  std::vector<domain::User> users;
  std::size_t created = 0;
  for (const auto& [id, country_name] : customers) {
    if (known.contains(id)) continue;
    auto it = RetailCountries().find(country_name);
    const auto& [code, name] = it != RetailCountries().end() ? it->second : RetailCountries().at("Unspecified");
    domain::User u;
    u.id = id;
    u.name = "Customer " + id;
    u.email = fmt::format("customer-{}@retail.invalid", id);
    u.address = {"(unknown)", "(unknown)", "(unknown)", code, name};
    users.push_back(std::move(u));
    if (users.size() >= kBatch) {
      if (auto r = stores.relational->CreateUsers(users); !r) return Fail(r.error());
      created += users.size();
      users.clear();
    }
  }
  if (auto r = stores.relational->CreateUsers(users); !r) return Fail(r.error());
  created += users.size();
  return run.Finish(fmt::format("; {} lines without CustomerID skipped; {} products upserted; {} users created",
                                no_customer, product_list.size(), created));
}

}  // namespace cohort::app
