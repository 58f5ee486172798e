#include "api/expansion.h"

namespace kubenode::api {

std::string expandVariables(std::string_view input,
                            const std::function<const std::string*(std::string_view)>& lookup) {
  std::string out;
  out.reserve(input.size());
  size_t i = 0;
  while (i < input.size()) {
    if (input[i] != '$' || i + 1 == input.size()) {
      out += input[i++];
      continue;
    }
    char next = input[i + 1];
    if (next == '$') {  // "$$" is an escaped "$"
      out += '$';
      i += 2;
    } else if (next == '(') {
      size_t close = input.find(')', i + 2);
      if (close == std::string_view::npos) {
        // An unterminated "$(" is kept; scanning resumes after it.
        out += "$(";
        i += 2;
        continue;
      }
      std::string_view name = input.substr(i + 2, close - i - 2);
      const std::string* value = lookup(name);
      if (value) {
        out += *value;
      } else {
        out += "$(";
        out += name;
        out += ')';
      }
      i = close + 1;
    } else {  // "$" before anything else stays, with that character
      out += '$';
      out += next;
      i += 2;
    }
  }
  return out;
}

}  // namespace kubenode::api
