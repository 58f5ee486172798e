// A TimeSource for unit tests: time stands still until the test advances it,
// and advancing fires the due timers in order, on the test's thread.
//
//   FakeTimeSource time;
//   Proxier proxier(options, writer, nullptr, time);
//   time.advance(std::chrono::seconds(1));   // runs whatever was due by then
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "netfilter/time_source.h"

namespace kubenode::netfilter {

class FakeTimeSource : public TimeSource {
 public:
  SteadyTime now() const override { return now_; }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::time_point(now_.time_since_epoch());
  }
  std::unique_ptr<Timer> createTimer(std::function<void()> callback) override {
    auto t = std::make_unique<FakeTimer>(*this, std::move(callback));
    timers_.push_back(t.get());
    return t;
  }
  // Moves time forward by `d`, firing each timer due on the way at its due time.
  void advance(Duration d) {
    const SteadyTime end = now_ + d;
    while (true) {
      FakeTimer* next = nullptr;
      for (FakeTimer* t : timers_) {
        if (t->enabled_ && t->when_ <= end && (next == nullptr || t->when_ < next->when_))
          next = t;
      }
      if (next == nullptr)
        break;
      now_ = std::max(now_, next->when_);
      next->enabled_ = false;
      next->callback_();
    }
    now_ = end;
  }
  // The earliest armed timer's due time, if any.
  std::optional<SteadyTime> nextDue() const {
    std::optional<SteadyTime> out;
    for (const FakeTimer* t : timers_) {
      if (t->enabled_ && (!out || t->when_ < *out))
        out = t->when_;
    }
    return out;
  }

 private:
  class FakeTimer : public Timer {
   public:
    FakeTimer(FakeTimeSource& source, std::function<void()> callback)
        : source_(source), callback_(std::move(callback)) {}
    ~FakeTimer() override { std::erase(source_.timers_, this); }
    void enableAt(SteadyTime when) override {
      when_ = when;
      enabled_ = true;
    }
    void disable() override { enabled_ = false; }
    bool enabled() const override { return enabled_; }

    FakeTimeSource& source_;
    std::function<void()> callback_;
    SteadyTime when_{};
    bool enabled_ = false;
  };

  SteadyTime now_{std::chrono::hours(1)};
  std::vector<FakeTimer*> timers_;
};

}  // namespace kubenode::netfilter
