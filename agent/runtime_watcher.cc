#include "agent/runtime_watcher.h"

#include <spdlog/spdlog.h>

#include <set>

#include "agent/pods/labels.h"

namespace kubenode::agent {

namespace {
std::string uidOf(const google::protobuf::Map<std::string, std::string>& labels) {
  auto it = labels.find(std::string(pods::kPodUidLabel));
  return it == labels.end() ? std::string() : it->second;
}
}  // namespace

std::map<std::string, std::string> podFingerprints(const pods::RuntimeSnapshot& snapshot) {
  // Listings come in the runtime's order; sort each pod's entries so order is no change.
  std::map<std::string, std::set<std::string>> entries;
  for (const cri::v1::PodSandbox& s : snapshot.sandboxes) {
    std::string uid = uidOf(s.labels());
    if (!uid.empty())
      entries[uid].insert("s" + s.id() + ":" + std::to_string(s.state()));
  }
  for (const cri::v1::Container& c : snapshot.containers) {
    std::string uid = uidOf(c.labels());
    if (!uid.empty())
      entries[uid].insert("c" + c.id() + ":" + std::to_string(c.state()));
  }
  std::map<std::string, std::string> out;
  for (const auto& [uid, set] : entries) {
    std::string fp;
    for (const std::string& e : set)
      fp += e + ";";
    out[uid] = std::move(fp);
  }
  return out;
}

std::vector<std::string> changedPods(const std::map<std::string, std::string>& before,
                                     const std::map<std::string, std::string>& after) {
  std::vector<std::string> out;
  for (const auto& [uid, fp] : after) {
    auto it = before.find(uid);
    if (it == before.end() || it->second != fp)
      out.push_back(uid);
  }
  for (const auto& [uid, fp] : before) {
    if (!after.contains(uid))
      out.push_back(uid);
  }
  return out;
}

RuntimeWatcher::RuntimeWatcher(PodRuntimeReader& reader, absl::Duration period, Callback callback)
    : reader_(reader), period_(period), callback_(std::move(callback)) {}

RuntimeWatcher::~RuntimeWatcher() {
  stop();
}

void RuntimeWatcher::start() {
  thread_ = std::thread([this] { run(); });
}

void RuntimeWatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void RuntimeWatcher::poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void RuntimeWatcher::run() {
  std::map<std::string, std::string> last;
  bool failing = false;
  while (true) {
    absl::StatusOr<pods::RuntimeSnapshot> snap = reader_.relist();
    if (snap.ok()) {
      if (failing)
        spdlog::info("runtime watcher: relisting works again");
      failing = false;
      std::map<std::string, std::string> now = podFingerprints(*snap);
      std::vector<std::string> changed = changedPods(last, now);
      last = std::move(now);
      callback_(changed, *snap);
    } else if (!failing) {
      // Said once per outage; the health monitor reports the runtime's state.
      spdlog::warn("runtime watcher: relist failed: {}", std::string(snap.status().message()));
      failing = true;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(period_), [this] { return stopping_ || poked_; });
    if (stopping_)
      return;
    poked_ = false;
  }
}

}  // namespace kubenode::agent
