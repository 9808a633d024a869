#include "integration/server_harness.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#ifndef COHORT_BINARY
#error "COHORT_BINARY must name the cohort binary (tests/CMakeLists.txt defines it)"
#endif

namespace cohort::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr long kRequestTimeoutMs = 30'000;
constexpr int kStopTimeoutMs = 30'000;
constexpr int kDestructorStopTimeoutMs = 10'000;
constexpr auto kRawReadWindow = std::chrono::seconds(2);
constexpr auto kCommandTimeout = std::chrono::minutes(5);
constexpr std::size_t kLogTailInErrors = 4096;
constexpr std::size_t kLogTailOnFailure = 64 * 1024;

std::runtime_error SystemError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// Closes a file descriptor on scope exit.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string DescribeStatus(int status) {
  if (status > 128) return "was killed by signal " + std::to_string(status - 128);
  return "exited with status " + std::to_string(status);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string Tail(const std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  return "[... " + std::to_string(text.size() - max_bytes) + " bytes cut ...]\n" + text.substr(text.size() - max_bytes);
}

std::string ToLower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// The current environment with `overrides` applied; an empty value removes the variable.
std::vector<std::string> BuildEnvironment(const NameValues& overrides) {
  std::vector<std::string> result;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    std::string_view name = text.substr(0, text.find('='));
    bool overridden = std::any_of(overrides.begin(), overrides.end(),
                                  [&](const auto& name_value) { return name_value.first == name; });
    if (!overridden) result.emplace_back(text);
  }
  for (const auto& [name, value] : overrides) {
    if (!value.empty()) result.push_back(name + "=" + value);
  }
  return result;
}

std::vector<char*> CStringArray(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

void CloseDescriptorsFrom(int first) {
  if (::close_range(static_cast<unsigned>(first), ~0U, 0) == 0) return;
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = first; fd < max_fd; ++fd) ::close(fd);
}

// Starts COHORT_BINARY with `args`: stdin from /dev/null, stdout and stderr into output_fd, no other descriptor
// inherited, and `death_signal` delivered to it should this process die first. Returns its pid.
pid_t SpawnCohort(const std::vector<std::string>& args, const NameValues& env, int output_fd, int death_signal) {
  const std::string binary = COHORT_BINARY;
  if (::access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error("the cohort binary is missing or not executable: " + binary +
                             " (build it first: cmake --build --preset dev)");
  }
  std::vector<std::string> argv_strings{binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = BuildEnvironment(env);
  std::vector<char*> argv = CStringArray(argv_strings);
  std::vector<char*> envp = CStringArray(env_strings);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw SystemError("fork");
  if (pid == 0) {
    // Only async-signal-safe calls from here to execve: the parent may have threads.
    ::prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(death_signal));
    if (::getppid() != parent) ::_exit(127);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(output_fd, STDOUT_FILENO) < 0 ||
        ::dup2(output_fd, STDERR_FILENO) < 0) {
      ::_exit(127);
    }
    CloseDescriptorsFrom(3);
    ::execve(argv[0], argv.data(), envp.data());
    constexpr char kMessage[] = "server_harness: execve of the cohort binary failed\n";
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(127);
  }
  return pid;
}

std::once_flag curl_init_once;

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t RecordHeader(char* data, size_t size, size_t count, void* user) {
  auto& headers = *static_cast<std::map<std::string, std::string>*>(user);
  const std::string_view line = Trim(std::string_view(data, size * count));
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();  // a new response begins (after 100 Continue, say)
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    const std::string name = ToLower(Trim(line.substr(0, colon)));
    const std::string_view value = Trim(line.substr(colon + 1));
    auto [it, inserted] = headers.try_emplace(name, value);
    if (!inserted) it->second.append(", ").append(value);
  }
  return size * count;
}

struct CurlListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct PgConnDeleter {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using PgConnection = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

PgConnection ConnectPostgres(const std::string& url) {
  // Later key words override what the expanded URL sets.
  const std::array<const char*, 4> keys{"dbname", "connect_timeout", "application_name", nullptr};
  const std::array<const char*, 4> values{url.c_str(), "10", "cohort_integration_tests", nullptr};
  PgConnection connection(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!connection) throw std::runtime_error("libpq could not allocate a connection");
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to PostgreSQL at " + url + ": " + PQerrorMessage(connection.get()));
  }
  PQsetNoticeProcessor(connection.get(), [](void*, const char*) {}, nullptr);  // DROP ... CASCADE notices
  return connection;
}

PgResult ExecPostgres(PGconn* connection, const std::string& sql, const std::vector<std::string>& params = {}) {
  std::vector<const char*> param_values;
  for (const auto& p : params) param_values.push_back(p.c_str());
  PgResult result(PQexecParams(connection, sql.c_str(), static_cast<int>(param_values.size()), nullptr,
                               param_values.data(), nullptr, nullptr, 0));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("PostgreSQL: `" + sql + "` failed: " + PQerrorMessage(connection));
  }
  return result;
}

std::string UniqueSchemaName() {
  static unsigned counter = 0;
  std::random_device random;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", random());
  return "cohort_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" + suffix;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

std::string MakeTempDir() {
  std::string path = "/tmp/cohort-test-XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) throw SystemError("mkdtemp " + path);
  return path;
}

TempDir::TempDir() : path_(MakeTempDir()) {}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    TempDir old(std::move(*this));
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

nlohmann::json HttpResult::Json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("response body (HTTP " + std::to_string(status) + ") is not JSON: " + e.what() +
                             "\nbody: " + Tail(body, kLogTailInErrors));
  }
}

// ---------------------------------------------------------------------------------------------------------------

void ServerProcess::CurlDeleter::operator()(void* handle) const { curl_easy_cleanup(static_cast<CURL*>(handle)); }

ServerProcess::ServerProcess() : ServerProcess(Options{}) {}

ServerProcess::ServerProcess(Options options)
    : data_dir_(options.data_dir),
      log_path_(work_dir_.path() + "/server.log"),
      port_file_(work_dir_.path() + "/port") {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_.reset(curl_easy_init());
  if (!curl_) throw std::runtime_error("curl_easy_init failed");

  if (data_dir_.empty()) {
    data_dir_ = work_dir_.path() + "/data";
    std::filesystem::create_directories(data_dir_);
  }
  std::vector<std::string> args{"serve", "--port", "0", "--port-file", port_file_, "--data-dir", data_dir_};
  args.insert(args.end(), options.args.begin(), options.args.end());

  {
    const FdGuard log_fd(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
    if (log_fd.get() < 0) throw SystemError("open " + log_path_);
    pid_ = SpawnCohort(args, options.env, log_fd.get(), SIGTERM);
  }
  try {
    WaitUntilHealthy();
  } catch (...) {
    Kill();
    throw;
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (WaitForExit(kDestructorStopTimeoutMs) < 0) Kill();
  }
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- cohort serve log (" << log_path_ << ") ----\n"
              << Tail(Log(), kLogTailOnFailure) << "---- end of cohort serve log ----\n";
  }
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return exit_status_;
  ::kill(pid_, SIGTERM);
  if (WaitForExit(kStopTimeoutMs) < 0) {
    ADD_FAILURE() << "cohort serve did not stop within " << kStopTimeoutMs / 1000 << " s of SIGTERM; killing it";
    Kill();
  }
  return exit_status_;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  WaitForExit(-1);
}

bool ServerProcess::Running() { return pid_ > 0 && WaitForExit(0) < 0; }

int ServerProcess::WaitForExit(int timeout_ms) {
  const auto deadline = Clock::now() + milliseconds(timeout_ms);
  while (pid_ > 0) {
    int status = 0;
    const pid_t result = ::waitpid(pid_, &status, timeout_ms < 0 ? 0 : WNOHANG);
    if (result == pid_) {
      exit_status_ = DecodeWaitStatus(status);
      pid_ = -1;
    } else if (result < 0 && errno != EINTR) {
      pid_ = -1;  // not our child any more (ECHILD): nothing left to wait for
    } else if (result == 0) {
      if (Clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  return exit_status_;
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

std::string ServerProcess::LogTail(std::size_t max_bytes) const { return Tail(Log(), max_bytes); }

void ServerProcess::WaitUntilHealthy() {
  const auto deadline = Clock::now() + kStartTimeout;
  auto fail = [&](const std::string& why) {
    return std::runtime_error("cohort serve " + why + "\n---- cohort serve log ----\n" + LogTail(kLogTailOnFailure) +
                              "---- end of cohort serve log ----");
  };

  while (port_ == 0) {
    if (WaitForExit(0) >= 0) throw fail(DescribeStatus(exit_status_) + " before writing its port file");
    const std::string text(Trim(ReadFile(port_file_)));
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!text.empty() && error == std::errc() && end == text.data() + text.size() && value > 0 && value < 65536) {
      port_ = static_cast<std::uint16_t>(value);
      break;
    }
    if (Clock::now() >= deadline) throw fail("wrote no port file (" + port_file_ + ") within 30 s");
    std::this_thread::sleep_for(milliseconds(20));
  }

  std::string last_answer;
  while (true) {
    if (WaitForExit(0) >= 0) throw fail(DescribeStatus(exit_status_) + " before GET /healthz answered 200");
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    std::string error;
    if (auto result = Perform("GET", "/healthz", {}, {}, std::max<long>(remaining, 1000), &error)) {
      if (result->status == 200) return;
      last_answer = "HTTP " + std::to_string(result->status) + ": " + result->body;
    } else {
      last_answer = error;
    }
    if (Clock::now() >= deadline) {
      throw fail("did not answer GET /healthz with 200 within 30 s (last answer: " + last_answer + ")");
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

std::optional<HttpResult> ServerProcess::Perform(std::string_view method, std::string_view path,
                                                 std::string_view body, const NameValues& headers, long timeout_ms,
                                                 std::string* error) {
  CURL* curl = static_cast<CURL*>(curl_.get());
  curl_easy_reset(curl);  // keeps the live connection

  HttpResult result;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  const std::string url = "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  const std::string method_text(method);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10'000L));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer.data());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &RecordHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);

  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  }
  // POST, PUT and PATCH always carry a body (Content-Length: 0 when empty), other methods only when one is given.
  const bool sends_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (sends_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
  }

  bool has_content_type = false;
  bool has_expect = false;
  std::unique_ptr<curl_slist, CurlListDeleter> list;
  auto append = [&list](const std::string& line) {
    curl_slist* extended = curl_slist_append(list.get(), line.c_str());
    if (extended == nullptr) throw std::bad_alloc();
    static_cast<void>(list.release());  // `extended` starts with the same nodes
    list.reset(extended);
  };
  for (const auto& [name, value] : headers) {
    const std::string lower = ToLower(name);
    has_content_type = has_content_type || lower == "content-type";
    has_expect = has_expect || lower == "expect";
    append(value.empty() ? name + ";" : name + ": " + value);  // "Name;" is curl's way to send an empty value
  }
  if (sends_body && !has_content_type) {
    // An empty "Content-Type:" stops curl from adding application/x-www-form-urlencoded.
    append(body.empty() ? "Content-Type:" : "Content-Type: application/json");
  }
  if (!has_expect) append("Expect:");  // no 100-continue round trip for large bodies
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list.get());

  const CURLcode code = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (code != CURLE_OK) {
    if (error != nullptr) {
      *error = std::string(curl_easy_strerror(code)) + (error_buffer[0] != '\0' ? ": " : "") + error_buffer.data();
    }
    return std::nullopt;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

HttpResult ServerProcess::Request(std::string_view method, std::string_view path, std::string_view body,
                                  NameValues headers) {
  std::string error;
  if (auto result = Perform(method, path, body, headers, kRequestTimeoutMs, &error)) return std::move(*result);
  throw std::runtime_error(std::string(method) + " " + std::string(path) + " got no HTTP response: " + error +
                           (Running() ? "" : " (the server is not running)") + "\n---- tail of cohort serve log ----\n" +
                           LogTail(kLogTailInErrors) + "---- end of cohort serve log ----");
}

HttpResult ServerProcess::Get(std::string_view path, NameValues headers) {
  return Request("GET", path, {}, std::move(headers));
}

HttpResult ServerProcess::Post(std::string_view path, std::string_view body, NameValues headers) {
  return Request("POST", path, body, std::move(headers));
}

HttpResult ServerProcess::Patch(std::string_view path, std::string_view body, NameValues headers) {
  return Request("PATCH", path, body, std::move(headers));
}

HttpResult ServerProcess::Delete(std::string_view path, NameValues headers) {
  return Request("DELETE", path, {}, std::move(headers));
}

std::string ServerProcess::SendRaw(std::string_view bytes) {
  const FdGuard socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket_fd.get() < 0) throw SystemError("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw SystemError("connect to 127.0.0.1:" + std::to_string(port_));
  }

  while (!bytes.empty()) {
    const ssize_t sent = ::send(socket_fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) break;  // the server closed early: still read what it answered
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }

  std::string received;
  const auto deadline = Clock::now() + kRawReadWindow;
  std::array<char, 16 * 1024> buffer{};
  while (true) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (remaining <= 0) break;
    pollfd poll_fd{socket_fd.get(), POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, static_cast<int>(remaining));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    const ssize_t n = ::recv(socket_fd.get(), buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // closed, or reset
    received.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return received;
}

// ---------------------------------------------------------------------------------------------------------------

CommandResult RunCohort(std::vector<std::string> args, NameValues env) {
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) throw SystemError("pipe2");
  const FdGuard read_end(pipe_fds[0]);
  pid_t pid = 0;
  {
    const FdGuard write_end(pipe_fds[1]);
    pid = SpawnCohort(args, env, write_end.get(), SIGKILL);
  }

  CommandResult result;
  const auto deadline = Clock::now() + kCommandTimeout;
  bool timed_out = false;
  std::array<char, 16 * 1024> buffer{};
  while (true) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (remaining <= 0 && !timed_out) {
      timed_out = true;
      ::kill(pid, SIGKILL);
    }
    pollfd poll_fd{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, timed_out ? 1000 : static_cast<int>(std::min<long long>(remaining, 60'000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (ready == 0) {
      if (timed_out) break;
      continue;
    }
    const ssize_t n = ::read(read_end.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every writer has exited
    result.output.append(buffer.data(), static_cast<std::size_t>(n));
  }

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw SystemError("waitpid");
  }
  result.exit_code = DecodeWaitStatus(status);
  if (timed_out) result.output += "\n[server_harness: killed after 5 minutes]\n";
  return result;
}

std::string TestPostgresUrl() {
  const char* url = std::getenv("COHORT_TEST_POSTGRES_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "COHORT_TEST_POSTGRES_URL is not set: run the suite with `make test`";
    return {};
  }
  return url;
}

// ---------------------------------------------------------------------------------------------------------------

PostgresSchema::PostgresSchema(std::string base_url) : base_url_(std::move(base_url)), name_(UniqueSchemaName()) {
  const PgConnection connection = ConnectPostgres(base_url_);
  ExecPostgres(connection.get(), "CREATE SCHEMA " + name_);
}

PostgresSchema::~PostgresSchema() {
  try {
    const PgConnection connection = ConnectPostgres(base_url_);
    // A server still connected to the schema would block the drop: give up rather than hang the test.
    ExecPostgres(connection.get(), "SET lock_timeout = '10s'");
    ExecPostgres(connection.get(), "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  } catch (const std::exception& e) {
    std::cerr << "server_harness: could not drop schema " << name_ << ": " << e.what() << '\n';
  }
}

std::string PostgresSchema::url() const {
  const bool is_uri = base_url_.rfind("postgresql://", 0) == 0 || base_url_.rfind("postgres://", 0) == 0;
  if (!is_uri) return base_url_ + " options='-csearch_path=" + name_ + "'";  // key=value connection string
  const char separator = base_url_.find('?') == std::string::npos ? '?' : '&';
  return base_url_ + separator + "options=-csearch_path%3D" + name_;
}

std::vector<std::string> PostgresSchema::TableNames() const {
  const PgConnection connection = ConnectPostgres(base_url_);
  const PgResult result = ExecPostgres(connection.get(),
                                       "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
                                       "ORDER BY table_name",
                                       {name_});
  std::vector<std::string> names;
  for (int row = 0; row < PQntuples(result.get()); ++row) names.emplace_back(PQgetvalue(result.get(), row, 0));
  return names;
}

}  // namespace cohort::testing
