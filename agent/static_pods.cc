#include "agent/static_pods.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/defaults.h"
#include "api/manifest.h"

namespace kubenode::agent {

StaticPodScan scanManifestDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  StaticPodScan scan;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    scan.errors.push_back(
        fmt::format("--pod-manifest-path: cannot read directory \"{}\": {}", dir, ec.message()));
    return scan;
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : it) {
    if (entry.path().filename().string().starts_with("."))
      continue;
    if (!entry.is_regular_file(ec))
      continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());

  for (const fs::path& path : files) {
    const std::string name = path.string();
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      scan.errors.push_back(fmt::format("{}: cannot read the file", name));
      continue;
    }
    absl::StatusOr<api::Manifest> manifest = api::decodeManifest(name, text.str());
    if (!manifest.ok()) {
      scan.errors.push_back(std::string(manifest.status().message()));
      continue;
    }
    scan.warnings.insert(scan.warnings.end(), manifest->warnings.begin(), manifest->warnings.end());
    if (manifest->objects.size() != 1 || !std::holds_alternative<api::Pod>(manifest->objects[0])) {
      scan.errors.push_back(fmt::format(
          "{}: expected exactly one Pod (apiVersion v1, kind Pod) in a static pod manifest", name));
      continue;
    }
    api::Pod pod = std::get<api::Pod>(std::move(manifest->objects[0]));
    // The kubelet puts a static pod without a namespace into "default".
    api::defaultNamespace(pod.metadata);
    scan.pods.push_back({name, std::move(pod)});
  }
  return scan;
}

}  // namespace kubenode::agent
