#pragma once
// One service of scripts/test-services.sh (mongo, rabbitmq, ...) started for one test alone: in a services
// folder of its own and from a free port, so that the test may stop, freeze or restart it without touching
// the shared instances that other tests use. Stopped, and its folder removed, on destruction.

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "integration/cache/redis_test_client.hpp"
#include "integration/server_harness.hpp"

#ifndef COHORT_SOURCE_DIR
#error "COHORT_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

namespace cohort::testing {

class PrivateService {
 public:
  // `port_variable` is the script's variable for the service's first port (COHORT_TEST_MONGO_PORT, ...).
  PrivateService(std::string service, std::string_view port_variable)
      : service_(std::move(service)),
        prefix_(fmt::format("env COHORT_TEST_SERVICES_DIR={}/services {}={} {}/scripts/test-services.sh",
                            dir_.path(), port_variable, FreePort(), COHORT_SOURCE_DIR)) {
    running_ = Script("start " + service_);
  }
  ~PrivateService() {
    if (running_) Script("stop " + service_);
  }
  PrivateService(const PrivateService&) = delete;
  PrivateService& operator=(const PrivateService&) = delete;

  // Whether `start` succeeded; Log() says why not.
  bool running() const { return running_; }

  // Runs `scripts/test-services.sh <arguments>` against this instance; true when it exits with status 0.
  bool Script(const std::string& arguments) const {
    return std::system(fmt::format("{} {} >>{} 2>&1 </dev/null", prefix_, arguments, LogPath()).c_str()) == 0;
  }

  // The value that the service's `env` output exports as `variable` (COHORT_TEST_MONGO_URL, ...); empty when
  // it exports no such variable.
  std::string Env(std::string_view variable) const {
    std::string output;
    if (FILE* pipe = ::popen(fmt::format("{} env {} 2>>{}", prefix_, service_, LogPath()).c_str(), "r")) {
      char buffer[512];
      while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
      ::pclose(pipe);
    }
    const std::string start = fmt::format("export {}='", variable);
    const auto at = output.find(start);
    if (at == std::string::npos) return {};
    const auto begin = at + start.size();
    return output.substr(begin, output.find('\'', begin) - begin);
  }

  // The pid in the service's pid file (`file` inside its folder, e.g. "mongo/pid"); -1 when there is none.
  pid_t Pid(std::string_view file) const {
    std::ifstream in(fmt::format("{}/services/{}", dir_.path(), file));
    long pid = -1;
    return in >> pid && pid > 0 ? static_cast<pid_t>(pid) : -1;
  }

  // What the script printed so far.
  std::string Log() const {
    std::ifstream in(LogPath());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string LogPath() const { return dir_.path() + "/script.log"; }

  TempDir dir_;
  std::string service_;
  std::string prefix_;
  bool running_ = false;
};

// Whether `program` is on the PATH.
inline bool OnPath(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace cohort::testing
