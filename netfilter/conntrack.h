// UDP conntrack cleanup, as kube-proxy does it: UDP has no connection to close,
// so without this a client keeps sending to a removed backend (its conntrack
// entry still carries the old DNAT) or keeps being rejected after a service
// that had no endpoints gets one (the entry remembers the reject). After a
// successful apply the proxier computes what to delete with the pure
// conntrackCleanupFor() and hands it to a Conntrack implementation.
//
//   ConntrackCleanup c = conntrackCleanupFor(previousPorts, currentPorts);
//   if (!c.empty()) {
//     auto ct = NetlinkConntrack::open();
//     absl::StatusOr<size_t> deleted = (*ct)->deleteUdpEntries(c);
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "netfilter/ip.h"
#include "netfilter/service_port.h"

struct mnl_socket;

namespace kubenode::netfilter {

// An address and UDP port; address 0 matches any address (a node port).
struct UdpTarget {
  Ipv4Addr ip{};
  uint16_t port = 0;
  friend auto operator<=>(const UdpTarget&, const UdpTarget&) = default;
};

struct ConntrackCleanup {
  // Entries whose reply source is one of these (the DNAT target of an endpoint
  // that went away): kube-proxy's ClearEntriesForNAT.
  std::vector<UdpTarget> removedEndpoints{};
  // Entries whose original destination is one of these (a cluster IP, external
  // or load-balancer IP, or node port of a service port that just got its first
  // usable endpoint): kube-proxy's ClearEntriesForIP / ForPort.
  std::vector<UdpTarget> servicesGainingEndpoints{};
  bool empty() const { return removedEndpoints.empty() && servicesGainingEndpoints.empty(); }
  friend bool operator==(const ConntrackCleanup&, const ConntrackCleanup&) = default;
};

// What to delete after the rules for `current` replaced those for `previous`.
// Only UDP service ports count. An endpoint is removed when it was usable
// (categorizeEndpoints) for a service port before and is not now, also when the
// whole service port went away. Pure; sorted, without duplicates.
ConntrackCleanup conntrackCleanupFor(const std::vector<ServicePortInfo>& previous,
                                     const std::vector<ServicePortInfo>& current);

// Thread-safety: none.
class Conntrack {
 public:
  virtual ~Conntrack() = default;
  // Deletes the matching UDP entries; returns how many. An entry that vanished
  // meanwhile is no error.
  virtual absl::StatusOr<size_t> deleteUdpEntries(const ConntrackCleanup& cleanup) = 0;
};

// ctnetlink over libmnl, in the network namespace current at open(): one dump
// of the IPv4 table, then one delete per matching entry.
class NetlinkConntrack : public Conntrack {
 public:
  static absl::StatusOr<std::unique_ptr<NetlinkConntrack>> open();
  ~NetlinkConntrack() override;
  NetlinkConntrack(const NetlinkConntrack&) = delete;
  NetlinkConntrack& operator=(const NetlinkConntrack&) = delete;

  absl::StatusOr<size_t> deleteUdpEntries(const ConntrackCleanup& cleanup) override;

 private:
  explicit NetlinkConntrack(mnl_socket* socket);
  mnl_socket* socket_;
  uint32_t portId_ = 0;
  uint32_t nextSeq_ = 1;
};

}  // namespace kubenode::netfilter
