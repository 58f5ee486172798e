// Time for the proxier's sync loop, injected so that tests drive it by advancing
// a fake clock instead of sleeping (design.md, point 3). The real one runs
// timers on an Asio io_context; FakeTimeSource (fake_time_source.h) fires them
// when a test advances time.
//
//   AsioTimeSource time(io);                      // or FakeTimeSource time;
//   std::unique_ptr<Timer> t = time.createTimer([] { sync(); });
//   t->enableAt(time.now() + std::chrono::seconds(1));
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace kubenode::netfilter {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// A one-shot timer. Thread-safety: use it on the thread (or strand) that runs
// its time source's callbacks.
class Timer {
 public:
  virtual ~Timer() = default;
  // (Re)arms the timer; the callback runs once, at or after `when`.
  virtual void enableAt(SteadyTime when) = 0;
  virtual void disable() = 0;
  virtual bool enabled() const = 0;
};

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual SteadyTime now() const = 0;
  // Wall-clock time, for "last successful sync" metrics.
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
  // The callback never runs after the timer is destroyed.
  virtual std::unique_ptr<Timer> createTimer(std::function<void()> callback) = 0;
};

// Timers on an Asio io_context (callbacks run on the threads running it).
class AsioTimeSource : public TimeSource {
 public:
  explicit AsioTimeSource(boost::asio::io_context& io) : io_(io) {}
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
  std::unique_ptr<Timer> createTimer(std::function<void()> callback) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace kubenode::netfilter
