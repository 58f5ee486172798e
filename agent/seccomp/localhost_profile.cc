#include "agent/seccomp/localhost_profile.h"

#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

namespace kubenode::agent::seccomp {
namespace {

using Json = nlohmann::json;

absl::Status invalid(std::string_view source, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}: {}", source, field, what));
}

// Owns a libseccomp filter context.
struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

// The action names runc accepts (libcontainer/seccomp), without their errno.
enum class Action {
  kKill,
  kKillProcess,
  kKillThread,
  kTrap,
  kErrno,
  kTrace,
  kAllow,
  kLog,
  kNotify
};

const std::map<std::string, Action, std::less<>>& actionNames() {
  static const auto* names = new std::map<std::string, Action, std::less<>>{
      {"SCMP_ACT_KILL", Action::kKill},
      {"SCMP_ACT_KILL_PROCESS", Action::kKillProcess},
      {"SCMP_ACT_KILL_THREAD", Action::kKillThread},
      {"SCMP_ACT_TRAP", Action::kTrap},
      {"SCMP_ACT_ERRNO", Action::kErrno},
      {"SCMP_ACT_TRACE", Action::kTrace},
      {"SCMP_ACT_ALLOW", Action::kAllow},
      {"SCMP_ACT_LOG", Action::kLog},
      {"SCMP_ACT_NOTIFY", Action::kNotify},
  };
  return *names;
}

std::string knownList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string knownActions() {
  std::vector<std::string> names;
  for (const auto& [name, action] : actionNames())
    names.push_back(name);
  return knownList(names);
}

// The libseccomp action for a name and an optional errno (EPERM when absent, as runc does).
absl::StatusOr<uint32_t> toAction(const Json& name, const Json* errnoRet, std::string_view source,
                                  std::string_view field, std::string_view errnoField) {
  if (!name.is_string())
    return invalid(source, field, "must be a string naming a seccomp action");
  auto it = actionNames().find(name.get<std::string>());
  if (it == actionNames().end()) {
    return invalid(source, field,
                   fmt::format("unknown action \"{}\"; expected one of: {}",
                               name.get<std::string>(), knownActions()));
  }
  uint32_t errnoValue = EPERM;
  if (errnoRet != nullptr && !errnoRet->is_null()) {
    if (!errnoRet->is_number_unsigned() || errnoRet->get<uint64_t>() > 0xffff)
      return invalid(source, errnoField, "must be an errno number between 0 and 65535");
    // runc refuses an errno for any other action: it would be silently meaningless.
    if (it->second != Action::kErrno && it->second != Action::kTrace) {
      return invalid(
          source, errnoField,
          fmt::format("only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not {}", it->first));
    }
    errnoValue = errnoRet->get<uint32_t>();
  }
  switch (it->second) {
    case Action::kKill:
      return SCMP_ACT_KILL;
    case Action::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case Action::kKillThread:
      return SCMP_ACT_KILL_THREAD;
    case Action::kTrap:
      return SCMP_ACT_TRAP;
    case Action::kErrno:
      return SCMP_ACT_ERRNO(errnoValue);
    case Action::kTrace:
      return SCMP_ACT_TRACE(errnoValue);
    case Action::kAllow:
      return SCMP_ACT_ALLOW;
    case Action::kLog:
      return SCMP_ACT_LOG;
    case Action::kNotify:
      return SCMP_ACT_NOTIFY;
  }
  return SCMP_ACT_KILL;
}

const std::map<std::string, scmp_compare, std::less<>>& operatorNames() {
  static const auto* names = new std::map<std::string, scmp_compare, std::less<>>{
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  return *names;
}

const std::set<std::string, std::less<>> kFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

// One argument comparison of syscalls[i].args[j].
absl::StatusOr<scmp_arg_cmp> toArg(const Json& arg, std::string_view source,
                                   const std::string& field) {
  if (!arg.is_object())
    return invalid(source, field, "must be an object with index, value, valueTwo and op");
  scmp_arg_cmp cmp{};
  const auto index = arg.find("index");
  if (index == arg.end() || !index->is_number_unsigned() || index->get<uint64_t>() > 5)
    return invalid(source, field + ".index", "must be a syscall argument index from 0 to 5");
  cmp.arg = index->get<unsigned>();
  for (const char* key : {"value", "valueTwo"}) {
    const auto v = arg.find(key);
    if (v != arg.end() && !v->is_null() && !v->is_number_unsigned())
      return invalid(source, fmt::format("{}.{}", field, key), "must be an unsigned integer");
  }
  cmp.datum_a = arg.value("value", uint64_t{0});
  cmp.datum_b = arg.value("valueTwo", uint64_t{0});
  const auto op = arg.find("op");
  std::vector<std::string> ops;
  for (const auto& [name, value] : operatorNames())
    ops.push_back(name);
  if (op == arg.end() || !op->is_string())
    return invalid(source, field + ".op", fmt::format("must be one of: {}", knownList(ops)));
  const auto it = operatorNames().find(op->get<std::string>());
  if (it == operatorNames().end()) {
    return invalid(source, field + ".op",
                   fmt::format("unknown operator \"{}\"; expected one of: {}",
                               op->get<std::string>(), knownList(ops)));
  }
  cmp.op = it->second;
  return cmp;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token; 0 when unknown.
uint32_t toArch(const std::string& name) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  if (name.rfind(kPrefix, 0) != 0)
    return 0;
  std::string token = name.substr(kPrefix.size());
  for (char& c : token)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(token.c_str());
}

absl::Status compileRule(scmp_filter_ctx ctx, const Json& rule, uint32_t defaultAction,
                         bool hasListener, std::string_view source, const std::string& field) {
  if (!rule.is_object())
    return invalid(source, field, "must be an object with names, action and args");
  if (rule.contains("name") && !rule.contains("names")) {
    // containerd reads only "names": a rule in the old one-name form would be dropped.
    return invalid(source, field + ".name",
                   "the one-name form is not read by the runtime; use \"names\": [...]");
  }
  const auto names = rule.find("names");
  if (names == rule.end() || !names->is_array())
    return invalid(source, field + ".names", "must be a list of syscall names");
  const auto actionIt = rule.find("action");
  if (actionIt == rule.end())
    return invalid(source, field + ".action", "must be set");
  const auto errnoIt = rule.find("errnoRet");
  absl::StatusOr<uint32_t> action = toAction(*actionIt, errnoIt == rule.end() ? nullptr : &*errnoIt,
                                             source, field + ".action", field + ".errnoRet");
  if (!action.ok())
    return action.status();
  if (*action == SCMP_ACT_NOTIFY && !hasListener)
    return invalid(source, field + ".action", "SCMP_ACT_NOTIFY needs listenerPath to be set");

  std::vector<scmp_arg_cmp> args;
  const auto argsIt = rule.find("args");
  if (argsIt != rule.end() && !argsIt->is_null()) {
    if (!argsIt->is_array())
      return invalid(source, field + ".args", "must be a list of argument comparisons");
    for (size_t j = 0; j < argsIt->size(); ++j) {
      absl::StatusOr<scmp_arg_cmp> cmp =
          toArg((*argsIt)[j], source, fmt::format("{}.args[{}]", field, j));
      if (!cmp.ok())
        return cmp.status();
      args.push_back(*cmp);
    }
  }
  // libseccomp takes one comparison per argument in a rule; runc turns several
  // comparisons of the same argument into one rule per comparison (their OR). Do the same
  // so that what we compile is what runc will compile.
  std::set<unsigned> indexes;
  bool repeated = false;
  for (const scmp_arg_cmp& a : args)
    repeated |= !indexes.insert(a.arg).second;

  for (size_t n = 0; n < names->size(); ++n) {
    const std::string nameField = fmt::format("{}.names[{}]", field, n);
    if (!(*names)[n].is_string())
      return invalid(source, nameField, "must be a syscall name");
    const std::string name = (*names)[n].get<std::string>();
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR)
      return invalid(source, nameField, fmt::format("unknown syscall \"{}\"", name));
    // A rule with the default action is refused by libseccomp and means nothing; runc
    // skips it, so do we.
    if (*action == defaultAction)
      continue;
    std::vector<std::vector<scmp_arg_cmp>> rules;
    if (repeated) {
      for (const scmp_arg_cmp& a : args)
        rules.push_back({a});
    } else {
      rules.push_back(args);
    }
    for (const auto& r : rules) {
      const int rc = seccomp_rule_add_array(ctx, *action, nr, static_cast<unsigned>(r.size()),
                                            r.empty() ? nullptr : r.data());
      if (rc < 0) {
        return invalid(
            source, nameField,
            fmt::format("libseccomp refuses the rule for \"{}\": {}", name, std::strerror(-rc)));
      }
    }
  }
  return absl::OkStatus();
}

// "[json.exception.parse_error.101] parse error at line 1, column 3: ..." -> from "parse".
std::string jsonMessage(const std::exception& e) {
  std::string what = e.what();
  const size_t close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

bool escapes(std::string_view name) {
  std::string_view rest = name;
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part == "..")
      return true;
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
  return false;
}

// The file's text; kNotFound when missing, kPermissionDenied when unreadable (a directory,
// no permission).
absl::StatusOr<std::string> readProfile(const std::string& path, std::string_view name) {
  auto failure = [&](int err) -> absl::Status {
    const std::string what =
        fmt::format("seccomp profile \"{}\" {}: {}: {}", name,
                    err == ENOENT ? "not found" : "cannot be read", path, std::strerror(err));
    if (err == ENOENT || err == ENOTDIR)
      return absl::NotFoundError(what);
    return absl::PermissionDeniedError(what);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return failure(errno);
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return failure(err);
    }
    if (n == 0)
      break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

std::string localhostProfilePath(std::string_view rootDir, std::string_view localhostProfile) {
  std::string dir(rootDir);
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  return fmt::format("{}/seccomp/{}", dir, localhostProfile);
}

absl::Status validateProfile(std::string_view json, std::string_view source) {
  Json profile;
  try {
    profile = Json::parse(json.begin(), json.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("{}: not a valid JSON seccomp profile: {}", source, jsonMessage(e)));
  }
  if (!profile.is_object()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: a seccomp profile must be a JSON object with defaultAction and syscalls", source));
  }
  const auto def = profile.find("defaultAction");
  if (def == profile.end())
    return invalid(source, "defaultAction", "must be set");
  const auto defErrno = profile.find("defaultErrnoRet");
  absl::StatusOr<uint32_t> defaultAction =
      toAction(*def, defErrno == profile.end() ? nullptr : &*defErrno, source, "defaultAction",
               "defaultErrnoRet");
  if (!defaultAction.ok())
    return defaultAction.status();
  if (*defaultAction == SCMP_ACT_NOTIFY)
    return invalid(source, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");

  Filter filter(seccomp_init(*defaultAction));
  if (!filter)
    return invalid(source, "defaultAction", "libseccomp refuses this default action");

  if (const auto archs = profile.find("architectures");
      archs != profile.end() && !archs->is_null()) {
    if (!archs->is_array())
      return invalid(source, "architectures", "must be a list such as [\"SCMP_ARCH_X86_64\"]");
    for (size_t i = 0; i < archs->size(); ++i) {
      const std::string field = fmt::format("architectures[{}]", i);
      const uint32_t arch = (*archs)[i].is_string() ? toArch((*archs)[i].get<std::string>()) : 0;
      if (arch == 0) {
        return invalid(source, field,
                       fmt::format("unknown architecture {}; expected a name such as "
                                   "SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_AARCH64",
                                   (*archs)[i].dump()));
      }
      const int rc = seccomp_arch_add(filter.get(), arch);
      if (rc < 0 && rc != -EEXIST) {
        return invalid(source, field, fmt::format("libseccomp refuses it: {}", std::strerror(-rc)));
      }
    }
  }
  if (const auto flags = profile.find("flags"); flags != profile.end() && !flags->is_null()) {
    if (!flags->is_array())
      return invalid(source, "flags", "must be a list of SECCOMP_FILTER_FLAG_* names");
    for (size_t i = 0; i < flags->size(); ++i) {
      if (!(*flags)[i].is_string() || !kFlags.contains((*flags)[i].get<std::string>())) {
        return invalid(source, fmt::format("flags[{}]", i),
                       fmt::format("unknown flag {}; expected one of: {}", (*flags)[i].dump(),
                                   knownList({kFlags.begin(), kFlags.end()})));
      }
    }
  }
  const auto listener = profile.find("listenerPath");
  const bool hasListener =
      listener != profile.end() && listener->is_string() && !listener->get<std::string>().empty();

  if (const auto syscalls = profile.find("syscalls");
      syscalls != profile.end() && !syscalls->is_null()) {
    if (!syscalls->is_array())
      return invalid(source, "syscalls", "must be a list of rules");
    for (size_t i = 0; i < syscalls->size(); ++i) {
      absl::Status rule = compileRule(filter.get(), (*syscalls)[i], *defaultAction, hasListener,
                                      source, fmt::format("syscalls[{}]", i));
      if (!rule.ok())
        return rule;
    }
  }
  // Generate the BPF program for real (into /dev/null): what runc will do at start.
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0) {
    const int rc = seccomp_export_bpf(filter.get(), devnull);
    ::close(devnull);
    if (rc < 0) {
      return absl::InvalidArgumentError(
          fmt::format("{}: libseccomp cannot compile the profile: {}", source, std::strerror(-rc)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> loadLocalhostProfile(std::string_view rootDir,
                                                 std::string_view localhostProfile) {
  if (localhostProfile.empty()) {
    return absl::InvalidArgumentError(
        "seccomp profile: localhostProfile must be set when seccomp type is Localhost");
  }
  if (localhostProfile.front() == '/' || escapes(localhostProfile)) {
    return absl::InvalidArgumentError(fmt::format(
        "seccomp profile \"{}\": must be a relative path under {}/seccomp without \"..\"",
        localhostProfile, rootDir));
  }
  const std::string path = localhostProfilePath(rootDir, localhostProfile);
  absl::StatusOr<std::string> text = readProfile(path, localhostProfile);
  if (!text.ok())
    return text.status();
  absl::Status valid = validateProfile(*text, fmt::format("seccomp profile {}", path));
  if (!valid.ok())
    return valid;
  return path;
}

}  // namespace kubenode::agent::seccomp
