// The kubelet's restart back-off (client-go flowcontrol.Backoff as the kubelet uses it):
// CrashLoopBackOff between container restarts and ImagePullBackOff between image pulls.
// Each key's delay starts at 10 s and doubles on every next() up to 300 s; an entry whose
// last update is more than twice the cap (10 minutes) behind the event is stale and starts
// over, which is how "the container ran fine for 10 minutes" resets the crash loop. Time is
// passed in: nothing here reads a clock, so tests step through minutes in microseconds.
//
//   BackOff backoff;  // 10 s doubling to 300 s
//   std::string key = containerBackOffKey(pod, container, specHash);
//   if (backoff.isInBackOffSince(key, exited.finishedAt, now)) {
//     // CrashLoopBackOff: "back-off 40s restarting failed container=web pod=web_default(...)"
//     absl::Duration wait = backoff.remainingSince(key, exited.finishedAt, now);
//   } else {
//     backoff.next(key, exited.finishedAt, now);  // then start the container
//   }
//
// Thread-safety: every method is safe to call from any thread (one internal lock), so
// all pod workers share one BackOff for containers and one for image pulls, as the
// kubelet does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/pod.h"

namespace kubenode::agent::pods {

class BackOff {
 public:
  // The kubelet's values for both container restarts and image pulls.
  static constexpr absl::Duration kDefaultInitial = absl::Seconds(10);
  static constexpr absl::Duration kDefaultMax = absl::Seconds(300);

  explicit BackOff(absl::Duration initial = kDefaultInitial, absl::Duration max = kDefaultMax);

  // Records one more failure (a restart, a failed pull) at `now`: a new or stale entry
  // gets the initial delay, any other doubles up to the cap. Staleness is judged from
  // `eventTime` (for a crash loop: when the container last finished), as client-go's
  // Next(id, eventTime) does; the entry's last update becomes `now`.
  void next(std::string_view key, absl::Time eventTime, absl::Time now);
  void next(std::string_view key, absl::Time now) { next(key, now, now); }

  // The delay now in force for the key; zero when there is no entry.
  absl::Duration get(std::string_view key) const;

  // Image pulls: true while less than the delay has passed since the last next().
  bool isInBackOff(std::string_view key, absl::Time now) const;
  absl::Duration remaining(std::string_view key, absl::Time now) const;

  // Crash loops: true while less than the delay has passed since `eventTime` (the exited
  // container's finishedAt), unless the entry is stale: the container ran for more than
  // twice the cap after its last restart.
  bool isInBackOffSince(std::string_view key, absl::Time eventTime, absl::Time now) const;
  // How long until isInBackOffSince turns false; zero when it already is.
  absl::Duration remainingSince(std::string_view key, absl::Time eventTime, absl::Time now) const;

  // Forgets the key (the pod was deleted).
  void reset(std::string_view key);

  // Drops entries not updated for more than twice the cap; returns how many went.
  // The kubelet runs this periodically so deleted pods' keys do not pile up.
  size_t gc(absl::Time now);

  size_t size() const;

 private:
  struct Entry {
    absl::Duration delay;
    absl::Time lastUpdate;
  };
  bool stale(const Entry& e, absl::Time eventTime) const {
    return eventTime - e.lastUpdate > 2 * max_;
  }

  const absl::Duration initial_;
  const absl::Duration max_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// The kubelet's key for a container's crash-loop back-off (getStableKey):
// "<pod>_<namespace>_<uid>_<container>_<spec hash in hex>". The hash makes an edited
// container start without waiting out the old spec's back-off.
std::string containerBackOffKey(const api::Pod& pod, const api::Container& container,
                                uint64_t specHash);

// The kubelet's key for image pull back-off: "<pod uid>_<image>".
std::string imagePullBackOffKey(const api::Pod& pod, const api::Container& container);

}  // namespace kubenode::agent::pods
