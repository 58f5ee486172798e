// Manifests: text a user wrote (JSON or YAML, one document or many, or a v1 List)
// to typed objects, dispatched on apiVersion + kind, defaulted and validated as
// the API server would. Every error names the source, the document and the
// field, and for YAML the line:
//   web.yaml: document 2: spec.containers[0].image: Required value (line 11)
//
//   absl::StatusOr<Manifest> m = decodeManifest("web.yaml", text);
//   if (!m.ok()) return m.status();           // kInvalidArgument, one line
//   for (const std::string& w : m->warnings) log(w);  // unknown fields
//   for (const Object& o : m->objects) ...
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/object.h"

namespace kubenode::api {

struct ManifestOptions {
  bool applyDefaults = true;
  // Validation runs after defaulting, as in the API server.
  bool validate = true;
};

struct Manifest {
  // In document order; List documents contribute their items.
  std::vector<Object> objects{};
  // "web.yaml: document 1: unknown field \"spec.tolerations\"".
  std::vector<std::string> warnings{};
};

// `source` names the input in messages (a file name, "stdin", a URL).
absl::StatusOr<Manifest> decodeManifest(std::string_view source, std::string_view text,
                                        const ManifestOptions& options = {});

// The apiVersion/kind pairs decodeManifest accepts, e.g. "v1 Pod".
std::vector<std::string> supportedKinds();

}  // namespace kubenode::api
