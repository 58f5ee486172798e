// Helpers for netfilter integration tests that compare what the kernel holds,
// as `nft list` prints it, with renderNft(): run a command, drop packet counts,
// and compare map elements as sets (the kernel lists them in hash order).
//
//   EXPECT_EQ(normalizedListing("kubenode"), normalizedRender(ruleset));
//
// Only for integration binaries: their main (kubenode_integration_main) has already put
// the process in a private network namespace (unshare CLONE_NEWNET), so `nft` here sees
// and changes that namespace's tables, never the host's.
#pragma once

#include <gtest/gtest.h>
#include <stdio.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "netfilter/render.h"

namespace kubenode::netfilter::testing {

// Runs a shell command and returns its output (stderr included); *status gets
// its exit status. Without `status`, a non-zero exit fails the test.
inline std::string run(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr)
    return "popen failed";
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    out.append(buffer, n);
  int rc = pclose(pipe);
  if (status != nullptr)
    *status = rc;
  else
    EXPECT_EQ(rc, 0) << command << "\n" << out;
  return out;
}

// Sorts the entries of every `elements = { a, b, c }` block, so that two listings that
// differ only in element order compare equal.
inline std::string sortElements(const std::string& text) {
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

// Sorts the top-level blocks (`\tmap X {` ... `\t}`) of a table listing: the kernel
// lists chains and sets in creation order, so a table changed by diffs lists the
// chains it added last, while renderNft() sorts them by name.
inline std::string sortBlocks(const std::string& text) {
  const size_t open = text.find('\n');
  const size_t close = text.rfind("}\n");
  if (open == std::string::npos || close == std::string::npos || close <= open)
    return text;
  std::vector<std::string> blocks;
  std::string body = text.substr(open + 1, close - open - 1);
  for (size_t from = 0; from < body.size();) {
    size_t end = body.find("\n\t}\n", from);
    if (end == std::string::npos) {
      blocks.push_back(body.substr(from));
      break;
    }
    blocks.push_back(body.substr(from, end + 4 - from));
    from = end + 4;
    while (from < body.size() && body[from] == '\n')
      ++from;
  }
  std::sort(blocks.begin(), blocks.end());
  std::string out = text.substr(0, open + 1);
  for (const std::string& b : blocks)
    out += b + "\n";
  return out + "}\n";
}

// `nft list table ip TABLE` without packet counts, elements and blocks sorted.
inline std::string normalizedListing(const std::string& table = "kubenode") {
  std::string listed = run("nft list table ip " + table);
  listed = std::regex_replace(listed, std::regex("counter packets [0-9]+ bytes [0-9]+"), "counter");
  return sortBlocks(sortElements(listed));
}

inline std::string normalizedRender(const Ruleset& ruleset) {
  return sortBlocks(sortElements(renderNft(ruleset)));
}

}  // namespace kubenode::netfilter::testing
