#include "netfilter/chain_names.h"

#include <openssl/sha.h>

#include <array>

namespace kubenode::netfilter {

std::string base32Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  out.reserve((bytes.size() + 4) / 5 * 8);
  uint64_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0)
    out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1f]);
  while (out.size() % 8 != 0)
    out.push_back('=');
  return out;
}

std::string chainNameHash(std::string_view servicePortName, std::string_view protocol,
                          std::string_view endpoint) {
  std::string input;
  input.reserve(servicePortName.size() + protocol.size() + endpoint.size());
  input.append(servicePortName).append(protocol).append(endpoint);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  std::string encoded =
      base32Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  return encoded.substr(0, 16);
}

std::string serviceChainName(std::string_view servicePortName, std::string_view protocol) {
  return "KUBE-SVC-" + chainNameHash(servicePortName, protocol);
}
std::string serviceLocalChainName(std::string_view servicePortName, std::string_view protocol) {
  return "KUBE-SVL-" + chainNameHash(servicePortName, protocol);
}
std::string externalChainName(std::string_view servicePortName, std::string_view protocol) {
  return "KUBE-EXT-" + chainNameHash(servicePortName, protocol);
}
std::string firewallChainName(std::string_view servicePortName, std::string_view protocol) {
  return "KUBE-FW-" + chainNameHash(servicePortName, protocol);
}
std::string endpointChainName(std::string_view servicePortName, std::string_view protocol,
                              std::string_view endpoint) {
  return "KUBE-SEP-" + chainNameHash(servicePortName, protocol, endpoint);
}

bool isServiceChainName(std::string_view chain) {
  for (std::string_view prefix : {"KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SEP-"}) {
    if (chain.substr(0, prefix.size()) == prefix)
      return true;
  }
  return false;
}

}  // namespace kubenode::netfilter
