#include "api/manifest.h"

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/absl_compat.h"
#include "api/defaults.h"
#include "api/json_codec.h"
#include "api/validation.h"
#include "api/yaml_codec.h"

namespace kubenode::api {
namespace {

using DecodeFn = std::function<Object(const Json&, ErrorList&, std::vector<std::string>&)>;

struct Kind {
  std::string_view apiVersion;
  std::string_view kind;
  DecodeFn decode;
};

template <class T>
Kind kindOf() {
  return Kind{TypeInfo<T>::kApiVersion, TypeInfo<T>::kKind,
              [](const Json& j, ErrorList& errors, std::vector<std::string>& warnings) {
                T object;
                decodeValue(j, object, errors, warnings);
                return Object(std::move(object));
              }};
}

// Only single objects: typed lists (PodList, ...) are flattened into their items.
const std::vector<Kind>& kinds() {
  static const std::vector<Kind> kKinds = {
      kindOf<Pod>(),   kindOf<Service>(), kindOf<EndpointSlice>(), kindOf<Node>(),
      kindOf<Lease>(), kindOf<Event>(),   kindOf<Namespace>(),     kindOf<Status>()};
  return kKinds;
}

std::string stringField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return "";
  return it->get<std::string>();
}

class ManifestDecoder {
 public:
  ManifestDecoder(std::string_view source, const ManifestOptions& options)
      : source_(source), options_(options) {}

  // Decodes one document (prefix names it in messages); false on error.
  // `text`, when the input was YAML, maps field paths to lines; `base` is the
  // document's own path in it ("items[2]" for a List item).
  bool decodeDocument(const Json& doc, const std::string& prefix,
                      const YamlDocument* text = nullptr, const std::string& base = "") {
    if (!doc.is_object()) {
      return fail(prefix,
                  absl::StrCat("expected an object with apiVersion and kind, got ",
                               doc.is_array() ? "a list" : "a " + std::string(doc.type_name())));
    }
    for (const char* key : {"apiVersion", "kind"}) {
      auto it = doc.find(key);
      if (it == doc.end() || it->is_null() ||
          (it->is_string() && it->get_ref<const std::string&>().empty())) {
        return fail(prefix, FieldError::required(FieldPath(key)).toString());
      }
      if (!it->is_string()) {
        return fail(prefix, FieldError::invalid(FieldPath(key), BadValue{BadValue::Raw{it->dump()}},
                                                "expected a string")
                                .toString());
      }
    }
    std::string apiVersion = stringField(doc, "apiVersion");
    std::string kind = stringField(doc, "kind");
    if (absl::EndsWith(kind, "List"))
      return decodeList(doc, prefix, apiVersion, kind, text, base);
    for (const Kind& k : kinds()) {
      if (k.apiVersion != apiVersion || k.kind != kind)
        continue;
      ErrorList errors;
      std::vector<std::string> warnings;
      Object object = k.decode(doc, errors, warnings);
      for (const std::string& w : warnings)
        manifest_.warnings.push_back(absl::StrCat(source_, ": ", prefix, w));
      if (!errors.empty())
        return fail(prefix, withLines(errors, text, base));
      if (options_.applyDefaults)
        applyDefaults(object);
      if (options_.validate) {
        ErrorList invalid = validate(object);
        if (!invalid.empty())
          return fail(prefix, withLines(invalid, text, base));
      }
      manifest_.objects.push_back(std::move(object));
      return true;
    }
    return fail(prefix, absl::StrCat("unsupported kind \"", kind, "\" in apiVersion \"", apiVersion,
                                     "\" (kubenode reads ", absl::StrJoin(supportedKinds(), ", "),
                                     " and their Lists)"));
  }

  absl::Status status() const { return status_; }
  Manifest take() { return std::move(manifest_); }

 private:
  bool decodeList(const Json& doc, const std::string& prefix, const std::string& apiVersion,
                  const std::string& kind, const YamlDocument* text, const std::string& base) {
    auto items = doc.find("items");
    if (items == doc.end() || items->is_null())
      return true;  // an empty list
    if (!items->is_array()) {
      return fail(prefix, FieldError::invalid(FieldPath("items"),
                                              BadValue{BadValue::Raw{items->type_name()}},
                                              "expected a list")
                              .toString());
    }
    // Items of a typed list (PodList) may omit their own apiVersion/kind.
    std::string itemKind = kind == "List" ? "" : kind.substr(0, kind.size() - 4);
    for (size_t i = 0; i < items->size(); ++i) {
      Json item = (*items)[i];
      if (item.is_object() && !itemKind.empty()) {
        if (!item.contains("apiVersion"))
          item["apiVersion"] = apiVersion;
        if (!item.contains("kind"))
          item["kind"] = itemKind;
      }
      std::string itemPath = absl::StrCat(base, base.empty() ? "" : ".", "items[", i, "]");
      if (!decodeDocument(item, absl::StrCat(prefix, "items[", i, "]: "), text, itemPath))
        return false;
    }
    return true;
  }

  // Like joinErrors, each error followed by the line it points at in YAML input.
  static std::string withLines(const ErrorList& errors, const YamlDocument* text,
                               const std::string& base) {
    if (text == nullptr)
      return joinErrors(errors);
    std::vector<std::string> parts;
    for (const FieldError& e : errors) {
      std::string path = e.path.toString();
      if (!base.empty())
        path = path.empty() ? base : absl::StrCat(base, ".", path);
      parts.push_back(absl::StrCat(e.toString(), " (line ", text->lineOf(path), ")"));
    }
    if (parts.size() == 1)
      return parts[0];
    return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
  }

  bool fail(const std::string& prefix, std::string_view message) {
    status_ = absl::InvalidArgumentError(absl::StrCat(source_, ": ", prefix, sv(message)));
    return false;
  }

  std::string source_;
  const ManifestOptions& options_;
  Manifest manifest_;
  absl::Status status_;
};

}  // namespace

std::vector<std::string> supportedKinds() {
  std::vector<std::string> out;
  for (const Kind& k : kinds())
    out.push_back(absl::StrCat(sv(k.apiVersion), " ", sv(k.kind)));
  return out;
}

absl::StatusOr<Manifest> decodeManifest(std::string_view source, std::string_view text,
                                        const ManifestOptions& options) {
  if (absl::StartsWith(sv(text), "\xEF\xBB\xBF"))
    text.remove_prefix(3);  // UTF-8 byte order mark
  ManifestDecoder decoder(source, options);
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(sv(text));
  if (absl::StartsWith(trimmed, "{")) {
    absl::StatusOr<Json> j = parseJson(text);
    if (!j.ok())
      return absl::InvalidArgumentError(absl::StrCat(sv(source), ": ", j.status().message()));
    if (!decoder.decodeDocument(*j, ""))
      return decoder.status();
    return decoder.take();
  }
  absl::StatusOr<std::vector<YamlDocument>> docs = parseYamlDocuments(text);
  if (!docs.ok())
    return absl::InvalidArgumentError(absl::StrCat(sv(source), ": ", docs.status().message()));
  for (const YamlDocument& d : *docs) {
    if (!decoder.decodeDocument(d.value, absl::StrCat("document ", d.index, ": "), &d))
      return decoder.status();
  }
  return decoder.take();
}

}  // namespace kubenode::api
