// The ruleset as `nft list table` prints it, for `kubenode proxy render`, for
// tests that compare whole rulesets as text, and as `nft -f` input for the
// benchmark's peers. Counters print as plain `counter` (a desired ruleset has
// no packet counts).
//
//   std::string text = renderNft(buildRuleset(ports, node));
//   // table ip kubenode {
//   //         map service-ips {
//   //                 type ipv4_addr . inet_proto . inet_service : verdict
//   //         ...
//   std::string one = renderRule(rule);  // "ip saddr 10.180.0.1 jump KUBE-MARK-MASQ ..."
#pragma once

#include <string>

#include "netfilter/ruleset.h"

namespace kubenode::netfilter {

std::string renderNft(const Ruleset& ruleset);
std::string renderChain(const Chain& chain);  // "chain NAME {\n...}\n", one tab indented rules
std::string renderSet(const Set& set);
std::string renderRule(const Rule& rule);
std::string renderElement(const SetElement& element);
// nft's duration format: 10800 -> "3h", 90 -> "1m30s".
std::string renderDuration(uint32_t seconds);

}  // namespace kubenode::netfilter
