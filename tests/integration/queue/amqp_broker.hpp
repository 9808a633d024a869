#pragma once
// The test broker that `make test` starts (scripts/test-services.sh: COHORT_TEST_AMQP_URL), and control over
// it for the tests that need it away (COHORT_TEST_RABBITMQ_CTL, which runs rabbitmqctl against that node).
// stop_app closes every client connection and the AMQP port but keeps the node, its durable queues and
// persistent messages; start_app serves again. ctest runs tests in parallel processes, so every test that
// talks to the broker holds a BrokerLock: shared normally, exclusive while it stops the broker.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

namespace cohort::testing {

// Runs `$COHORT_TEST_RABBITMQ_CTL <command>`; false when that is not set or fails.
inline bool BrokerCtl(const std::string& command) {
  const char* ctl = std::getenv("COHORT_TEST_RABBITMQ_CTL");
  if (ctl == nullptr || *ctl == '\0') return false;
  return std::system((std::string(ctl) + " " + command + " >/dev/null 2>&1").c_str()) == 0;
}
inline bool StopBroker() { return BrokerCtl("stop_app"); }
inline bool StartBroker() { return BrokerCtl("start_app") && BrokerCtl("await_startup"); }

class BrokerLock {
 public:
  explicit BrokerLock(bool exclusive) {
    // One lock per broker: named after its URL.
    const char* url = std::getenv("COHORT_TEST_AMQP_URL");
    const std::string name =
        "cohort-amqp-tests-" + std::to_string(std::hash<std::string>{}(url != nullptr ? url : "")) + ".lock";
    fd_ = ::open((std::filesystem::temp_directory_path() / name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ >= 0) ::flock(fd_, exclusive ? LOCK_EX : LOCK_SH);
  }
  ~BrokerLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  BrokerLock(const BrokerLock&) = delete;
  BrokerLock& operator=(const BrokerLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace cohort::testing
