// Debian 12's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so std::string_view does not convert to abseil's string
// arguments by itself. `sv()` bridges the two without copying.
//
//   absl::StrCat("name: ", sv(someStdStringView));
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace kubenode::api {

inline absl::string_view sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace kubenode::api
