#include "api/validation.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "api/absl_compat.h"

namespace kubenode::api {
namespace {

// apimachinery's RegexError wording, double space before "or" included, so the
// messages read exactly as kubectl prints them.
std::string regexError(std::string_view msg, std::string_view format,
                       std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  if (examples.size() == 0) {
    absl::StrAppend(&out, " (regex used for validation is '", sv(format), "')");
    return out;
  }
  out += " (e.g. ";
  bool first = true;
  for (std::string_view e : examples) {
    if (!first)
      out += " or ";
    first = false;
    absl::StrAppend(&out, "'", sv(e), "', ");
  }
  absl::StrAppend(&out, "regex used for validation is '", sv(format), "')");
  return out;
}

std::string maxLenError(size_t n) {
  return absl::StrCat("must be no more than ", n, " characters");
}

constexpr std::string_view kNonNegative = "must be greater than or equal to 0";
constexpr std::string_view kPortRange = "must be between 1 and 65535, inclusive";
constexpr std::string_view kInvalidIP =
    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c));
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool matchesLabel(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool matchesQualifiedName(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back()))
    return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

std::vector<std::string> isDns1123Label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63)
    errs.push_back(maxLenError(63));
  if (!matchesLabel(value)) {
    errs.push_back(regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        "[a-z0-9]([-a-z0-9]*[a-z0-9])?", {"my-name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> isDns1123Subdomain(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 253)
    errs.push_back(maxLenError(253));
  bool ok = !value.empty();
  for (absl::string_view part : absl::StrSplit(sv(value), '.')) {
    if (!matchesLabel(std::string_view(part.data(), part.size())))
      ok = false;
  }
  if (!ok) {
    errs.push_back(regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character",
        "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", {"example.com"}));
  }
  return errs;
}

std::vector<std::string> isDns1035Label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63)
    errs.push_back(maxLenError(63));
  if (!matchesLabel(value) || !(value.front() >= 'a' && value.front() <= 'z')) {
    errs.push_back(regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character",
        "[a-z]([-a-z0-9]*[a-z0-9])?", {"my-name", "abc-123"}));
  }
  return errs;
}

std::vector<std::string> isQualifiedName(std::string_view value) {
  constexpr std::string_view kMsg =
      "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
      "alphanumeric character";
  constexpr std::string_view kFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
  std::vector<std::string> errs;
  std::vector<std::string_view> parts;
  for (absl::string_view p : absl::StrSplit(sv(value), '/'))
    parts.emplace_back(p.data(), p.size());
  std::string_view name;
  if (parts.size() == 1) {
    name = parts[0];
  } else if (parts.size() == 2) {
    std::string_view prefix = parts[0];
    name = parts[1];
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const std::string& m : isDns1123Subdomain(prefix))
        errs.push_back("prefix part " + m);
    }
  } else {
    errs.push_back(
        absl::StrCat("a qualified name ", regexError(kMsg, kFmt, {"MyName", "my.name", "123-abc"}),
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
    return errs;
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.push_back("name part " + maxLenError(63));
  }
  if (!matchesQualifiedName(name)) {
    errs.push_back("name part " + regexError(kMsg, kFmt, {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> isValidLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63)
    errs.push_back(maxLenError(63));
  if (!value.empty() && !matchesQualifiedName(value)) {
    errs.push_back(regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character",
        "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

// IANA_SVC_NAME (RFC 6335): at most 15 of [-a-z0-9], a letter, no "--", no edge hyphen.
std::vector<std::string> isValidPortName(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 15)
    errs.push_back(maxLenError(15));
  if (value.empty() || !std::all_of(value.begin(), value.end(),
                                    [](char c) { return isLowerAlnum(c) || c == '-'; })) {
    errs.push_back("must contain only alphanumeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (std::none_of(value.begin(), value.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    errs.push_back("must contain at least one letter (a-z)");
  }
  if (absl::StrContains(sv(value), "--"))
    errs.push_back("must not contain consecutive hyphens");
  if (!value.empty() && (value.front() == '-' || value.back() == '-')) {
    errs.push_back("must not begin or end with a hyphen");
  }
  return errs;
}

std::vector<std::string> isValidPortNum(int64_t port) {
  if (port >= 1 && port <= 65535)
    return {};
  return {std::string(kPortRange)};
}

std::vector<std::string> isEnvVarName(std::string_view value) {
  auto ok = [](char c) { return isAlnum(c) || c == '-' || c == '.' || c == '_'; };
  bool valid = !value.empty() && !absl::ascii_isdigit(static_cast<unsigned char>(value[0])) &&
               std::all_of(value.begin(), value.end(), ok);
  if (valid)
    return {};
  return {regexError(
      "a valid environment variable name must consist of alphabetic characters, digits, '_', "
      "'-', or '.', and must not start with a digit",
      "[-._a-zA-Z][-._a-zA-Z0-9]*", {"my.env-name", "MY_ENV.NAME", "MyEnvName1"})};
}

bool isValidIPv4(std::string_view value) {
  in_addr a;
  return inet_pton(AF_INET, std::string(value).c_str(), &a) == 1;
}

bool isValidIPv6(std::string_view value) {
  in6_addr a;
  return value.find(':') != std::string_view::npos &&
         inet_pton(AF_INET6, std::string(value).c_str(), &a) == 1;
}

bool isValidIP(std::string_view value) {
  return isValidIPv4(value) || isValidIPv6(value);
}

bool isValidCIDR(std::string_view value) {
  size_t slash = value.find('/');
  if (slash == std::string_view::npos)
    return false;
  std::string_view ip = value.substr(0, slash);
  std::string_view bits = value.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 ||
      !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  int n = std::stoi(std::string(bits));
  if (isValidIPv4(ip))
    return n <= 32;
  if (isValidIPv6(ip))
    return n <= 128;
  return false;
}

namespace {

using Labels = std::map<std::string, std::string>;
using NameCheck = std::vector<std::string> (*)(std::string_view);

void invalidEach(ErrorList& errs, const FieldPath& path, std::string_view value,
                 const std::vector<std::string>& messages) {
  for (const std::string& m : messages)
    errs.push_back(FieldError::invalid(path, badString(value), m));
}

void validateLabels(ErrorList& errs, const Labels& labels, const FieldPath& path) {
  for (const auto& [k, v] : labels) {
    invalidEach(errs, path, k, isQualifiedName(k));
    invalidEach(errs, path, v, isValidLabelValue(v));
  }
}

void validateAnnotations(ErrorList& errs, const Labels& annotations, const FieldPath& path) {
  constexpr size_t kTotalLimit = 256 * 1024;
  size_t total = 0;
  for (const auto& [k, v] : annotations) {
    invalidEach(errs, path, k, isQualifiedName(absl::AsciiStrToLower(k)));
    total += k.size() + v.size();
  }
  if (total > kTotalLimit) {
    errs.push_back(
        FieldError::tooLong(path, absl::StrCat("must have at most ", kTotalLimit, " bytes")));
  }
}

// Required value (or one of) from a fixed set; `supported` in the order printed.
void validateEnum(ErrorList& errs, const FieldPath& path, const std::string& value,
                  const std::vector<std::string>& supported, bool required = true) {
  if (value.empty()) {
    if (required)
      errs.push_back(FieldError::required(path));
    return;
  }
  if (std::find(supported.begin(), supported.end(), value) == supported.end()) {
    errs.push_back(FieldError::notSupported(path, badString(value), supported));
  }
}

void validateObjectMeta(ErrorList& errs, const ObjectMeta& meta, bool namespaced,
                        NameCheck nameCheck, const FieldPath& path = FieldPath("metadata")) {
  if (!meta.generateName.empty()) {
    // A prefix may end in '-': the server appends random characters.
    std::string masked = meta.generateName;
    if (masked.back() == '-')
      masked.back() = 'a';
    invalidEach(errs, path.child("generateName"), meta.generateName, nameCheck(masked));
  }
  if (meta.name.empty()) {
    if (meta.generateName.empty()) {
      errs.push_back(FieldError::required(path.child("name"), "name or generateName is required"));
    }
  } else {
    invalidEach(errs, path.child("name"), meta.name, nameCheck(meta.name));
  }
  if (namespaced) {
    // The namespace may be empty: the API request or the kubelet supplies it.
    if (!meta.namespace_.empty()) {
      invalidEach(errs, path.child("namespace"), meta.namespace_, isDns1123Label(meta.namespace_));
    }
  } else if (!meta.namespace_.empty()) {
    errs.push_back(FieldError::forbidden(path.child("namespace"), "not allowed on this type"));
  }
  if (meta.generation < 0) {
    errs.push_back(FieldError::invalid(path.child("generation"), badInt(meta.generation),
                                       std::string(kNonNegative)));
  }
  validateLabels(errs, meta.labels, path.child("labels"));
  validateAnnotations(errs, meta.annotations, path.child("annotations"));
  for (size_t i = 0; i < meta.ownerReferences.size(); ++i) {
    const OwnerReference& ref = meta.ownerReferences[i];
    FieldPath p = path.child("ownerReferences").index(i);
    if (ref.apiVersion.empty())
      errs.push_back(FieldError::required(p.child("apiVersion")));
    if (ref.kind.empty())
      errs.push_back(FieldError::required(p.child("kind")));
    if (ref.name.empty())
      errs.push_back(FieldError::required(p.child("name")));
    if (ref.uid.empty())
      errs.push_back(FieldError::required(p.child("uid")));
  }
}

void validateNonNegative(ErrorList& errs, const FieldPath& path, int64_t value) {
  if (value < 0)
    errs.push_back(FieldError::invalid(path, badInt(value), std::string(kNonNegative)));
}

void validatePortNumOrName(ErrorList& errs, const IntOrString& port, const FieldPath& path) {
  if (port.isInt()) {
    for (const std::string& m : isValidPortNum(port.intValue())) {
      errs.push_back(FieldError::invalid(path, badInt(port.intValue()), m));
    }
  } else {
    invalidEach(errs, path, port.str(), isValidPortName(port.str()));
  }
}

bool hasBacksteps(std::string_view path) {
  for (absl::string_view part : absl::StrSplit(sv(path), '/')) {
    if (part == "..")
      return true;
  }
  return false;
}

void validateRelativePath(ErrorList& errs, const std::string& path, const FieldPath& at) {
  if (absl::StartsWith(path, "/")) {
    errs.push_back(FieldError::invalid(at, badString(path), "must be a relative path"));
  }
  if (hasBacksteps(path))
    errs.push_back(FieldError::invalid(at, badString(path), "must not contain '..'"));
}

// --- Pod ---

struct ContainerContext {
  const std::set<std::string>* volumeNames;
  bool init;
};

void validateHTTPGet(ErrorList& errs, const HTTPGetAction& get, const FieldPath& path) {
  if (get.path.empty())
    errs.push_back(FieldError::required(path.child("path")));
  validatePortNumOrName(errs, get.port, path.child("port"));
  validateEnum(errs, path.child("scheme"), get.scheme, {"HTTP", "HTTPS"});
  for (size_t i = 0; i < get.httpHeaders.size(); ++i) {
    const std::string& name = get.httpHeaders[i].name;
    bool ok = !name.empty() &&
              std::all_of(name.begin(), name.end(), [](char c) { return isAlnum(c) || c == '-'; });
    if (!ok) {
      errs.push_back(FieldError::invalid(
          path.child("httpHeaders").index(i).child("name"), badString(name),
          regexError("a valid HTTP header must consist of alphanumeric characters or '-'",
                     "[-A-Za-z0-9]+", {"X-Header-Name"})));
    }
  }
}

// Exactly one of exec / httpGet / tcpSocket.
template <class H>
void validateHandler(ErrorList& errs, const H& h, const FieldPath& path) {
  int n = 0;
  if (h.exec) {
    ++n;
    if (h.exec->command.empty())
      errs.push_back(FieldError::required(path.child("exec").child("command")));
  }
  if (h.httpGet) {
    if (n++ > 0) {
      errs.push_back(
          FieldError::forbidden(path.child("httpGet"), "may not specify more than 1 handler type"));
    } else {
      validateHTTPGet(errs, *h.httpGet, path.child("httpGet"));
    }
  }
  if (h.tcpSocket) {
    if (n++ > 0) {
      errs.push_back(FieldError::forbidden(path.child("tcpSocket"),
                                           "may not specify more than 1 handler type"));
    } else {
      validatePortNumOrName(errs, h.tcpSocket->port, path.child("tcpSocket").child("port"));
    }
  }
  if (n == 0)
    errs.push_back(FieldError::required(path, "must specify a handler type"));
}

void validateProbe(ErrorList& errs, const Container& c, const std::optional<Probe>& probe,
                   const FieldPath& path, bool successMustBeOne) {
  if (!probe)
    return;
  validateHandler(errs, *probe, path);
  validateNonNegative(errs, path.child("initialDelaySeconds"), probe->initialDelaySeconds);
  validateNonNegative(errs, path.child("timeoutSeconds"), probe->timeoutSeconds);
  validateNonNegative(errs, path.child("periodSeconds"), probe->periodSeconds);
  validateNonNegative(errs, path.child("successThreshold"), probe->successThreshold);
  validateNonNegative(errs, path.child("failureThreshold"), probe->failureThreshold);
  if (probe->terminationGracePeriodSeconds && *probe->terminationGracePeriodSeconds <= 0) {
    errs.push_back(FieldError::invalid(path.child("terminationGracePeriodSeconds"),
                                       badInt(*probe->terminationGracePeriodSeconds),
                                       "must be greater than 0"));
  }
  if (successMustBeOne && probe->successThreshold != 1) {
    errs.push_back(FieldError::invalid(path.child("successThreshold"),
                                       badInt(probe->successThreshold), "must be 1"));
  }
  // A named port must name one of this container's ports, or the prober has
  // nothing to connect to.
  auto checkNamed = [&](const IntOrString& port, const FieldPath& at) {
    if (!port.isString() || port.str().empty() || !isValidPortName(port.str()).empty())
      return;
    for (const ContainerPort& p : c.ports) {
      if (p.name == port.str())
        return;
    }
    errs.push_back(FieldError::notFound(at, badString(port.str())));
  };
  if (probe->httpGet && !probe->exec)
    checkNamed(probe->httpGet->port, path.child("httpGet").child("port"));
  if (probe->tcpSocket && !probe->exec && !probe->httpGet) {
    checkNamed(probe->tcpSocket->port, path.child("tcpSocket").child("port"));
  }
}

const std::vector<std::string> kEnvFieldPaths = {"metadata.annotations",
                                                 "metadata.labels",
                                                 "metadata.name",
                                                 "metadata.namespace",
                                                 "metadata.uid",
                                                 "spec.nodeName",
                                                 "spec.serviceAccountName",
                                                 "status.hostIP",
                                                 "status.hostIPs",
                                                 "status.podIP",
                                                 "status.podIPs"};

void validateEnv(ErrorList& errs, const std::vector<EnvVar>& env, const FieldPath& path) {
  for (size_t i = 0; i < env.size(); ++i) {
    const EnvVar& e = env[i];
    FieldPath p = path.index(i);
    if (e.name.empty()) {
      errs.push_back(FieldError::required(p.child("name")));
    } else {
      invalidEach(errs, p.child("name"), e.name, isEnvVarName(e.name));
    }
    if (!e.valueFrom)
      continue;
    FieldPath vf = p.child("valueFrom");
    if (!e.valueFrom->fieldRef) {
      // kubenode reads fieldRef only; other sources (secretKeyRef, ...) arrive as
      // unknown-field warnings, so say what is supported rather than upstream's list.
      errs.push_back(FieldError::invalid(
          vf, badString(""), "must specify `fieldRef` (the only source kubenode supports)"));
      continue;
    }
    if (!e.value.empty()) {
      errs.push_back(
          FieldError::invalid(vf, badString(""), "may not be specified when `value` is not empty"));
    }
    const ObjectFieldSelector& ref = *e.valueFrom->fieldRef;
    FieldPath rp = vf.child("fieldRef");
    if (ref.apiVersion.empty())
      errs.push_back(FieldError::required(rp.child("apiVersion")));
    if (ref.fieldPath.empty()) {
      errs.push_back(FieldError::required(rp.child("fieldPath")));
    } else if (std::find(kEnvFieldPaths.begin(), kEnvFieldPaths.end(), ref.fieldPath) ==
               kEnvFieldPaths.end()) {
      // metadata.labels['key'] and metadata.annotations['key'] name one entry.
      bool subscript = (absl::StartsWith(ref.fieldPath, "metadata.labels['") ||
                        absl::StartsWith(ref.fieldPath, "metadata.annotations['")) &&
                       absl::EndsWith(ref.fieldPath, "']");
      if (!subscript) {
        errs.push_back(FieldError::notSupported(rp.child("fieldPath"), badString(ref.fieldPath),
                                                kEnvFieldPaths));
      }
    }
  }
}

bool isStandardContainerResource(const std::string& name) {
  return name == "cpu" || name == "memory" || name == "ephemeral-storage" ||
         absl::StartsWith(name, "hugepages-");
}

void validateResources(ErrorList& errs, const ResourceRequirements& r, const FieldPath& path) {
  auto checkNames = [&](const ResourceList& list, const FieldPath& p) {
    for (const auto& [name, q] : list) {
      FieldPath at = p.key(name);
      if (name.find('/') == std::string::npos) {
        if (!isStandardContainerResource(name)) {
          errs.push_back(FieldError::invalid(at, badString(name),
                                             "must be a standard resource for containers"));
        }
      } else {
        invalidEach(errs, at, name, isQualifiedName(name));
      }
      if (q.sign() < 0) {
        errs.push_back(FieldError::invalid(at, badString(q.toString()), std::string(kNonNegative)));
      }
    }
  };
  checkNames(r.limits, path.child("limits"));
  checkNames(r.requests, path.child("requests"));
  for (const auto& [name, request] : r.requests) {
    auto limit = r.limits.find(name);
    if (limit != r.limits.end() && request > limit->second) {
      errs.push_back(FieldError::invalid(path.child("requests"), badString(request.toString()),
                                         absl::StrCat("must be less than or equal to ", name,
                                                      " limit of ", limit->second.toString())));
    }
  }
}

void validateSeccomp(ErrorList& errs, const std::optional<SeccompProfile>& s,
                     const FieldPath& path) {
  if (!s)
    return;
  validateEnum(errs, path.child("type"), s->type, {"Localhost", "RuntimeDefault", "Unconfined"});
  if (s->type == "Localhost") {
    if (!s->localhostProfile) {
      errs.push_back(FieldError::required(path.child("localhostProfile"),
                                          "must be set when seccomp type is Localhost"));
    } else {
      validateRelativePath(errs, *s->localhostProfile, path.child("localhostProfile"));
    }
  } else if (s->localhostProfile) {
    errs.push_back(FieldError::invalid(path.child("localhostProfile"),
                                       badString(*s->localhostProfile),
                                       "can only be set when seccomp type is Localhost"));
  }
}

void validateId(ErrorList& errs, const std::optional<int64_t>& id, const FieldPath& path) {
  if (id && (*id < 0 || *id > 2147483647)) {
    errs.push_back(
        FieldError::invalid(path, badInt(*id), "must be between 0 and 2147483647, inclusive"));
  }
}

void validateSecurityContext(ErrorList& errs, const std::optional<SecurityContext>& sc,
                             const FieldPath& path) {
  if (!sc)
    return;
  validateId(errs, sc->runAsUser, path.child("runAsUser"));
  validateId(errs, sc->runAsGroup, path.child("runAsGroup"));
  if (sc->privileged.value_or(false) && sc->allowPrivilegeEscalation &&
      !*sc->allowPrivilegeEscalation) {
    errs.push_back(FieldError::invalid(path, BadValue{},
                                       "cannot set `allowPrivilegeEscalation` to false and "
                                       "`privileged` to true"));
  }
  validateSeccomp(errs, sc->seccompProfile, path.child("seccompProfile"));
}

void validateContainer(ErrorList& errs, const Container& c, const FieldPath& path,
                       const ContainerContext& ctx) {
  if (c.image.empty()) {
    errs.push_back(FieldError::required(path.child("image")));
  } else if (c.image != absl::StripAsciiWhitespace(c.image)) {
    errs.push_back(FieldError::invalid(path.child("image"), badString(c.image),
                                       "must not have leading or trailing whitespace"));
  }
  // Ports.
  std::set<std::string> portNames;
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const ContainerPort& p = c.ports[i];
    FieldPath pp = path.child("ports").index(i);
    if (!p.name.empty()) {
      std::vector<std::string> msgs = isValidPortName(p.name);
      if (!msgs.empty()) {
        invalidEach(errs, pp.child("name"), p.name, msgs);
      } else if (!portNames.insert(p.name).second) {
        errs.push_back(FieldError::duplicate(pp.child("name"), badString(p.name)));
      }
    }
    if (p.containerPort == 0) {
      errs.push_back(FieldError::required(pp.child("containerPort")));
    } else {
      for (const std::string& m : isValidPortNum(p.containerPort)) {
        errs.push_back(FieldError::invalid(pp.child("containerPort"), badInt(p.containerPort), m));
      }
    }
    if (p.hostPort != 0) {
      for (const std::string& m : isValidPortNum(p.hostPort)) {
        errs.push_back(FieldError::invalid(pp.child("hostPort"), badInt(p.hostPort), m));
      }
    }
    validateEnum(errs, pp.child("protocol"), p.protocol, {"SCTP", "TCP", "UDP"});
    if (!p.hostIP.empty() && !isValidIP(p.hostIP)) {
      errs.push_back(
          FieldError::invalid(pp.child("hostIP"), badString(p.hostIP), std::string(kInvalidIP)));
    }
  }
  validateEnv(errs, c.env, path.child("env"));
  validateResources(errs, c.resources, path.child("resources"));
  // Volume mounts.
  std::set<std::string> mountPaths;
  for (size_t i = 0; i < c.volumeMounts.size(); ++i) {
    const VolumeMount& m = c.volumeMounts[i];
    FieldPath mp = path.child("volumeMounts").index(i);
    if (m.name.empty()) {
      errs.push_back(FieldError::required(mp.child("name")));
    } else if (!ctx.volumeNames->count(m.name)) {
      errs.push_back(FieldError::notFound(mp.child("name"), badString(m.name)));
    }
    if (m.mountPath.empty()) {
      errs.push_back(FieldError::required(mp.child("mountPath")));
    } else {
      // Linux mounts need an absolute target; the runtime would refuse it later.
      if (m.mountPath[0] != '/') {
        errs.push_back(FieldError::invalid(mp.child("mountPath"), badString(m.mountPath),
                                           "must be an absolute path"));
      }
      if (!mountPaths.insert(m.mountPath).second) {
        errs.push_back(
            FieldError::invalid(mp.child("mountPath"), badString(m.mountPath), "must be unique"));
      }
    }
    if (!m.subPath.empty())
      validateRelativePath(errs, m.subPath, mp.child("subPath"));
  }
  // Probes and lifecycle.
  if (ctx.init) {
    for (const auto& [name, set] : {std::pair{"livenessProbe", c.livenessProbe.has_value()},
                                    std::pair{"readinessProbe", c.readinessProbe.has_value()},
                                    std::pair{"startupProbe", c.startupProbe.has_value()},
                                    std::pair{"lifecycle", c.lifecycle.has_value()}}) {
      if (set)
        errs.push_back(
            FieldError::forbidden(path.child(name), "may not be set for init containers"));
    }
  } else {
    validateProbe(errs, c, c.livenessProbe, path.child("livenessProbe"), true);
    validateProbe(errs, c, c.readinessProbe, path.child("readinessProbe"), false);
    validateProbe(errs, c, c.startupProbe, path.child("startupProbe"), true);
    if (c.lifecycle) {
      if (c.lifecycle->postStart) {
        validateHandler(errs, *c.lifecycle->postStart, path.child("lifecycle").child("postStart"));
      }
      if (c.lifecycle->preStop) {
        validateHandler(errs, *c.lifecycle->preStop, path.child("lifecycle").child("preStop"));
      }
    }
  }
  validateEnum(errs, path.child("imagePullPolicy"), c.imagePullPolicy,
               {"Always", "IfNotPresent", "Never"});
  validateEnum(errs, path.child("terminationMessagePolicy"), c.terminationMessagePolicy,
               {"FallbackToLogsOnError", "File"});
  if (c.terminationMessagePath.size() > 4096) {
    errs.push_back(
        FieldError::tooLong(path.child("terminationMessagePath"), "must have at most 4096 bytes"));
  }
  validateSecurityContext(errs, c.securityContext, path.child("securityContext"));
}

void validateVolumes(ErrorList& errs, const std::vector<Volume>& volumes, const FieldPath& path,
                     std::set<std::string>& names) {
  for (size_t i = 0; i < volumes.size(); ++i) {
    const Volume& v = volumes[i];
    FieldPath vp = path.index(i);
    if (v.name.empty()) {
      errs.push_back(FieldError::required(vp.child("name")));
    } else {
      invalidEach(errs, vp.child("name"), v.name, isDns1123Label(v.name));
      if (!names.insert(v.name).second) {
        errs.push_back(FieldError::duplicate(vp.child("name"), badString(v.name)));
      }
    }
    int sources = 0;
    if (v.hostPath) {
      ++sources;
      FieldPath hp = vp.child("hostPath");
      if (v.hostPath->path.empty()) {
        errs.push_back(FieldError::required(hp.child("path")));
      } else if (hasBacksteps(v.hostPath->path)) {
        errs.push_back(FieldError::invalid(hp.child("path"), badString(v.hostPath->path),
                                           "must not contain '..'"));
      }
      if (v.hostPath->type) {
        validateEnum(errs, hp.child("type"), *v.hostPath->type,
                     {"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                      "FileOrCreate", "Socket"},
                     /*required=*/false);
      }
    }
    if (v.emptyDir) {
      if (sources++ > 0) {
        errs.push_back(
            FieldError::forbidden(vp.child("emptyDir"), "may not specify more than 1 volume type"));
      } else {
        FieldPath ep = vp.child("emptyDir");
        const std::string& medium = v.emptyDir->medium;
        if (!medium.empty() && medium != "Memory" && !absl::StartsWith(medium, "HugePages")) {
          errs.push_back(FieldError::notSupported(ep.child("medium"), badString(medium),
                                                  {"", "HugePages", "Memory"}));
        }
        if (v.emptyDir->sizeLimit && v.emptyDir->sizeLimit->sign() < 0) {
          errs.push_back(FieldError::forbidden(
              ep.child("sizeLimit"), "SizeLimit field must be a valid resource quantity"));
        }
      }
    }
    if (sources == 0)
      errs.push_back(FieldError::required(
          vp, "must specify a volume type (kubenode supports emptyDir and hostPath)"));
  }
}

// A sysctl name: dot- or slash-separated segments of [a-z0-9] with inner - and _.
bool isSysctlName(std::string_view name) {
  if (name.size() > 253)
    return false;
  size_t start = 0;
  while (true) {
    size_t end = name.find_first_of("./", start);
    std::string_view segment =
        name.substr(start, end == std::string_view::npos ? end : end - start);
    if (segment.empty() || !isLowerAlnum(segment.front()) || !isLowerAlnum(segment.back())) {
      return false;
    }
    for (char c : segment) {
      if (!isLowerAlnum(c) && c != '-' && c != '_')
        return false;
    }
    if (end == std::string_view::npos)
      return true;
    start = end + 1;
  }
}

// spec.dnsConfig as the API server checks it: required with dnsPolicy None, at most 3
// nameservers (valid IPs), at most 32 searches, named options.
void validateDnsConfig(ErrorList& errs, const PodSpec& spec, const FieldPath& sp) {
  FieldPath dp = sp.child("dnsConfig");
  if (spec.dnsPolicy == "None" && !spec.dnsConfig) {
    errs.push_back(FieldError::required(dp, "must provide `dnsConfig` when `dnsPolicy` is None"));
    return;
  }
  if (!spec.dnsConfig)
    return;
  const PodDNSConfig& dns = *spec.dnsConfig;
  if (spec.dnsPolicy == "None" && dns.nameservers.empty()) {
    errs.push_back(
        FieldError::required(dp.child("nameservers"),
                             "must provide at least one DNS nameserver when `dnsPolicy` is None"));
  }
  if (dns.nameservers.size() > 3) {
    errs.push_back(FieldError::invalid(dp.child("nameservers"),
                                       badString(absl::StrJoin(dns.nameservers, ",")),
                                       "must not have more than 3 nameservers"));
  }
  for (size_t i = 0; i < dns.nameservers.size(); ++i) {
    if (!isValidIP(dns.nameservers[i])) {
      errs.push_back(FieldError::invalid(dp.child("nameservers").index(i),
                                         badString(dns.nameservers[i]),
                                         "must be a valid IP address"));
    }
  }
  if (dns.searches.size() > 32) {
    errs.push_back(FieldError::invalid(dp.child("searches"),
                                       badString(absl::StrJoin(dns.searches, ",")),
                                       "must not have more than 32 search paths"));
  }
  for (size_t i = 0; i < dns.searches.size(); ++i) {
    // A trailing dot is allowed, as in resolv.conf.
    std::string search = dns.searches[i];
    if (!search.empty() && search.back() == '.')
      search.pop_back();
    invalidEach(errs, dp.child("searches").index(i), dns.searches[i], isDns1123Subdomain(search));
  }
  for (size_t i = 0; i < dns.options.size(); ++i) {
    if (dns.options[i].name.empty()) {
      errs.push_back(FieldError::required(dp.child("options").index(i).child("name")));
    }
  }
}

}  // namespace

ErrorList validatePod(const Pod& pod) {
  ErrorList errs;
  validateObjectMeta(errs, pod.metadata, true, isDns1123Subdomain);
  const PodSpec& spec = pod.spec;
  FieldPath sp("spec");
  std::set<std::string> volumeNames;
  validateVolumes(errs, spec.volumes, sp.child("volumes"), volumeNames);

  if (spec.containers.empty())
    errs.push_back(FieldError::required(sp.child("containers")));
  // Container names are unique across init and app containers: both become
  // io.kubernetes.container.name labels in the same sandbox.
  std::set<std::string> containerNames;
  auto checkContainers = [&](const std::vector<Container>& list, const char* field, bool init) {
    for (size_t i = 0; i < list.size(); ++i) {
      const Container& c = list[i];
      FieldPath cp = sp.child(field).index(i);
      if (c.name.empty()) {
        errs.push_back(FieldError::required(cp.child("name")));
      } else {
        invalidEach(errs, cp.child("name"), c.name, isDns1123Label(c.name));
        if (!containerNames.insert(c.name).second) {
          errs.push_back(FieldError::duplicate(cp.child("name"), badString(c.name)));
        }
      }
      validateContainer(errs, c, cp, ContainerContext{&volumeNames, init});
      if (spec.hostNetwork) {
        for (size_t j = 0; j < c.ports.size(); ++j) {
          if (c.ports[j].hostPort != c.ports[j].containerPort) {
            errs.push_back(FieldError::invalid(
                cp.child("ports").index(j).child("hostPort"), badInt(c.ports[j].hostPort),
                "must match `containerPort` when `hostNetwork` is true"));
          }
        }
      }
    }
  };
  checkContainers(spec.initContainers, "initContainers", true);
  checkContainers(spec.containers, "containers", false);

  validateEnum(errs, sp.child("restartPolicy"), spec.restartPolicy,
               {"Always", "Never", "OnFailure"});
  validateEnum(errs, sp.child("dnsPolicy"), spec.dnsPolicy,
               {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"});
  validateDnsConfig(errs, spec, sp);
  for (size_t i = 0; i < spec.hostAliases.size(); ++i) {
    const HostAlias& alias = spec.hostAliases[i];
    FieldPath ap = sp.child("hostAliases").index(i);
    if (!isValidIP(alias.ip)) {
      errs.push_back(
          FieldError::invalid(ap.child("ip"), badString(alias.ip), "must be a valid IP address"));
    }
    for (size_t j = 0; j < alias.hostnames.size(); ++j) {
      invalidEach(errs, ap.child("hostnames").index(j), alias.hostnames[j],
                  isDns1123Subdomain(alias.hostnames[j]));
    }
  }
  if (spec.terminationGracePeriodSeconds) {
    validateNonNegative(errs, sp.child("terminationGracePeriodSeconds"),
                        *spec.terminationGracePeriodSeconds);
  }
  if (spec.activeDeadlineSeconds &&
      (*spec.activeDeadlineSeconds < 1 || *spec.activeDeadlineSeconds > 4294967295LL)) {
    errs.push_back(FieldError::invalid(sp.child("activeDeadlineSeconds"),
                                       badInt(*spec.activeDeadlineSeconds),
                                       "must be between 1 and 4294967295, inclusive"));
  }
  validateLabels(errs, spec.nodeSelector, sp.child("nodeSelector"));
  if (!spec.nodeName.empty()) {
    invalidEach(errs, sp.child("nodeName"), spec.nodeName, isDns1123Subdomain(spec.nodeName));
  }
  if (!spec.serviceAccountName.empty()) {
    invalidEach(errs, sp.child("serviceAccountName"), spec.serviceAccountName,
                isDns1123Subdomain(spec.serviceAccountName));
  }
  if (!spec.hostname.empty()) {
    invalidEach(errs, sp.child("hostname"), spec.hostname, isDns1123Label(spec.hostname));
  }
  if (!spec.subdomain.empty()) {
    invalidEach(errs, sp.child("subdomain"), spec.subdomain, isDns1123Label(spec.subdomain));
  }
  for (size_t i = 0; i < spec.tolerations.size(); ++i) {
    const Toleration& t = spec.tolerations[i];
    FieldPath tp = sp.child("tolerations").index(i);
    if (!t.key.empty())
      invalidEach(errs, tp.child("key"), t.key, isQualifiedName(t.key));
    // An empty key matches every taint, which only makes sense with Exists.
    if (t.key.empty() && t.operator_ != "Exists") {
      errs.push_back(FieldError::invalid(tp.child("operator"), badString(t.operator_),
                                         "operator must be Exists when `key` is empty, which "
                                         "means \"match all values and all keys\""));
    }
    if (t.operator_ == "Exists" && !t.value.empty()) {
      errs.push_back(FieldError::invalid(tp.child("operator"), badString(t.value),
                                         "value must be empty when `operator` is 'Exists'"));
    } else if (t.operator_ == "Equal" || t.operator_.empty()) {
      invalidEach(errs, tp.child("value"), t.value, isValidLabelValue(t.value));
    } else if (t.operator_ != "Exists") {
      errs.push_back(FieldError::notSupported(tp.child("operator"), badString(t.operator_),
                                              {"Equal", "Exists"}));
    }
    if (t.tolerationSeconds && t.effect != "NoExecute") {
      errs.push_back(
          FieldError::invalid(tp.child("effect"), badString(t.effect),
                              "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    validateEnum(errs, tp.child("effect"), t.effect,
                 {"NoExecute", "NoSchedule", "PreferNoSchedule"},
                 /*required=*/false);
  }
  if (spec.securityContext) {
    FieldPath scp = sp.child("securityContext");
    validateId(errs, spec.securityContext->runAsUser, scp.child("runAsUser"));
    validateId(errs, spec.securityContext->runAsGroup, scp.child("runAsGroup"));
    validateId(errs, spec.securityContext->fsGroup, scp.child("fsGroup"));
    validateSeccomp(errs, spec.securityContext->seccompProfile, scp.child("seccompProfile"));
    const std::vector<Sysctl>& sysctls = spec.securityContext->sysctls;
    for (size_t i = 0; i < sysctls.size(); ++i) {
      FieldPath np = scp.child("sysctls").index(i).child("name");
      if (sysctls[i].name.empty()) {
        errs.push_back(FieldError::required(np));
      } else if (!isSysctlName(sysctls[i].name)) {
        errs.push_back(FieldError::invalid(
            np, badString(sysctls[i].name),
            "must have at most 253 characters and match regex "
            "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"));
      }
    }
  }
  return errs;
}

ErrorList validateService(const Service& svc) {
  ErrorList errs;
  validateObjectMeta(errs, svc.metadata, true, isDns1035Label);
  const ServiceSpec& spec = svc.spec;
  FieldPath sp("spec");
  validateEnum(errs, sp.child("type"), spec.type,
               {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"});
  bool headless = spec.clusterIP == "None";
  bool externalName = spec.type == "ExternalName";
  bool nodePorts = spec.type == "NodePort" || spec.type == "LoadBalancer";

  if (externalName) {
    if (spec.externalName.empty()) {
      errs.push_back(FieldError::required(sp.child("externalName")));
    } else {
      invalidEach(errs, sp.child("externalName"), spec.externalName,
                  isDns1123Subdomain(spec.externalName));
    }
    if (!spec.clusterIP.empty()) {
      errs.push_back(
          FieldError::forbidden(sp.child("clusterIP"), "may not be set for ExternalName services"));
    }
  }

  if (spec.ports.empty() && !headless && !externalName) {
    errs.push_back(FieldError::required(sp.child("ports")));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < spec.ports.size(); ++i) {
    const ServicePort& p = spec.ports[i];
    FieldPath pp = sp.child("ports").index(i);
    if (spec.ports.size() > 1 && p.name.empty()) {
      errs.push_back(FieldError::required(pp.child("name")));
    } else if (!p.name.empty()) {
      invalidEach(errs, pp.child("name"), p.name, isDns1123Label(p.name));
      if (!names.insert(p.name).second)
        errs.push_back(FieldError::duplicate(pp.child("name"), badString(p.name)));
    }
    for (const std::string& m : isValidPortNum(p.port)) {
      errs.push_back(FieldError::invalid(pp.child("port"), badInt(p.port), m));
    }
    validateEnum(errs, pp.child("protocol"), p.protocol, {"SCTP", "TCP", "UDP"});
    validatePortNumOrName(errs, p.targetPort, pp.child("targetPort"));
    if (p.appProtocol)
      invalidEach(errs, pp.child("appProtocol"), *p.appProtocol, isQualifiedName(*p.appProtocol));
    if (p.nodePort != 0) {
      if (!nodePorts) {
        errs.push_back(FieldError::forbidden(
            pp.child("nodePort"),
            absl::StrCat("may not be used when `type` is '", spec.type, "'")));
      } else {
        for (const std::string& m : isValidPortNum(p.nodePort)) {
          errs.push_back(FieldError::invalid(pp.child("nodePort"), badInt(p.nodePort), m));
        }
      }
    }
  }

  // Cluster IPs: "None" (headless) alone, or valid addresses, first matching clusterIP.
  if (!spec.clusterIP.empty() && spec.clusterIP != "None" && !isValidIP(spec.clusterIP)) {
    errs.push_back(FieldError::invalid(sp.child("clusterIP"), badString(spec.clusterIP),
                                       std::string(kInvalidIP)));
  }
  if (!spec.clusterIPs.empty() && spec.clusterIPs[0] != spec.clusterIP) {
    errs.push_back(FieldError::invalid(sp.child("clusterIPs").index(0),
                                       badString(spec.clusterIPs[0]),
                                       "must match `clusterIP` when set"));
  }
  for (size_t i = 1; i < spec.clusterIPs.size(); ++i) {
    const std::string& ip = spec.clusterIPs[i];
    if (ip == "None") {
      errs.push_back(FieldError::invalid(sp.child("clusterIPs").index(i), badString(ip),
                                         "'None' may only be the only value"));
    } else if (!isValidIP(ip)) {
      errs.push_back(FieldError::invalid(sp.child("clusterIPs").index(i), badString(ip),
                                         std::string(kInvalidIP)));
    }
  }
  for (size_t i = 0; i < spec.externalIPs.size(); ++i) {
    if (!isValidIP(spec.externalIPs[i])) {
      errs.push_back(FieldError::invalid(sp.child("externalIPs").index(i),
                                         badString(spec.externalIPs[i]), std::string(kInvalidIP)));
    }
  }

  validateEnum(errs, sp.child("sessionAffinity"), spec.sessionAffinity, {"ClientIP", "None"});
  if (spec.sessionAffinity == "ClientIP") {
    FieldPath cp = sp.child("sessionAffinityConfig").child("clientIP").child("timeoutSeconds");
    if (!spec.sessionAffinityConfig || !spec.sessionAffinityConfig->clientIP ||
        !spec.sessionAffinityConfig->clientIP->timeoutSeconds) {
      errs.push_back(FieldError::required(cp));
    } else {
      int32_t t = *spec.sessionAffinityConfig->clientIP->timeoutSeconds;
      if (t <= 0 || t > 86400) {
        errs.push_back(
            FieldError::invalid(cp, badInt(t), "must be greater than 0 and less than 86400"));
      }
    }
  } else if (spec.sessionAffinity == "None" && spec.sessionAffinityConfig) {
    errs.push_back(FieldError::invalid(sp.child("sessionAffinityConfig"), BadValue{},
                                       "must not be set when session affinity is None"));
  }

  validateLabels(errs, spec.selector, sp.child("selector"));

  for (size_t i = 0; i < spec.loadBalancerSourceRanges.size(); ++i) {
    FieldPath rp = sp.child("loadBalancerSourceRanges").index(i);
    if (spec.type != "LoadBalancer") {
      errs.push_back(FieldError::forbidden(rp, "may only be used when `type` is 'LoadBalancer'"));
      break;
    }
    if (!isValidCIDR(spec.loadBalancerSourceRanges[i])) {
      errs.push_back(FieldError::invalid(
          rp, badString(spec.loadBalancerSourceRanges[i]),
          "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 "));
    }
  }

  bool externallyAccessible = nodePorts || (spec.type == "ClusterIP" && !spec.externalIPs.empty());
  if (!externallyAccessible) {
    if (!spec.externalTrafficPolicy.empty()) {
      errs.push_back(FieldError::invalid(sp.child("externalTrafficPolicy"),
                                         badString(spec.externalTrafficPolicy),
                                         "may only be set for externally-accessible services"));
    }
  } else {
    validateEnum(errs, sp.child("externalTrafficPolicy"), spec.externalTrafficPolicy,
                 {"Cluster", "Local"},
                 /*required=*/nodePorts);
  }
  if (!externalName) {
    if (!spec.internalTrafficPolicy) {
      errs.push_back(FieldError::required(sp.child("internalTrafficPolicy")));
    } else {
      validateEnum(errs, sp.child("internalTrafficPolicy"), *spec.internalTrafficPolicy,
                   {"Cluster", "Local"});
    }
  }
  std::set<std::string> families;
  for (size_t i = 0; i < spec.ipFamilies.size(); ++i) {
    FieldPath fp = sp.child("ipFamilies").index(i);
    validateEnum(errs, fp, spec.ipFamilies[i], {"IPv4", "IPv6"});
    if (!families.insert(spec.ipFamilies[i]).second) {
      errs.push_back(FieldError::duplicate(fp, badString(spec.ipFamilies[i])));
    }
  }
  if (spec.ipFamilyPolicy) {
    validateEnum(errs, sp.child("ipFamilyPolicy"), *spec.ipFamilyPolicy,
                 {"PreferDualStack", "RequireDualStack", "SingleStack"});
  }
  return errs;
}

namespace {

// Addresses a Service's backends may not use (apimachinery's ValidateNonSpecialIP).
std::optional<std::string> specialIPError(std::string_view ip) {
  if (ip == "0.0.0.0" || ip == "::")
    return "may not be unspecified (0.0.0.0, ::)";
  if (absl::StartsWith(sv(ip), "127.") || ip == "::1")
    return "may not be in the loopback range (127.0.0.0/8, ::1/128)";
  if (absl::StartsWith(sv(ip), "169.254.") ||
      absl::StartsWith(absl::AsciiStrToLower(sv(ip)), "fe80:")) {
    return "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
  }
  if (absl::StartsWith(sv(ip), "224.0.0.") ||
      absl::StartsWith(absl::AsciiStrToLower(sv(ip)), "ff02:")) {
    return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
  }
  return std::nullopt;
}

}  // namespace

ErrorList validateEndpointSlice(const EndpointSlice& slice) {
  ErrorList errs;
  validateObjectMeta(errs, slice.metadata, true, isDns1123Subdomain);
  validateEnum(errs, FieldPath("addressType"), slice.addressType, {"FQDN", "IPv4", "IPv6"});
  constexpr size_t kMaxEndpoints = 1000;
  constexpr size_t kMaxAddresses = 100;
  if (slice.endpoints.size() > kMaxEndpoints) {
    errs.push_back(FieldError{ErrorType::kTooMany, FieldPath("endpoints"),
                              badInt(static_cast<int64_t>(slice.endpoints.size())),
                              absl::StrCat("must have at most ", kMaxEndpoints, " items")});
  }
  for (size_t i = 0; i < slice.endpoints.size(); ++i) {
    const Endpoint& e = slice.endpoints[i];
    FieldPath ep = FieldPath("endpoints").index(i);
    FieldPath ap = ep.child("addresses");
    if (e.addresses.empty()) {
      errs.push_back(FieldError::required(ap, "must contain at least 1 address"));
    } else if (e.addresses.size() > kMaxAddresses) {
      errs.push_back(FieldError{ErrorType::kTooMany, ap,
                                badInt(static_cast<int64_t>(e.addresses.size())),
                                absl::StrCat("must have at most ", kMaxAddresses, " items")});
    }
    for (size_t j = 0; j < e.addresses.size(); ++j) {
      const std::string& a = e.addresses[j];
      if (slice.addressType == "IPv4" || slice.addressType == "IPv6") {
        bool v4 = slice.addressType == "IPv4";
        if (v4 ? !isValidIPv4(a) : !isValidIPv6(a)) {
          errs.push_back(FieldError::invalid(
              ap.index(j), badString(a),
              v4 ? "must be a valid IPv4 address" : "must be a valid IPv6 address"));
        } else if (auto special = specialIPError(a)) {
          errs.push_back(FieldError::invalid(ap.index(j), badString(a), *special));
        }
      } else if (slice.addressType == "FQDN") {
        std::string_view name = a;
        if (absl::EndsWith(sv(name), "."))
          name.remove_suffix(1);
        invalidEach(errs, ap.index(j), a, isDns1123Subdomain(name));
        if (name.find('.') == std::string_view::npos) {
          errs.push_back(FieldError::invalid(
              ap.index(j), badString(a),
              "should be a domain with at least two segments separated by dots"));
        }
      }
    }
    if (e.nodeName)
      invalidEach(errs, ep.child("nodeName"), *e.nodeName, isDns1123Subdomain(*e.nodeName));
    if (e.hostname)
      invalidEach(errs, ep.child("hostname"), *e.hostname, isDns1123Label(*e.hostname));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < slice.ports.size(); ++i) {
    const EndpointPort& p = slice.ports[i];
    FieldPath pp = FieldPath("ports").index(i);
    std::string name = p.name.value_or("");
    if (!name.empty())
      invalidEach(errs, pp.child("name"), name, isDns1123Label(name));
    if (!names.insert(name).second)
      errs.push_back(FieldError::duplicate(pp.child("name"), badString(name)));
    if (!p.protocol) {
      errs.push_back(FieldError::required(pp.child("protocol")));
    } else {
      validateEnum(errs, pp.child("protocol"), *p.protocol, {"SCTP", "TCP", "UDP"});
    }
    if (p.port) {
      for (const std::string& m : isValidPortNum(*p.port)) {
        errs.push_back(FieldError::invalid(pp.child("port"), badInt(*p.port), m));
      }
    }
    if (p.appProtocol)
      invalidEach(errs, pp.child("appProtocol"), *p.appProtocol, isQualifiedName(*p.appProtocol));
  }
  return errs;
}

ErrorList validateNode(const Node& node) {
  ErrorList errs;
  validateObjectMeta(errs, node.metadata, false, isDns1123Subdomain);
  FieldPath sp("spec");
  for (size_t i = 0; i < node.spec.podCIDRs.size(); ++i) {
    if (!isValidCIDR(node.spec.podCIDRs[i])) {
      errs.push_back(
          FieldError::invalid(sp.child("podCIDRs").index(i), badString(node.spec.podCIDRs[i]),
                              "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
    }
  }
  if (node.spec.podCIDRs.size() > 2) {
    errs.push_back(FieldError{ErrorType::kTooMany, sp.child("podCIDRs"),
                              badInt(static_cast<int64_t>(node.spec.podCIDRs.size())),
                              "must have at most 2 items"});
  }
  if (!node.spec.podCIDR.empty() && !node.spec.podCIDRs.empty() &&
      node.spec.podCIDR != node.spec.podCIDRs[0]) {
    errs.push_back(FieldError::invalid(sp.child("podCIDRs").index(0),
                                       badString(node.spec.podCIDRs[0]), "must match `podCIDR`"));
  }
  for (size_t i = 0; i < node.spec.taints.size(); ++i) {
    const Taint& t = node.spec.taints[i];
    FieldPath tp = sp.child("taints").index(i);
    invalidEach(errs, tp.child("key"), t.key, isQualifiedName(t.key));
    if (!t.value.empty())
      invalidEach(errs, tp.child("value"), t.value, isValidLabelValue(t.value));
    validateEnum(errs, tp.child("effect"), t.effect,
                 {"NoExecute", "NoSchedule", "PreferNoSchedule"});
  }
  return errs;
}

ErrorList validateLease(const Lease& lease) {
  ErrorList errs;
  validateObjectMeta(errs, lease.metadata, true, isDns1123Subdomain);
  FieldPath sp("spec");
  if (lease.spec.leaseDurationSeconds && *lease.spec.leaseDurationSeconds <= 0) {
    errs.push_back(FieldError::invalid(sp.child("leaseDurationSeconds"),
                                       badInt(*lease.spec.leaseDurationSeconds),
                                       "must be greater than 0"));
  }
  if (lease.spec.leaseTransitions) {
    validateNonNegative(errs, sp.child("leaseTransitions"), *lease.spec.leaseTransitions);
  }
  return errs;
}

ErrorList validateEvent(const Event& event) {
  ErrorList errs;
  validateObjectMeta(errs, event.metadata, true, isDns1123Subdomain);
  validateNonNegative(errs, FieldPath("count"), event.count);
  if (!event.type.empty())
    validateEnum(errs, FieldPath("type"), event.type, {"Normal", "Warning"});
  return errs;
}

ErrorList validateNamespace(const Namespace& ns) {
  ErrorList errs;
  validateObjectMeta(errs, ns.metadata, false, isDns1123Label);
  return errs;
}

namespace {

ErrorList validateOne(const Pod& o) {
  return validatePod(o);
}
ErrorList validateOne(const Service& o) {
  return validateService(o);
}
ErrorList validateOne(const EndpointSlice& o) {
  return validateEndpointSlice(o);
}
ErrorList validateOne(const Node& o) {
  return validateNode(o);
}
ErrorList validateOne(const Lease& o) {
  return validateLease(o);
}
ErrorList validateOne(const Event& o) {
  return validateEvent(o);
}
ErrorList validateOne(const Namespace& o) {
  return validateNamespace(o);
}
ErrorList validateOne(const Status&) {
  return {};
}

template <class T>
ErrorList validateOne(const List<T>& list) {
  ErrorList errs;
  for (size_t i = 0; i < list.items.size(); ++i) {
    std::string prefix = FieldPath("items").index(i).toString();
    for (FieldError& e : validateOne(list.items[i])) {
      e.path = e.path.empty() ? FieldPath(prefix)
                              : FieldPath(absl::StrCat(prefix, ".", e.path.toString()));
      errs.push_back(std::move(e));
    }
  }
  return errs;
}

}  // namespace

ErrorList validate(const Object& object) {
  return std::visit([](const auto& o) { return validateOne(o); }, object);
}

}  // namespace kubenode::api
