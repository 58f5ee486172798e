#include "netfilter/chain_names.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <memory>

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

namespace {

// OpenSSL 3's one-shot SHA256() looks the algorithm up (under a lock) on every
// call; a full sync at 10,000 services hashes 110,000 names. Fetch it once and
// keep one context per thread.
void sha256(std::string_view input, unsigned char* out) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  if (md == nullptr || ctx == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), input.data(), input.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out, nullptr) != 1) {
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), out);
  }
}

}  // namespace

std::string chainNameHash(std::string_view servicePortName, std::string_view protocol,
                          std::string_view endpoint) {
  std::string input;
  input.reserve(servicePortName.size() + protocol.size() + endpoint.size());
  input.append(servicePortName).append(protocol).append(endpoint);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  sha256(input, digest.data());
  // 16 base32 characters are exactly the digest's first 10 bytes (80 bits).
  return base32Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), 10));
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
