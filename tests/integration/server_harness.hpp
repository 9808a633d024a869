#pragma once
// Helpers for integration tests that talk to the real `cohort` binary (COHORT_BINARY) and to real services.
//
// ServerProcess starts `cohort serve --port 0` in a temporary directory, waits until GET /healthz answers 200
// and stops it on destruction; when the running test has failed by then, it prints the server's log to stderr.
// Nothing here is thread-safe: one test thread drives one ServerProcess.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace cohort::testing {

// Extra HTTP headers or environment variables, in order.
using NameValues = std::vector<std::pair<std::string, std::string>>;

// Creates a fresh, uniquely named directory under /tmp and returns its path.
std::string MakeTempDir();

// Owns a directory from MakeTempDir() and removes it, recursively, on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct HttpResult {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased; repeated headers joined with ", "

  // Parses the body; throws std::runtime_error naming the status and the body when it is not JSON.
  nlohmann::json Json() const;
};

class ServerProcess {
 public:
  struct Options {
    std::vector<std::string> args;  // extra arguments after `serve --port 0 --port-file F --data-dir D`
    NameValues env;                 // added to the current environment; an empty value unsets the variable
    std::string data_dir;           // a fresh directory inside the server's temporary directory when empty
  };

  ServerProcess();
  // Throws std::runtime_error, with the server's log, when the server exits or is not healthy within 30 s.
  explicit ServerProcess(Options options);
  // Stops the server if it still runs: SIGTERM, then SIGKILL after 10 s.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // SIGTERM, then waits (SIGKILL after 30 s). Returns the exit code, or 128 + signal number when a signal ended
  // the process. Once stopped, later calls return the same status.
  int Stop();
  // SIGKILL, then reaps the process.
  void Kill();
  // Whether the process still runs (reaps it when it has exited).
  bool Running();

  std::uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  // The process's stdout and stderr so far.
  std::string Log() const;

  // One keep-alive connection for all requests, 30 s timeout. A body gets `Content-Type: application/json`
  // unless `headers` names a Content-Type. A header with an empty value is sent with an empty value.
  // Throws std::runtime_error (with the tail of the server's log) when no HTTP response arrives.
  HttpResult Request(std::string_view method, std::string_view path, std::string_view body = {},
                     NameValues headers = {});
  HttpResult Get(std::string_view path, NameValues headers = {});
  HttpResult Post(std::string_view path, std::string_view body, NameValues headers = {});
  HttpResult Patch(std::string_view path, std::string_view body, NameValues headers = {});
  HttpResult Delete(std::string_view path, NameValues headers = {});

  // Raw TCP on a new connection: writes `bytes`, then reads until the server closes the connection or 2 s have
  // passed, and returns what it read.
  std::string SendRaw(std::string_view bytes);

 private:
  struct CurlDeleter {
    void operator()(void* handle) const;
  };

  // nullopt, with *error set, when no HTTP response arrived.
  std::optional<HttpResult> Perform(std::string_view method, std::string_view path, std::string_view body,
                                    const NameValues& headers, long timeout_ms, std::string* error);
  void WaitUntilHealthy();
  int WaitForExit(int timeout_ms);  // -1 when the process still runs after timeout_ms
  std::string LogTail(std::size_t max_bytes) const;

  TempDir work_dir_;  // port file, log file and (by default) the data directory
  std::string data_dir_;
  std::string log_path_;
  std::string port_file_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::uint16_t port_ = 0;
  std::unique_ptr<void, CurlDeleter> curl_;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal number when a signal ended the process
  std::string output;  // stdout and stderr, interleaved
};

// Runs `COHORT_BINARY args...` to completion (killed after 5 minutes) with the current environment plus `env`
// (an empty value unsets the variable).
CommandResult RunCohort(std::vector<std::string> args, NameValues env = {});

// The PostgreSQL URL that `make test` provides (COHORT_TEST_POSTGRES_URL). When it is not set, the calling test
// FAILS (it is never skipped) and the result is empty; the caller should then return.
std::string TestPostgresUrl();

// A fresh, uniquely named schema in the database at `base_url`, dropped (CASCADE) on destruction, so that tests
// sharing one database do not see each other's tables.
class PostgresSchema {
 public:
  // Throws std::runtime_error when the database is unreachable or the schema cannot be created.
  explicit PostgresSchema(std::string base_url);
  ~PostgresSchema();
  PostgresSchema(const PostgresSchema&) = delete;
  PostgresSchema& operator=(const PostgresSchema&) = delete;

  const std::string& name() const { return name_; }
  // base_url with `options=-csearch_path%3D<schema>`: unqualified names a server creates land in the schema.
  std::string url() const;
  // The tables in the schema, sorted; throws std::runtime_error on a database error.
  std::vector<std::string> TableNames() const;

 private:
  std::string base_url_;
  std::string name_;
};

}  // namespace cohort::testing
