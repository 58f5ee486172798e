// Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion), used for a
// container's command, args and env values, and by the prober for exec probe commands:
// "$(NAME)" becomes the mapping's value, or stays "$(NAME)" when `lookup` knows no such
// name; "$$" becomes "$"; any other "$" is kept as is.
//
//   std::string s = api::expandVariables("echo $(GREETING)", [&](std::string_view n) {
//     return n == "GREETING" ? &hello : nullptr;
//   });
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace kubenode::api {

std::string expandVariables(std::string_view input,
                            const std::function<const std::string*(std::string_view)>& lookup);

}  // namespace kubenode::api
