// What renderNft prints is what the kernel holds: a ruleset with every feature is loaded
// with `nft -f` into a private network namespace and listed back with `nft list`; the two
// texts must be the same (up to the packet counters nft adds). This keeps
// `kubenode proxy render` honest and the benchmark's nft peer loading the same rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

#include "netfilter/render.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using testing::build;
using testing::makeService;
using testing::makeSlice;

// Runs a shell command, returns its output; fails the test on a non-zero exit.
std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr)
    return "popen failed";
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    out.append(buffer, n);
  int status = pclose(pipe);
  EXPECT_EQ(status, 0) << command << "\n" << out;
  return out;
}

// Sorts the entries of every `elements = { a, b, c }` block, so that two listings that
// differ only in element order compare equal.
std::string sortElements(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t start = text.find("elements = { ", pos);
    if (start == std::string::npos)
      break;
    start += std::string("elements = { ").size();
    size_t end = text.find(" }", start);
    out += text.substr(pos, start - pos);
    std::vector<std::string> entries;
    std::string body = text.substr(start, end - start);
    for (size_t from = 0;;) {
      size_t comma = body.find(",\n", from);
      std::string entry = body.substr(from, comma == std::string::npos ? comma : comma - from);
      entry.erase(0, entry.find_first_not_of(" \t\n"));
      entries.push_back(entry);
      if (comma == std::string::npos)
        break;
      from = comma + 2;
    }
    std::sort(entries.begin(), entries.end());
    for (const std::string& e : entries)
      out += e + ";";
    pos = end;
  }
  return out + text.substr(pos);
}

Ruleset everyFeature() {
  NodeSettings node = testing::testNode();
  std::vector<api::Service> services = {
      makeService("ns1", "svc1", "172.30.0.41"),
      makeService("ns2", "svc2", "172.30.0.42",
                  [](api::Service& s) {
                    s.spec.type = "LoadBalancer";
                    s.spec.externalTrafficPolicy = "Local";
                    s.spec.externalIPs = {"192.168.99.22"};
                    s.spec.ports[0].nodePort = 3001;
                    s.status.loadBalancer.ingress = {{.ip = "1.2.3.4"}};
                  }),
      makeService("ns3", "svc3", "172.30.0.43",
                  [](api::Service& s) {
                    s.spec.sessionAffinity = "ClientIP";
                    s.spec.sessionAffinityConfig =
                        api::SessionAffinityConfig{api::ClientIPConfig{300}};
                  }),
      makeService("ns4", "svc4", "172.30.0.44"),  // no endpoints: rejected
      makeService("ns5", "svc5", "172.30.0.45",
                  [](api::Service& s) {
                    s.spec.type = "LoadBalancer";
                    s.spec.ports[0].nodePort = 3002;
                    s.status.loadBalancer.ingress = {{.ip = "5.6.7.8"}};
                    s.spec.loadBalancerSourceRanges = {"203.0.113.0/25"};
                  }),
      makeService("ns6", "svc6", "172.30.0.46",
                  [](api::Service& s) {
                    s.spec.type = "NodePort";
                    s.spec.ports[0].nodePort = 3003;
                  }),
  };
  std::vector<api::EndpointSlice> slices = {
      makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}, {"10.180.0.3"}}),
      makeSlice("ns2", "svc2", {{"10.180.0.2", "node-a"}, {"10.180.0.4", "node-b"}}),
      makeSlice("ns3", "svc3", {{"10.180.0.5"}, {"10.180.0.6"}}),
      makeSlice("ns5", "svc5", {{"10.180.0.7"}}),
      makeSlice("ns6", "svc6", {{"10.180.0.8", "node-b"}}),
  };
  return build(services, slices, node);
}

TEST(RenderIntegration, NftListsBackExactlyWhatWeRender) {
  // A private network namespace for this process: nothing of the host's is touched.
  ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "needs root";
  const std::string rendered = renderNft(everyFeature());
  char path[] = "/tmp/kubenode-render-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, rendered.data(), rendered.size()), static_cast<ssize_t>(rendered.size()));
  close(fd);
  run(std::string("nft -f ") + path);
  std::string listed = run("nft list table ip kubenode");
  std::remove(path);
  listed = std::regex_replace(listed, std::regex("counter packets 0 bytes 0"), "counter");
  // The kernel lists a map's elements in its hash table's order: compare them as sets.
  EXPECT_EQ(sortElements(listed), sortElements(rendered));
  EXPECT_NE(rendered.find("elements = {"), std::string::npos);
}

}  // namespace
}  // namespace kubenode::netfilter

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
