#include "netfilter/ip.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "absl/status/status.h"

namespace kubenode::netfilter {

std::string Ipv4Addr::toString() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                     value & 0xff);
}

bool Cidr::contains(Ipv4Addr ip) const {
  return (ip.value & mask()) == addr.value;
}

std::string Cidr::toString() const {
  if (prefixLength == 32)
    return addr.toString();
  return fmt::format("{}/{}", addr.toString(), prefixLength);
}

absl::StatusOr<Ipv4Addr> parseIpv4(std::string_view text) {
  // inet_pton accepts exactly the dotted quad, no octal or short forms.
  std::string s(text);
  in_addr a{};
  if (s.empty() || inet_pton(AF_INET, s.c_str(), &a) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("\"{}\" is not an IPv4 address (expected a.b.c.d)", s));
  }
  return Ipv4Addr{ntohl(a.s_addr)};
}

absl::StatusOr<Cidr> parseCidr(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  Cidr c;
  size_t slash = text.find('/');
  absl::StatusOr<Ipv4Addr> ip = parseIpv4(text.substr(0, slash));
  if (!ip.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("\"{}\" is not an IPv4 CIDR (expected a.b.c.d/n)", std::string(text)));
  }
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    int n = 0;
    bool ok = !len.empty() && len.size() <= 2;
    for (char ch : len) {
      if (ch < '0' || ch > '9')
        ok = false;
      n = n * 10 + (ch - '0');
    }
    if (!ok || n > 32) {
      return absl::InvalidArgumentError(fmt::format(
          "\"{}\" is not an IPv4 CIDR (prefix length must be 0-32)", std::string(text)));
    }
    c.prefixLength = n;
  }
  c.addr = *ip;
  if ((c.addr.value & c.mask()) != c.addr.value) {
    return absl::InvalidArgumentError(
        fmt::format("\"{}\" has host bits set (expected {}/{})", std::string(text),
                    Ipv4Addr{c.addr.value & c.mask()}.toString(), c.prefixLength));
  }
  return c;
}

}  // namespace kubenode::netfilter
