#pragma once
// SingleFlight: at most one computation per key at a time in this process. The first caller for a key runs
// the function; callers that arrive while it runs wait and get a copy of its result, errors included (an
// exception thrown by the function is rethrown in every waiter). Once it finishes, the next caller starts
// afresh: results are not kept here. Thread-safe.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/string_map.hpp"

namespace cohort::cache {

template <typename T>
class SingleFlight {
 public:
  // `shared`, when given, is set to whether this call waited for another caller's computation.
  T Run(std::string_view key, const std::function<T()>& compute, bool* shared = nullptr) {
    std::unique_lock lock(mutex_);
    if (const auto found = flights_.find(key); found != flights_.end()) {
      std::shared_future<T> result = found->second;
      lock.unlock();
      ++waits_;
      if (shared != nullptr) *shared = true;
      return result.get();
    }
    std::promise<T> promise;
    std::string owned_key(key);
    flights_.emplace(owned_key, promise.get_future().share());
    lock.unlock();
    if (shared != nullptr) *shared = false;
    try {
      T result = compute();
      Finish(owned_key);
      promise.set_value(result);
      return result;
    } catch (...) {
      Finish(owned_key);
      promise.set_exception(std::current_exception());
      throw;
    }
  }

  std::uint64_t waits() const { return waits_.load(); }

 private:
  using FlightMap = StringMap<std::shared_future<T>>;

  // Removed before the result is published: a caller arriving after this starts a new computation rather than
  // taking a result that may predate what it has just written or invalidated.
  void Finish(const std::string& key) {
    std::lock_guard lock(mutex_);
    flights_.erase(key);
  }

  std::mutex mutex_;
  FlightMap flights_;
  std::atomic<std::uint64_t> waits_{0};
};

}  // namespace cohort::cache
