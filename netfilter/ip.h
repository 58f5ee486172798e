// IPv4 addresses and CIDRs as values: the proxier's rules match and rewrite
// addresses, and the netlink writer needs them as numbers, not text.
//
//   absl::StatusOr<Ipv4Addr> ip = parseIpv4("10.96.0.1");
//   absl::StatusOr<Cidr> pods = parseCidr("10.244.0.0/16");
//   if (pods->contains(*ip)) ...
//   std::string s = ip->toString();  // "10.96.0.1"
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kubenode::netfilter {

// An IPv4 address in host byte order (the writer converts to network order).
struct Ipv4Addr {
  uint32_t value = 0;
  std::string toString() const;
  bool isLoopback() const { return (value >> 24) == 127; }
  friend auto operator<=>(const Ipv4Addr&, const Ipv4Addr&) = default;
};

// An IPv4 prefix; `addr` has its host bits cleared.
struct Cidr {
  Ipv4Addr addr{};
  int prefixLength = 32;
  bool contains(Ipv4Addr ip) const;
  uint32_t mask() const { return prefixLength == 0 ? 0 : ~uint32_t{0} << (32 - prefixLength); }
  // "10.0.0.0/8"; a /32 prints as the bare address, as nft prints it.
  std::string toString() const;
  friend auto operator<=>(const Cidr&, const Cidr&) = default;
};

// Dotted quad only ("10.0.0.1"); anything else is kInvalidArgument.
absl::StatusOr<Ipv4Addr> parseIpv4(std::string_view text);
// "10.0.0.0/8" or a bare address (a /32). Host bits must be zero, as the API
// server requires for loadBalancerSourceRanges; surrounding spaces are ignored
// (kube-proxy tolerates them for backward compatibility).
absl::StatusOr<Cidr> parseCidr(std::string_view text);

}  // namespace kubenode::netfilter
