// Image references as containerd normalises them (the docker reference library's
// ParseNormalizedNamed + TagNameOnly): a name without a registry gets `docker.io`, a
// one-part Docker Hub name gets `library/`, and a name without tag or digest gets
// `:latest`. The pod worker pulls and looks up images by the normalised name, so that
// `busybox`, `library/busybox` and `docker.io/library/busybox:latest` are one image.
//
//   normalizeImageRef("busybox");             // "docker.io/library/busybox:latest"
//   normalizeImageRef("localhost/pause:3.9"); // unchanged
#pragma once

#include <string>
#include <string_view>

namespace kubenode::agent::pods {

std::string normalizeImageRef(std::string_view image);

}  // namespace kubenode::agent::pods
