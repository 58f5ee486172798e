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
#include "tests/integration/netfilter/nft_text.h"
#include "tests/integration/netfilter/rulesets.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using testing::everyFeature;
using testing::run;
using testing::sortElements;

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
