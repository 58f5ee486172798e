// Localhost seccomp profiles: a pod's `seccompProfile: {type: Localhost, localhostProfile:
// "profiles/x.json"}` names a file under `<root-dir>/seccomp/` (the kubelet's seccomp
// directory). containerd reads that file only when it creates the container and runc
// compiles it only when the container starts, so a typo would surface as an opaque runtime
// failure; the agent instead loads the profile and compiles it with libseccomp first, and
// turns any problem into a CreateContainerError that names the file and what is wrong.
//
// The file is the OCI runtime spec's LinuxSeccomp JSON (what containerd 1.6 unmarshals it
// into): defaultAction, defaultErrnoRet, architectures, flags, syscalls[{names, action,
// errnoRet, args[{index, value, valueTwo, op}]}]. Docker's extra keys (archMap, comment,
// includes, excludes) are accepted and ignored, as containerd ignores them.
//
//   absl::StatusOr<std::string> ref =
//       seccomp::loadLocalhostProfile("/var/lib/kubenode", "profiles/deny-mkdir.json");
//   if (!ref.ok()) ...  // kNotFound: "seccomp profile \"profiles/deny-mkdir.json\" not
//                       //  found: /var/lib/kubenode/seccomp/profiles/deny-mkdir.json: ..."
//   securityContext.mutable_seccomp()->set_localhost_ref(*ref);  // the absolute path
//
// Thread-safety: every function is reentrant.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kubenode::agent::seccomp {

// `<rootDir>/seccomp/<localhostProfile>`: where the kubelet looks for the profile. This is
// also what CRI's SecurityProfile.localhost_ref carries for containerd 1.6, which takes the
// absolute path (a "localhost/" prefix is optional there and trimmed).
std::string localhostProfilePath(std::string_view rootDir, std::string_view localhostProfile);

// Parses a profile's JSON text and compiles it with libseccomp for this machine's
// architectures (without loading it). `source` names the file in messages. kInvalidArgument
// naming the field: "<source>: syscalls[2].names[0]: unknown syscall \"mkdri\"".
absl::Status validateProfile(std::string_view json, std::string_view source);

// Loads and validates the profile that `localhostProfile` names under `<rootDir>/seccomp/`
// and returns the absolute path to put in CRI's localhost_ref. Errors, each naming the
// profile and its path:
//   kInvalidArgument   empty name, an absolute name or one escaping the directory with "..",
//                      bad JSON, an unknown action/architecture/operator/syscall
//   kNotFound          no such file (the user may still create it: retry later)
//   kPermissionDenied  the file cannot be read
absl::StatusOr<std::string> loadLocalhostProfile(std::string_view rootDir,
                                                 std::string_view localhostProfile);

}  // namespace kubenode::agent::seccomp
