#include "agent/pods/image_ref.h"

namespace kubenode::agent::pods {

std::string normalizeImageRef(std::string_view image) {
  std::string ref(image);
  if (ref.empty())
    return ref;
  // The first path component is a registry when it looks like a host: it has a dot or a
  // port, or is "localhost".
  size_t slash = ref.find('/');
  bool hasDomain = false;
  if (slash != std::string::npos) {
    std::string_view first = std::string_view(ref).substr(0, slash);
    hasDomain = first.find_first_of(".:") != std::string_view::npos || first == "localhost";
  }
  if (!hasDomain)
    ref = (slash == std::string::npos ? "docker.io/library/" : "docker.io/") + ref;
  else if (ref.starts_with("docker.io/") && ref.find('/', 10) == std::string::npos)
    ref.insert(10, "library/");
  // A tag is a ':' after the last '/'; a digest is '@'.
  size_t lastSlash = ref.rfind('/');
  bool hasTag = ref.find(':', lastSlash) != std::string::npos;
  bool hasDigest = ref.find('@') != std::string::npos;
  if (!hasTag && !hasDigest)
    ref += ":latest";
  return ref;
}

}  // namespace kubenode::agent::pods
