#include "agent/static_pods.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/inotify.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstring>

#include "agent/pods/labels.h"
#include "api/defaults.h"
#include "api/json_codec.h"
#include "api/manifest.h"

namespace kubenode::agent {
namespace {

std::string md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i)
    hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace

std::vector<std::string> StaticPodScan::errorLines() const {
  std::vector<std::string> lines;
  for (const Bad& bad : errors)
    lines.push_back(bad.message);
  return lines;
}

StaticPodScan scanManifestDirectory(const std::string& dir) {
  StaticPodScan scan;
  absl::StatusOr<std::vector<ManifestFile>> files = readManifestFiles(dir);
  if (!files.ok()) {
    scan.errors.push_back({"", fmt::format("--pod-manifest-path: cannot read directory \"{}\": {}",
                                           dir, std::string(files.status().message()))});
    return scan;
  }
  for (const ManifestFile& file : *files) {
    const std::string& name = file.path;
    if (!file.readable) {
      scan.errors.push_back({name, fmt::format("{}: cannot read the file", name)});
      continue;
    }
    absl::StatusOr<api::Manifest> manifest = api::decodeManifest(name, file.text);
    if (!manifest.ok()) {
      scan.errors.push_back({name, std::string(manifest.status().message())});
      continue;
    }
    scan.warnings.insert(scan.warnings.end(), manifest->warnings.begin(), manifest->warnings.end());
    // Services and EndpointSlices in the same directory feed the proxier, not the pods.
    if (!manifest->objects.empty() &&
        std::all_of(manifest->objects.begin(), manifest->objects.end(), [](const auto& o) {
          return std::holds_alternative<api::Service>(o) ||
                 std::holds_alternative<api::EndpointSlice>(o);
        }))
      continue;
    if (manifest->objects.size() != 1 || !std::holds_alternative<api::Pod>(manifest->objects[0])) {
      scan.errors.push_back(
          {name, fmt::format("{}: expected exactly one Pod (apiVersion v1, kind Pod) in a static "
                             "pod manifest",
                             name)});
      continue;
    }
    api::Pod pod = std::get<api::Pod>(std::move(manifest->objects[0]));
    // The kubelet puts a static pod without a namespace into "default".
    api::defaultNamespace(pod.metadata);
    scan.pods.push_back({name, std::move(pod)});
  }
  return scan;
}

void applyStaticPodIdentity(api::Pod& pod, std::string_view nodeName, std::string_view file) {
  api::defaultNamespace(pod.metadata);
  if (pod.metadata.uid.empty()) {
    // As the kubelet: the content, then the node and the file, so that the same manifest
    // on two nodes or in two files is two pods, and an edited file is a new pod.
    pod.metadata.uid =
        md5Hex(fmt::format("{}host:{}file:{}", api::encodeJson(pod), nodeName, file));
  }
  std::string lowerNode(nodeName);
  std::transform(lowerNode.begin(), lowerNode.end(), lowerNode.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  pod.metadata.name = fmt::format("{}-{}", pod.metadata.name, lowerNode);
  pod.spec.nodeName = std::string(nodeName);
  pod.metadata.annotations[std::string(pods::kConfigSourceAnnotation)] =
      std::string(pods::kConfigSourceFile);
  pod.metadata.annotations[std::string(pods::kConfigHashAnnotation)] = pod.metadata.uid;
  // Until its worker reports, a static pod is Pending, as the kubelet starts it.
  pod.status.phase = "Pending";
}

StaticPodSource::StaticPodSource(boost::asio::io_context& loop, StaticPodSourceOptions options,
                                 PodsCallback onPods, ErrorCallback onError)
    : loop_(loop),
      options_(std::move(options)),
      onPods_(std::move(onPods)),
      onError_(std::move(onError)),
      watcher_(loop, options_.dir, options_.settle, options_.resyncPeriod, [this] { rescan(); }) {}

absl::Status StaticPodSource::start() {
  return watcher_.start();
}

void StaticPodSource::rescan() {
  StaticPodScan scan = scanManifestDirectory(options_.dir);

  // A pod keeps the time it was first seen (its AGE) across re-reads.
  std::map<std::string, api::Time> firstSeen;
  for (const auto& [file, pod] : lastGood_) {
    if (pod.metadata.creationTimestamp)
      firstSeen[pod.metadata.uid] = *pod.metadata.creationTimestamp;
  }
  std::map<std::string, api::Pod> current;
  for (StaticPodScan::Found& found : scan.pods) {
    applyStaticPodIdentity(found.pod, options_.nodeName, found.file);
    auto seen = firstSeen.find(found.pod.metadata.uid);
    found.pod.metadata.creationTimestamp =
        seen != firstSeen.end() ? seen->second : api::Time(absl::Now());
    current[found.file] = std::move(found.pod);
  }
  std::map<std::string, std::string> nowBad;
  for (const StaticPodScan::Bad& bad : scan.errors) {
    nowBad[bad.file] = bad.message;
    auto previous = lastGood_.find(bad.file);
    // A file that turned bad keeps its last good pod: the operator's typo must not kill a
    // running pod. The message says so.
    std::string message = bad.message;
    if (previous != lastGood_.end()) {
      current[bad.file] = previous->second;
      message += "; keeping the pod from the last valid version of the file";
    }
    auto seen = reported_.find(bad.file);
    if (seen == reported_.end() || seen->second != bad.message)
      onError_(message);
  }
  for (const std::string& warning : scan.warnings) {
    if (!reported_.contains(warning))
      onError_(warning);
    nowBad[warning] = warning;
  }
  reported_ = std::move(nowBad);
  lastGood_ = current;

  std::vector<api::Pod> pods;
  std::vector<std::string> uids;
  for (auto& [file, pod] : current) {
    uids.push_back(pod.metadata.uid);
    pods.push_back(std::move(pod));
  }
  std::sort(uids.begin(), uids.end());
  // The first scan is always delivered, even empty: it tells the agent the source has
  // been read (the kubelet's "all sources ready"), so it may clean up what no file wants.
  if (!deliveredOnce_ || uids != delivered_) {
    deliveredOnce_ = true;
    delivered_ = uids;
    onPods_(pods);
  }
}

}  // namespace kubenode::agent
