// ImageClient: the CRI ImageService (images on the node) as a small C++
// interface, one method per CRI method, taking and returning the runtime.v1
// protobuf messages. Errors follow RuntimeClient's rules (gRPC code kept,
// message prefixed by the CRI method name).
//
// Example:
//   cri::v1::ImageSpec spec;
//   spec.set_image("docker.io/library/busybox:latest");
//   auto present = images.imageStatus(spec, false);
//   if (present.ok() && !present->has_image()) {
//     absl::StatusOr<std::string> ref = images.pullImage(spec, nullptr, &sandbox_config);
//   }
//
// Thread-safety: all methods may be called concurrently from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cri/call_options.h"

// GNU modes (-std=gnu++20) predefine the macro `linux`, which breaks the CRI
// messages' `linux` fields in the generated header; the project builds with
// CMAKE_CXX_EXTENSIONS OFF.
#if defined(linux)
#error "cri/: compile with -std=c++20, not gnu++20 (the macro `linux` clashes with CRI fields)"
#endif
#include "cri/proto/runtime_v1.pb.h"

namespace kubenode::cri {

namespace v1 = ::runtime::v1;

class ImageClient {
 public:
  virtual ~ImageClient() = default;

  // Images matching the filter (an empty filter lists all). Thread-safe.
  virtual absl::StatusOr<std::vector<v1::Image>> listImages(const v1::ImageFilter& filter,
                                                            const CallOptions& options = {}) = 0;

  // The image's status. An absent image is not an error: the response has no
  // `image` (has_image() is false). Thread-safe.
  virtual absl::StatusOr<v1::ImageStatusResponse> imageStatus(const v1::ImageSpec& image,
                                                              bool verbose,
                                                              const CallOptions& options = {}) = 0;

  // Pulls the image and returns its reference (image ID or digest). auth and
  // sandbox_config may be null; neither pointer is kept after the call.
  // Thread-safe.
  virtual absl::StatusOr<std::string> pullImage(const v1::ImageSpec& image,
                                                const v1::AuthConfig* auth,
                                                const v1::PodSandboxConfig* sandbox_config,
                                                const CallOptions& options = {}) = 0;

  // Removes the image. Succeeds if already removed. Thread-safe.
  virtual absl::Status removeImage(const v1::ImageSpec& image, const CallOptions& options = {}) = 0;

  // Usage of the filesystem(s) holding images. Thread-safe.
  virtual absl::StatusOr<std::vector<v1::FilesystemUsage>> imageFsInfo(
      const CallOptions& options = {}) = 0;
};

}  // namespace kubenode::cri
