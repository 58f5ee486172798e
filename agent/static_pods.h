// Static pod manifests: the files of --pod-manifest-path, decoded, defaulted and
// validated by api/, each bad file reported with its name and the field at fault,
// without disturbing the good ones.
//
//   StaticPodScan scan = scanManifestDirectory("/etc/kubenode/manifests");
//   for (const std::string& e : scan.errors) log(e);  // "bad.yaml: spec.containers: Required
//   value" for (const StaticPodScan::Found& f : scan.pods) run(f.pod);
#pragma once

#include <string>
#include <vector>

#include "api/pod.h"

namespace kubenode::agent {

struct StaticPodScan {
  struct Found {
    std::string file;
    api::Pod pod;
  };
  std::vector<Found> pods;
  std::vector<std::string> errors;    // one line per bad file or directory
  std::vector<std::string> warnings;  // unknown fields, ignored files
};

// Reads every regular file of `dir` (hidden files skipped, as the kubelet does), in name
// order. A file holds one Pod, in YAML or JSON; anything else is an error naming the file.
StaticPodScan scanManifestDirectory(const std::string& dir);

}  // namespace kubenode::agent
