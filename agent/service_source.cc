#include "agent/service_source.h"

#include <fmt/format.h>
#include <sys/inotify.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstring>
#include <regex>
#include <set>

#include "agent/proxy_command.h"
#include "api/manifest.h"

namespace kubenode::agent {
namespace {

// Whether undecodable text was meant for the proxier: it names one of its kinds, in YAML
// (`kind: Service`) or JSON (`"kind": "Service"`). Any other broken file is a pod manifest,
// reported by the static pod source; reporting it here too would say everything twice.
bool namesProxyKind(const std::string& text) {
  static const std::regex kKind(
      R"re(["']?kind["']?\s*:\s*["']?(Service|EndpointSlice|ServiceList|EndpointSliceList)["']?\s*[,}\r\n])re");
  return std::regex_search(text + "\n", kKind);
}

template <class T>
std::string objectKey(const T& object) {
  return fmt::format("{}/{}", object.metadata.namespace_, object.metadata.name);
}

}  // namespace

ServiceScan scanServiceManifests(const std::string& dir) {
  ServiceScan scan;
  absl::StatusOr<std::vector<ManifestFile>> files = readManifestFiles(dir);
  if (!files.ok())
    return scan;  // the static pod source reports an unreadable directory
  for (const ManifestFile& file : *files) {
    const std::string& name = file.path;
    if (!file.readable)
      continue;  // reported by the static pod source
    absl::StatusOr<api::Manifest> manifest = api::decodeManifest(name, file.text);
    if (!manifest.ok()) {
      if (namesProxyKind(file.text))
        scan.errors.push_back({name, std::string(manifest.status().message())});
      continue;
    }
    ProxyManifests objects;
    collectProxyObjects(name, *manifest, objects);  // notes: other kinds, not ours to report
    if (objects.services.empty() && objects.slices.empty())
      continue;
    scan.files.push_back({name, {std::move(objects.services), std::move(objects.slices)}});
  }
  return scan;
}

ServiceSource::ServiceSource(boost::asio::io_context& loop, ServiceSourceOptions options,
                             ChangeCallback onChange, ErrorCallback onError)
    : loop_(loop),
      options_(std::move(options)),
      onChange_(std::move(onChange)),
      onError_(std::move(onError)),
      watcher_(loop, options_.dir, options_.settle, options_.resyncPeriod, [this] { rescan(); }) {}

absl::Status ServiceSource::start() {
  return watcher_.start();
}

void ServiceSource::rescan() {
  ServiceScan scan = scanServiceManifests(options_.dir);

  std::map<std::string, ServiceSet> current;
  for (ServiceScan::Found& found : scan.files)
    current[found.file] = std::move(found.objects);

  std::map<std::string, std::string> nowReported;
  auto report = [&](const std::string& key, const std::string& message) {
    nowReported[key] = message;
    auto seen = reported_.find(key);
    if (seen == reported_.end() || seen->second != message)
      onError_(message);
  };
  for (const ServiceScan::Bad& bad : scan.errors) {
    std::string message = bad.message;
    // A file that turned bad keeps its last good objects: the Service stays programmed.
    if (auto previous = lastGood_.find(bad.file); previous != lastGood_.end()) {
      current[bad.file] = previous->second;
      message += "; keeping the Services and EndpointSlices of the last valid version";
    }
    report(bad.file, message);
  }
  lastGood_ = current;

  // The same object in two files: the first file (in name order) wins, as a second
  // `kubectl create` would fail.
  ServiceSet set;
  std::map<std::string, std::string> serviceFile, sliceFile;
  for (const auto& [file, objects] : current) {
    for (const api::Service& s : objects.services) {
      auto [it, fresh] = serviceFile.emplace(objectKey(s), file);
      if (fresh) {
        set.services.push_back(s);
      } else {
        report("service " + objectKey(s) + " in " + file,
               fmt::format("{}: Service {} is already defined in {}; ignoring this one", file,
                           objectKey(s), it->second));
      }
    }
    for (const api::EndpointSlice& s : objects.slices) {
      auto [it, fresh] = sliceFile.emplace(objectKey(s), file);
      if (fresh) {
        set.slices.push_back(s);
      } else {
        report("slice " + objectKey(s) + " in " + file,
               fmt::format("{}: EndpointSlice {} is already defined in {}; ignoring this one", file,
                           objectKey(s), it->second));
      }
    }
  }
  reported_ = std::move(nowReported);

  // The first read is always delivered, even empty: the runner then knows the directory
  // has been read and may program the (possibly empty) table.
  if (!deliveredOnce_ || !(set == delivered_)) {
    deliveredOnce_ = true;
    delivered_ = set;
    onChange_(delivered_);
  }
}

}  // namespace kubenode::agent
