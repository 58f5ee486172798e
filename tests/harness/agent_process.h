// The kubenode binary as integration tests run it: started against the test process's
// private containerd with its own manifest, root and log directories, queried over its
// read-only port, stopped with SIGTERM or killed with SIGKILL. Plus the small HTTP client
// and the polling helper those tests share.
//
//   AgentProcess agent(KUBENODE_BINARY, "/tmp/run/agent-x", containerd.endpoint());
//   ASSERT_TRUE(agent.start().ok());
//   agent.writeManifest("web.yaml", "apiVersion: v1\nkind: Pod\n...");
//   ASSERT_TRUE(eventually([&] { return agent.pod("web-node-it").has_value(); },
//   absl::Seconds(20)));
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/event.h"
#include "api/pod.h"

namespace kubenode::harness {

struct HttpAnswer {
  int status = 0;  // 0: no answer
  std::string body;
};

// One GET to 127.0.0.1:port (or `host`), Connection: close.
HttpAnswer httpGet(uint16_t port, const std::string& path, const std::string& host = "127.0.0.1",
                   absl::Duration timeout = absl::Seconds(5));

// A free loopback port, chosen by the kernel.
uint16_t freePort();

// Polls `done` every 50 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, absl::Duration timeout);

std::string readFile(const std::string& path);

class AgentProcess {
 public:
  // `dir` holds manifests/, root/, logs/ and kubenode.log; `endpoint` is the runtime's.
  AgentProcess(std::string binary, std::string dir, std::string endpoint,
               std::string nodeName = "Node-IT");
  ~AgentProcess();  // SIGTERM, then SIGKILL

  absl::Status start(const std::vector<std::string>& extraArgs = {});
  void stop();   // SIGTERM and wait
  void kill9();  // SIGKILL and wait, as a crash
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }  // -1 when not running

  void writeManifest(const std::string& file, const std::string& text) const;
  void removeManifest(const std::string& file) const;

  std::vector<api::Pod> pods() const;  // from /pods; empty when not answering
  std::optional<api::Pod> pod(const std::string& name) const;
  std::vector<api::Event> events() const;  // from /events

  const std::string& dir() const { return dir_; }
  std::string manifestDir() const { return dir_ + "/manifests"; }
  std::string rootDir() const { return dir_ + "/root"; }
  std::string logsDir() const { return dir_ + "/logs"; }
  std::string logPath() const { return dir_ + "/kubenode.log"; }
  uint16_t port() const { return port_; }

 private:
  std::string binary_;
  std::string dir_;
  std::string endpoint_;
  std::string nodeName_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kubenode::harness
