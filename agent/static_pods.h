// Static pods: the files of --pod-manifest-path, decoded, defaulted and validated by
// api/, given the identity the kubelet gives a static pod, and watched for changes.
// A bad file is reported with its name and the field at fault and disturbs no other pod;
// a file that turns bad keeps its last good pod (nothing half-applied, nothing lost).
//
//   boost::asio::io_context loop;
//   StaticPodSource source(loop, {.dir = "/etc/kubenode/manifests", .nodeName = "node-a"},
//                          [](const std::vector<api::Pod>& pods) { podConfig.set(pods); },
//                          [](const std::string& error) { log(error); });
//   source.start();
//   loop.run();
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "agent/manifest_dir_watcher.h"
#include "api/pod.h"

namespace kubenode::agent {

struct StaticPodScan {
  struct Found {
    std::string file;
    api::Pod pod;
  };
  struct Bad {
    std::string file;     // empty when the directory itself is the problem
    std::string message;  // one line naming the file and the field
  };
  std::vector<Found> pods;
  std::vector<Bad> errors;
  std::vector<std::string> warnings;  // unknown fields
  std::vector<std::string> errorLines() const;
};

// Reads every regular file of `dir` (hidden files skipped, as the kubelet does), in name
// order. A file holds one Pod, in YAML or JSON; anything else is an error naming the file.
// The pods are decoded, defaulted and validated, not yet given their static identity.
StaticPodScan scanManifestDirectory(const std::string& dir);

// Gives a pod read from `file` the identity the kubelet gives static pods: namespace
// "default" when empty, name suffixed with "-<node name>", spec.nodeName, a UID that is
// the MD5 of the pod's content, the node and the file (an edited file is a new pod),
// the kubernetes.io/config.{source,hash} annotations, and phase Pending.
void applyStaticPodIdentity(api::Pod& pod, std::string_view nodeName, std::string_view file);

struct StaticPodSourceOptions {
  std::string dir;
  std::string nodeName;
  // Full re-read besides inotify (--file-check-frequency), which catches what inotify
  // cannot see (a directory that appears later, a file system without inotify).
  std::chrono::nanoseconds resyncPeriod = std::chrono::seconds(20);
  // Changes within this window are read once: editors write a file in several steps.
  std::chrono::milliseconds settle = std::chrono::milliseconds(100);
};

// Watches the directory with inotify on the given loop and hands the complete set of
// static pods to `onPods` whenever it changes (the kubelet's SET semantics). All calls
// happen on the loop's thread; the object must be used and destroyed there.
class StaticPodSource {
 public:
  using PodsCallback = std::function<void(const std::vector<api::Pod>&)>;
  using ErrorCallback = std::function<void(const std::string&)>;

  StaticPodSource(boost::asio::io_context& loop, StaticPodSourceOptions options,
                  PodsCallback onPods, ErrorCallback onError);

  // Reads the directory once (delivering the first set) and starts watching.
  absl::Status start();

 private:
  void rescan();

  boost::asio::io_context& loop_;
  StaticPodSourceOptions options_;
  PodsCallback onPods_;
  ErrorCallback onError_;
  // file -> last good pod, kept while the file exists even when a later version is bad.
  std::map<std::string, api::Pod> lastGood_;
  // file -> the error last reported, so a bad file is reported once, not every resync.
  std::map<std::string, std::string> reported_;
  std::vector<std::string> delivered_;  // UIDs last delivered, to skip no-op updates
  bool deliveredOnce_ = false;
  ManifestDirWatcher watcher_;  // last: its callbacks use the members above
};

}  // namespace kubenode::agent
