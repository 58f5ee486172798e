// The proxier's input in standalone mode: the Service and EndpointSlice manifests of
// --pod-manifest-path (the same directory the static pods come from; StaticPodSource skips
// files holding only these kinds, and this source skips the Pods). Decoded, defaulted and
// validated by api/, namespace "default" when empty, watched with inotify plus a periodic
// re-read, as static pods are.
//
// A bad file is reported once (one line naming the file, document and field) and keeps the
// objects of its last good version, so an operator's typo does not drop a live Service.
//
//   boost::asio::io_context loop;
//   ServiceSource source(loop, {.dir = "/etc/kubenode/manifests"},
//                        [&](const ServiceSet& set) { runner.setManifests(set); },
//                        [](const std::string& error) { log(error); });
//   source.start();
//   loop.run();
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/manifest_dir_watcher.h"
#include "api/endpoint_slice.h"
#include "api/service.h"

namespace kubenode::agent {

// Everything the directory holds for the proxier, in file-name then document order.
struct ServiceSet {
  std::vector<api::Service> services;
  std::vector<api::EndpointSlice> slices;
  friend bool operator==(const ServiceSet&, const ServiceSet&) = default;
};

struct ServiceScan {
  struct Found {
    std::string file;
    ServiceSet objects;
  };
  struct Bad {
    std::string file;
    std::string message;  // one line naming the file and the field
  };
  std::vector<Found> files;  // only files holding at least one Service or EndpointSlice
  std::vector<Bad> errors;
};

// Reads every regular, non-hidden file of `dir` in name order (as the static pod source
// does). Files that decode are searched for Services and EndpointSlices (Lists included),
// other kinds being the static pod source's. A file that does not decode is an error here
// only when it names kind Service, EndpointSlice or their lists: anything else is a pod
// manifest the static pod source already reports. A missing directory yields nothing.
ServiceScan scanServiceManifests(const std::string& dir);

struct ServiceSourceOptions {
  std::string dir;
  // Full re-read besides inotify (--file-check-frequency).
  std::chrono::nanoseconds resyncPeriod = std::chrono::seconds(20);
  // Changes within this window are read once: editors write a file in several steps.
  std::chrono::milliseconds settle = std::chrono::milliseconds(100);
};

// Hands the complete set to `onChange` after the first read and whenever it changes. A
// second object with the namespace and name of an earlier one (in name order of files) is
// dropped and reported. All calls happen on the loop's thread; the object must be used and
// destroyed there.
class ServiceSource {
 public:
  using ChangeCallback = std::function<void(const ServiceSet&)>;
  using ErrorCallback = std::function<void(const std::string&)>;

  ServiceSource(boost::asio::io_context& loop, ServiceSourceOptions options,
                ChangeCallback onChange, ErrorCallback onError);

  // Reads the directory once (delivering the first set) and starts watching.
  absl::Status start();

 private:
  void rescan();

  boost::asio::io_context& loop_;
  ServiceSourceOptions options_;
  ChangeCallback onChange_;
  ErrorCallback onError_;
  std::map<std::string, ServiceSet> lastGood_;   // file -> objects of its last good version
  std::map<std::string, std::string> reported_;  // key -> message last reported
  ServiceSet delivered_;
  bool deliveredOnce_ = false;
  ManifestDirWatcher watcher_;  // last: its callbacks use the members above
};

}  // namespace kubenode::agent
