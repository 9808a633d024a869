#pragma once
// Helpers for the tests that drive messaging through the real binary: request bodies, fast messaging
// settings, reading the SQLite database of a data folder, the admin view of one queue, and `cohort worker` as
// a child.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "integration/queue/queue_backends.hpp"
#include "integration/server_harness.hpp"
#include "store/sql/database.hpp"

namespace cohort::testing {

using nlohmann::json;

inline json UserBody(const std::string& id) {
  return {{"id", id},
          {"name", "Name " + id},
          {"email", id + "@example.com"},
          {"address",
           {{"street", "1 Main St"},
            {"postal_code", "01001"},
            {"city", "Kyiv"},
            {"country", "UA"},
            {"country_name", "Ukraine"}}}};
}

// Settings that make retries and the relay quick enough for a test.
inline NameValues FastMessaging(NameValues extra = {}) {
  NameValues env = {{"COHORT_QUEUE_BACKOFF_MS", "30"},
                    {"COHORT_QUEUE_BACKOFF_MAX_MS", "200"},
                    {"COHORT_QUEUE_RELAY_INTERVAL_MS", "20"},
                    {"COHORT_QUEUE_VISIBILITY_TIMEOUT_MS", "1000"},
                    {"COHORT_POSTGRES_URL", ""},
                    {"COHORT_AMQP_URL", ""},
                    {"COHORT_WEBHOOK_URL", ""}};
  for (auto& e : extra) env.push_back(std::move(e));
  return env;
}

// The rows of a query on the SQLite database of a data folder.
inline store::sql::Rows QueryRows(const std::string& data_dir, const std::string& sql) {
  auto db = store::sql::OpenSqlite(data_dir + "/cohort.db", 1);
  if (!db) throw std::runtime_error(db.error().internal_message);
  auto lease = (*db)->Acquire();
  if (!lease) throw std::runtime_error(lease.error().internal_message);
  auto rows = (*lease)->Execute(sql);
  if (!rows) throw std::runtime_error(rows.error().internal_message);
  return std::move(rows).value();
}

// One integer from the SQLite database of a data folder.
inline std::int64_t QueryInt(const std::string& data_dir, const std::string& sql) {
  return QueryRows(data_dir, sql).Int(0, 0);
}

inline json QueueEntry(ServerProcess& server, std::string_view name) {
  const json body = server.Get("/api/admin/queues").Json();
  for (const auto& q : body["queues"])
    if (q["queue"] == name) return q;
  return json();
}

inline std::set<std::string> UserIdsOf(const std::vector<std::string>& bodies) {
  std::set<std::string> ids;
  for (const auto& b : bodies) ids.insert(json::parse(b)["user_id"].get<std::string>());
  return ids;
}

// `cohort worker` as a child process, stopped with SIGTERM.
class WorkerProcess {
 public:
  WorkerProcess(const std::string& data_dir, const NameValues& env) : log_(dir_.path() + "/worker.log") {
    // As ServerProcess does: `env` overrides the current environment in order; an empty value unsets.
    std::map<std::string, std::string> variables;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry(*e);
      const auto eq = entry.find('=');
      if (eq != std::string::npos) variables[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [name, value] : env) {
      if (value.empty()) {
        variables.erase(name);
      } else {
        variables[name] = value;
      }
    }
    std::vector<std::string> env_strings;
    for (const auto& [name, value] : variables) env_strings.push_back(name + "=" + value);
    std::vector<std::string> args = {COHORT_BINARY, "worker", "--data-dir", data_dir};
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(fd);
  }
  ~WorkerProcess() {
    if (pid_ > 0) Stop();
  }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  int Stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  TempDir dir_;
  std::string log_;
  pid_t pid_ = -1;
};

}  // namespace cohort::testing
