// YAML codec: YAML text to the JSON values the decoders read, and objects back
// to YAML, on yaml-cpp.
//
// Scalars resolve as sigs.k8s.io/yaml resolves unquoted ones: `80` is an int,
// `"80"` a string, `1.5` a float, `true`/`false` (any case form) booleans,
// `null`/`~`/empty null, 0x1F / 0o17 / 017 integers. YAML 1.1's yes/no/on/off stay
// strings (a bool field given `yes` reports a type error rather than guessing).
// Multi-document streams ("---") give one value per non-empty document.
//
//   absl::StatusOr<std::vector<YamlDocument>> docs = parseYamlDocuments(text);
//   for (const YamlDocument& d : *docs) decodeValue(d.value, pod, errors, warnings);
//   std::string yaml = encodeYaml(pod);
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/json_codec.h"

namespace kubenode::api {

struct YamlDocument {
  int index = 0;  // 1-based position in the stream, counting empty documents
  int line = 0;   // 1-based line where the document starts
  Json value{};
  // Line of each value by field path ("spec.containers[0].image"), so that
  // decode and validation errors can point into the text.
  std::map<std::string, int> lines{};

  // The line of `path`, or of its nearest ancestor present in the text (a
  // missing field points at its parent); the document's line as a last resort.
  int lineOf(std::string_view path) const;
};

// Nesting beyond this is refused (no manifest needs it; the stack does).
inline constexpr int kMaxYamlDepth = 128;

// kInvalidArgument on malformed YAML: "document 2: line 5, column 3: <reason>".
absl::StatusOr<std::vector<YamlDocument>> parseYamlDocuments(std::string_view text);

// Block-style YAML; strings that would read back as another type are quoted.
std::string toYaml(const Json& value);

template <class T>
std::string encodeYaml(const T& object) {
  return toYaml(toJson(object));
}

// Several objects as one multi-document stream, separated by "---".
std::string encodeYamlStream(const std::vector<Object>& objects);

}  // namespace kubenode::api
