#include "netfilter/time_source.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace kubenode::netfilter {
namespace {

class AsioTimer : public Timer {
 public:
  AsioTimer(boost::asio::io_context& io, std::function<void()> callback)
      : timer_(io), callback_(std::move(callback)), alive_(std::make_shared<bool>(true)) {}
  ~AsioTimer() override {
    *alive_ = false;
    timer_.cancel();
  }
  void enableAt(SteadyTime when) override {
    timer_.expires_at(when);
    enabled_ = true;
    const uint64_t generation = ++generation_;
    // A cancelled wait may still be queued when the timer is re-armed: the
    // generation tells a stale completion from the current one, and `alive`
    // tells it whether the timer still exists.
    timer_.async_wait([this, alive = alive_, generation](const boost::system::error_code& ec) {
      if (ec || !*alive || generation != generation_)
        return;
      enabled_ = false;
      callback_();
    });
  }
  void disable() override {
    enabled_ = false;
    ++generation_;
    timer_.cancel();
  }
  bool enabled() const override { return enabled_; }

 private:
  boost::asio::steady_timer timer_;
  std::function<void()> callback_;
  std::shared_ptr<bool> alive_;
  uint64_t generation_ = 0;
  bool enabled_ = false;
};

}  // namespace

std::unique_ptr<Timer> AsioTimeSource::createTimer(std::function<void()> callback) {
  return std::make_unique<AsioTimer>(io_, std::move(callback));
}

}  // namespace kubenode::netfilter
