#include "api/yaml_codec.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "api/absl_compat.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/exceptions.h"
#include "yaml-cpp/mark.h"
#include "yaml-cpp/parser.h"
#include "yaml-cpp/yaml.h"

namespace kubenode::api {
namespace {

// A problem found while building values from parser events; carries its mark.
struct BuildError {
  YAML::Mark mark;
  std::string message;
};

bool isNullSpelling(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> boolSpelling(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE")
    return true;
  if (s == "false" || s == "False" || s == "FALSE")
    return false;
  return std::nullopt;
}

// YAML 1.1 booleans that other tools (go-yaml v2) would read as bool: quoted on output.
bool isYaml11Bool(std::string_view s) {
  static constexpr std::string_view kWords[] = {"y",  "Y",   "yes", "Yes", "YES", "n",
                                                "N",  "no",  "No",  "NO",  "on",  "On",
                                                "ON", "off", "Off", "OFF"};
  for (std::string_view w : kWords) {
    if (s == w)
      return true;
  }
  return false;
}

bool allOf(std::string_view s, std::string_view chars) {
  if (s.empty())
    return false;
  for (char c : s) {
    if (chars.find(c) == std::string_view::npos && c != '_')
      return false;
  }
  return true;
}

std::optional<Json> parseInteger(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  std::string_view digits = s;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    digits = s.substr(2);
    if (!allOf(digits, "0123456789abcdefABCDEF"))
      return std::nullopt;
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    digits = s.substr(2);
    if (!allOf(digits, "01234567"))
      return std::nullopt;
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    digits = s.substr(2);
    if (!allOf(digits, "01"))
      return std::nullopt;
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;  // YAML 1.1: a leading zero means octal (file modes: 0644)
    digits = s.substr(1);
    if (!allOf(digits, "01234567"))
      return std::nullopt;
  } else if (!allOf(s, "0123456789") || s.empty() || s[0] == '_') {
    return std::nullopt;
  }
  std::string clean;
  for (char c : digits) {
    if (c != '_')
      clean.push_back(c);
  }
  if (clean.empty())
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  unsigned long long magnitude = std::strtoull(clean.c_str(), &end, base);
  if (errno == ERANGE || *end != '\0') {
    // Too large for 64 bits: go-yaml falls back to a float.
    return std::nullopt;
  }
  if (negative) {
    if (magnitude > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) + 1) {
      return std::nullopt;
    }
    return Json(static_cast<int64_t>(0 - magnitude));
  }
  if (magnitude > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) {
    return Json(static_cast<uint64_t>(magnitude));
  }
  return Json(static_cast<int64_t>(magnitude));
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool isFloatSpelling(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-'))
    ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0)
      return false;
  } else {
    if (digits() == 0)
      return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
      ++i;
    if (digits() == 0)
      return false;
  }
  return i == s.size();
}

bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size())
      return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond Unicode.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += n + 1;
  }
  return true;
}

// How an unquoted scalar reads: null, bool, int, float or string.
Json resolvePlain(const std::string& s) {
  if (isNullSpelling(s))
    return Json(nullptr);
  if (auto b = boolSpelling(s))
    return Json(*b);
  if (auto i = parseInteger(s))
    return *i;
  if (isFloatSpelling(s)) {
    double d = std::strtod(s.c_str(), nullptr);
    if (std::isfinite(d))
      return Json(d);
  }
  return Json(s);
}

Json resolveTagged(const YAML::Mark& mark, const std::string& tag, const std::string& value) {
  static const std::string kPrefix = "tag:yaml.org,2002:";
  if (tag == "?")
    return resolvePlain(value);
  if (tag == "!" || tag == kPrefix + "str")
    return Json(value);
  Json resolved = resolvePlain(value);
  auto mismatch = [&](std::string_view what) {
    return BuildError{mark,
                      absl::StrCat("value \"", value, "\" tagged ", tag, " is not ", sv(what))};
  };
  if (tag == kPrefix + "int") {
    if (!resolved.is_number_integer())
      throw mismatch("an integer");
  } else if (tag == kPrefix + "float") {
    if (!resolved.is_number())
      throw mismatch("a number");
  } else if (tag == kPrefix + "bool") {
    if (!resolved.is_boolean())
      throw mismatch("a boolean");
  } else if (tag == kPrefix + "null") {
    if (!resolved.is_null())
      throw mismatch("null");
  } else {
    // Application tags mean nothing to the API: read the text as a string.
    return Json(value);
  }
  return resolved;
}

// Builds one JSON value per document from yaml-cpp's parser events, so that
// every value knows its line and the document count is exact even when a later
// document is malformed.
class JsonBuilder : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documentIndex_;
    documentLine_ = mark.line + 1;
    root_ = Json();
    hasRoot_ = false;
    lines_.clear();
    lines_[""] = documentLine_;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    guard([&] {
      if (awaitingKey())
        return setKey(mark, "null");
      add(mark, Json(nullptr), anchor, 1);
    });
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    guard([&] {
      auto it = anchors_.find(anchor);
      if (it == anchors_.end())
        throw BuildError{mark, "unknown alias"};
      if (awaitingKey()) {
        if (!it->second.value.is_string())
          throw BuildError{mark, "an alias used as a key must be a string"};
        return setKey(mark, it->second.value.get<std::string>());
      }
      aliasNodes_ += it->second.nodes;
      if (aliasNodes_ > kMaxAliasNodes) {
        throw BuildError{mark, absl::StrCat("aliases expand to more than ", kMaxAliasNodes,
                                            " values (alias expansion bomb?)")};
      }
      add(mark, it->second.value, 0, it->second.nodes);
    });
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    guard([&] {
      // JSON strings must be UTF-8; go-yaml refuses other bytes too.
      if (!isValidUtf8(value))
        throw BuildError{mark, "invalid UTF-8 in a scalar"};
      // Keys stay text, as sigs.k8s.io/yaml turns `80: x` into {"80": "x"}.
      if (awaitingKey()) {
        if (anchor != 0)
          anchors_[anchor] = Anchored{Json(value), 1};
        return setKey(mark, value);
      }
      add(mark, resolveTagged(mark, tag, value), anchor, 1);
    });
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    guard([&] { push(mark, Json::array(), anchor); });
  }
  void OnSequenceEnd() override {
    guard([&] { pop(); });
  }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    guard([&] { push(mark, Json::object(), anchor); });
  }
  void OnMapEnd() override {
    guard([&] { pop(); });
  }

  int documentIndex() const { return documentIndex_; }
  // The first problem found while building, if any. yaml-cpp keeps parsing after
  // it, so that a syntax error later in the document is reported instead: it is
  // the real cause (an unterminated flow map looks like a complex key here).
  const std::optional<BuildError>& error() const { return error_; }
  int documentLine() const { return documentLine_; }
  bool hasRoot() const { return hasRoot_; }
  Json takeRoot() { return std::move(root_); }
  std::map<std::string, int> takeLines() { return std::move(lines_); }

 private:
  struct Frame {
    Json value;
    YAML::Mark mark;
    YAML::anchor_t anchor;
    size_t nodesAtStart;
    std::optional<std::string> key;
    std::string path;  // FieldPath-style: spec.containers[0]
  };
  struct Anchored {
    Json value;
    size_t nodes;
  };
  // Values copied through aliases; manifests use few, a "billion laughs" many.
  static constexpr size_t kMaxAliasNodes = 100'000;

  template <class F>
  void guard(F&& f) {
    if (error_)
      return;  // the values are already abandoned
    try {
      f();
    } catch (BuildError& e) {
      error_ = std::move(e);
    }
  }

  bool awaitingKey() const {
    return !stack_.empty() && stack_.back().value.is_object() && !stack_.back().key.has_value();
  }

  void setKey(const YAML::Mark& mark, std::string key) {
    Frame& top = stack_.back();
    if (top.value.contains(key)) {
      throw BuildError{mark, absl::StrCat("duplicate key \"", key, "\"")};
    }
    top.key = std::move(key);
    // A field's line is its key's line.
    lines_.emplace(childPath(), mark.line + 1);
  }

  // The path of the value about to be added to the innermost container.
  std::string childPath() const {
    if (stack_.empty())
      return "";
    const Frame& top = stack_.back();
    if (top.value.is_array())
      return absl::StrCat(top.path, "[", top.value.size(), "]");
    return top.path.empty() ? *top.key : absl::StrCat(top.path, ".", *top.key);
  }

  void push(const YAML::Mark& mark, Json value, YAML::anchor_t anchor) {
    if (awaitingKey())
      throw BuildError{mark, "a mapping key must be a scalar"};
    if (static_cast<int>(stack_.size()) >= kMaxYamlDepth) {
      throw BuildError{mark, absl::StrCat("nesting deeper than ", kMaxYamlDepth, " levels")};
    }
    count(mark, 1);
    std::string path = childPath();
    lines_.emplace(path, mark.line + 1);
    stack_.push_back(Frame{std::move(value), mark, anchor, nodes_, std::nullopt, std::move(path)});
  }

  void pop() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    add(frame.mark, std::move(frame.value), frame.anchor, 0, nodes_ - frame.nodesAtStart + 1);
  }

  void count(const YAML::Mark&, size_t n) { nodes_ += n; }

  void add(const YAML::Mark& mark, Json value, YAML::anchor_t anchor, size_t newNodes,
           size_t totalNodes = 0) {
    count(mark, newNodes);
    if (totalNodes == 0)
      totalNodes = newNodes == 0 ? 1 : newNodes;
    if (anchor != 0)
      anchors_[anchor] = Anchored{value, totalNodes};
    lines_.emplace(childPath(), mark.line + 1);
    if (stack_.empty()) {
      root_ = std::move(value);
      hasRoot_ = true;
      return;
    }
    Frame& top = stack_.back();
    if (top.value.is_array()) {
      top.value.push_back(std::move(value));
    } else {
      top.value[*top.key] = std::move(value);
      top.key.reset();
    }
  }

  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Anchored> anchors_;
  size_t nodes_ = 0;
  size_t aliasNodes_ = 0;
  int documentIndex_ = 0;
  int documentLine_ = 0;
  Json root_;
  bool hasRoot_ = false;
  std::optional<BuildError> error_;
  std::map<std::string, int> lines_;
};

std::string where(int document, const YAML::Mark& mark, std::string_view message) {
  std::string out = absl::StrCat("document ", document, ": ");
  if (!mark.is_null())
    absl::StrAppend(&out, "line ", mark.line + 1, ", column ", mark.column + 1, ": ");
  absl::StrAppend(&out, sv(message));
  return out;
}

void emit(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [k, v] : value.items()) {
        out << YAML::Key;
        emit(out, Json(k));
        out << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      return;
    case Json::value_t::array:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const Json& v : value)
        emit(out, v);
      out << YAML::EndSeq;
      return;
    case Json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      bool quote =
          !resolvePlain(s).is_string() || isYaml11Bool(s) || s.find('\n') != std::string::npos;
      if (quote)
        out << YAML::DoubleQuoted;
      out << s;
      return;
    }
    case Json::value_t::null:
    case Json::value_t::discarded:
      out << YAML::Null;
      return;
    default:
      // Numbers and booleans: JSON's spelling is also YAML's.
      out << value.dump();
      return;
  }
}

}  // namespace

int YamlDocument::lineOf(std::string_view path) const {
  std::string p(path);
  while (true) {
    auto it = lines.find(p);
    if (it != lines.end())
      return it->second;
    if (p.empty())
      return line;
    // Drop the last component: "[key]" (which may hold dots) or ".name".
    size_t cut = p.back() == ']' ? p.rfind('[') : p.find_last_of(".[");
    p.resize(cut == std::string::npos ? 0 : cut);
  }
}

absl::StatusOr<std::vector<YamlDocument>> parseYamlDocuments(std::string_view text) {
  std::string copy(text);
  std::istringstream in(copy);
  JsonBuilder builder;
  std::vector<YamlDocument> documents;
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
      if (builder.error())
        throw *builder.error();
      if (!builder.hasRoot())
        continue;
      Json root = builder.takeRoot();
      if (root.is_null())
        continue;  // an empty document ("---" followed by nothing)
      documents.push_back(YamlDocument{builder.documentIndex(), builder.documentLine(),
                                       std::move(root), builder.takeLines()});
    }
  } catch (const BuildError& e) {
    return absl::InvalidArgumentError(where(builder.documentIndex(), e.mark, e.message));
  } catch (const YAML::Exception& e) {
    // The parser may fail before announcing the document it is in.
    int index = std::max(builder.documentIndex(), 1);
    return absl::InvalidArgumentError(where(index, e.mark, absl::StrCat("invalid YAML: ", e.msg)));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid YAML: ", e.what()));
  }
  return documents;
}

std::string toYaml(const Json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit(out, value);
  std::string s = out.c_str();
  s.push_back('\n');
  return s;
}

std::string encodeYamlStream(const std::vector<Object>& objects) {
  std::string out;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0)
      out += "---\n";
    out += toYaml(toJson(objects[i]));
  }
  return out;
}

}  // namespace kubenode::api
