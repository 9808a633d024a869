#pragma once
// A tiny HTTP endpoint for webhook tests: one thread accepting on 127.0.0.1 (a free port), one request per
// connection, each answered after `delay`. It answers 500 to the first `failures` requests, then 200 (or 500
// while failing_forever is set), and keeps the body of every request it answered 200.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cohort::testing {

class WebhookEndpoint {
 public:
  explicit WebhookEndpoint(int failures, std::chrono::milliseconds delay = std::chrono::milliseconds(0))
      : delay_(delay), failures_left_(failures) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    if (listener_ < 0) throw std::runtime_error("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener_, 64) != 0)
      throw std::runtime_error("bind/listen");
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~WebhookEndpoint() {
    stopping_ = true;
    thread_.join();
    close(listener_);
  }
  WebhookEndpoint(const WebhookEndpoint&) = delete;
  WebhookEndpoint& operator=(const WebhookEndpoint&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hooks/welcome"; }
  void set_failing_forever(bool failing) { failing_forever_ = failing; }
  int requests() const { return requests_.load(); }
  // Bodies of the requests answered 200.
  std::vector<std::string> accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      Answer(fd);
      close(fd);
    }
  }

  void Answer(int fd) {
    std::string request;
    char buffer[4096];
    std::size_t body_start = std::string::npos;
    std::size_t length = 0;
    while (true) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) return;
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n <= 0) return;
      request.append(buffer, static_cast<std::size_t>(n));
      if (body_start == std::string::npos) {
        const auto end = request.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        body_start = end + 4;
        std::string lower = request.substr(0, end);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto at = lower.find("content-length:");
        if (at != std::string::npos) length = std::stoul(lower.substr(at + 15));
      }
      if (request.size() >= body_start + length) break;
    }
    std::this_thread::sleep_for(delay_);
    ++requests_;
    bool fail = failing_forever_.load();
    if (!fail && failures_left_ > 0) {
      --failures_left_;
      fail = true;
    }
    if (!fail) {
      std::lock_guard lock(mutex_);
      accepted_.push_back(request.substr(body_start, length));
    }
    const std::string response =
        fail ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
             : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!write(fd, response.data(), response.size());
  }

  std::chrono::milliseconds delay_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> failing_forever_{false};
  std::atomic<int> failures_left_;
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> accepted_;
};

}  // namespace cohort::testing
