#include "agent/pods/backoff.h"

#include <algorithm>

#include <fmt/format.h>

namespace kubenode::agent::pods {

BackOff::BackOff(absl::Duration initial, absl::Duration max) : initial_(initial), max_(max) {}

void BackOff::next(std::string_view key, absl::Time eventTime, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end() || stale(it->second, eventTime)) {
    entries_.insert_or_assign(std::string(key), Entry{initial_, now});
    return;
  }
  it->second.delay = std::min(it->second.delay * 2, max_);
  it->second.lastUpdate = now;
}

absl::Duration BackOff::get(std::string_view key) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::string(key));
  return it == entries_.end() ? absl::ZeroDuration() : it->second.delay;
}

bool BackOff::isInBackOff(std::string_view key, absl::Time now) const {
  return remaining(key, now) > absl::ZeroDuration();
}

absl::Duration BackOff::remaining(std::string_view key, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end())
    return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), it->second.lastUpdate + it->second.delay - now);
}

bool BackOff::isInBackOffSince(std::string_view key, absl::Time eventTime, absl::Time now) const {
  return remainingSince(key, eventTime, now) > absl::ZeroDuration();
}

absl::Duration BackOff::remainingSince(std::string_view key, absl::Time eventTime,
                                       absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end() || stale(it->second, eventTime))
    return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), eventTime + it->second.delay - now);
}

void BackOff::reset(std::string_view key) {
  absl::MutexLock lock(&mu_);
  entries_.erase(std::string(key));
}

size_t BackOff::gc(absl::Time now) {
  absl::MutexLock lock(&mu_);
  size_t removed = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now - it->second.lastUpdate > 2 * max_) {
      entries_.erase(it++);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

size_t BackOff::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

std::string containerBackOffKey(const api::Pod& pod, const api::Container& container,
                                uint64_t specHash) {
  return fmt::format("{}_{}_{}_{}_{:x}", pod.metadata.name, pod.metadata.namespace_,
                     pod.metadata.uid, container.name, specHash);
}

std::string imagePullBackOffKey(const api::Pod& pod, const api::Container& container) {
  return fmt::format("{}_{}", pod.metadata.uid, container.image);
}

}  // namespace kubenode::agent::pods
