// The real RuleWriter: programs a Ruleset into the kernel's nftables over
// netlink (libnftnl builds the messages, libmnl carries them), with no nft
// binary and no text parsing. Every apply is one nfnetlink batch
// (BATCH_BEGIN ... BATCH_END) sent with one sendmsg, so the kernel commits all
// of it or none of it; a failure names the object that caused it.
//
//   auto writer = NetlinkRuleWriter::open();            // in the netns to program
//   if (!writer.ok()) return writer.status();           // no CAP_NET_ADMIN, ...
//   absl::Status s = (*writer)->apply(desired, nullptr);  // full rebuild
//   // "rule 2 of chain KUBE-SVC-X (numgen random mod 2 0 goto KUBE-SEP-Y):
//   //  No such file or directory"
//
// The netlink socket is bound to the network namespace current at open().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "netfilter/rule_writer.h"

struct mnl_socket;
struct nlmsghdr;

namespace kubenode::netfilter {

namespace internal {
class NlBatch;
// What message `offset` of `port`'s piece in a streamed rebuild is ("add set
// KUBE-SEP-...", "add chain KUBE-SVC-...", "rule 2 of chain KUBE-SVC-... (<nft
// text>)"): the piece is built again, since it is gone when the kernel answers.
std::string describePieceMessage(const ServicePortInfo& port, const NodeSettings& node,
                                 uint32_t offset);
}  // namespace internal

// Facts about the last apply(), for metrics and the benchmark.
struct ApplyStats {
  bool full = false;         // a whole-table rebuild
  size_t messages = 0;       // object messages in the batch (without BEGIN/END)
  size_t rules = 0;          // rules sent
  size_t chains = 0;         // chains created
  size_t bytes = 0;          // batch size
  double buildSeconds = 0;   // building the messages in user space
  double kernelSeconds = 0;  // sendmsg (the kernel processes the batch inside it) + replies
};

class NetlinkRuleWriter : public RuleWriter {
 public:
  // Opens a netfilter netlink socket; `table` is the ip-family table it owns.
  static absl::StatusOr<std::unique_ptr<NetlinkRuleWriter>> open(std::string table = "kubenode");
  ~NetlinkRuleWriter() override;
  NetlinkRuleWriter(const NetlinkRuleWriter&) = delete;
  NetlinkRuleWriter& operator=(const NetlinkRuleWriter&) = delete;

  // `desired.table` must be this writer's table and `desired.family` "ip".
  absl::Status apply(const Ruleset& desired, const RulesetDiff* diff) override;
  // Streams the rebuild: each port's piece is turned into messages as soon as
  // buildRulesetByPort() builds it, and dropped; only the batch is held whole.
  absl::Status applyFull(const std::vector<ServicePortInfo>& ports, const NodeSettings& node,
                         FullRebuildSummary& summary) override;
  absl::Status cleanup() override;
  absl::StatusOr<TableState> readBack(const ReadBackRequest& request) override;

  const ApplyStats& lastApplyStats() const { return stats_; }

 private:
  NetlinkRuleWriter(mnl_socket* socket, std::string table);
  friend class internal::NlBatch;
  // Names message `offset` of port `port`'s piece, for an error in a streamed rebuild.
  using PieceDescriber = std::function<std::string(uint32_t port, uint32_t offset)>;
  absl::Status send(internal::NlBatch& batch, const PieceDescriber& describePiece = {});
  absl::Status dump(char* buffer, size_t length, int (*callback)(const struct nlmsghdr*, void*),
                    void* data);

  mnl_socket* socket_;
  uint32_t portId_ = 0;
  uint32_t nextSeq_ = 1;
  uint32_t nextSetId_ = 1;
  std::string table_;
  ApplyStats stats_;
};

}  // namespace kubenode::netfilter
