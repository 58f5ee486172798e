#include "agent/logs_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/config.h"
#include "agent/duration.h"
#include "agent/logs/log_files.h"
#include "agent/logs/log_reader.h"
#include "agent/logs/pod_logs.h"
#include "api/json_codec.h"

namespace kubenode::agent {
namespace {

struct AgentEndpoint {
  std::string address = "127.0.0.1";
  int port = 10255;  // 0: do not ask the agent
};

// GET /pods from the agent's read-only endpoint: its pods, or kUnavailable when it does not
// answer (then the log directories stand in). A short deadline: this is an interactive tool.
absl::StatusOr<std::vector<api::Pod>> agentPods(const AgentEndpoint& agent) {
  namespace http = boost::beast::http;
  if (agent.port == 0)
    return absl::UnavailableError("the read-only port is disabled");
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  const boost::asio::ip::address ip = boost::asio::ip::make_address(agent.address, ec);
  if (!ec)
    socket.connect({ip, static_cast<uint16_t>(agent.port)}, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format("the agent at {}:{} does not answer: {}",
                                              agent.address, agent.port, ec.message()));
  }
  timeval timeout{5, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  http::request<http::empty_body> request(http::verb::get, "/pods", 11);
  request.set(http::field::host, agent.address);
  http::write(socket, request, ec);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  if (!ec)
    http::read(socket, buffer, parser, ec);
  if (ec || parser.get().result_int() != 200) {
    return absl::UnavailableError(
        fmt::format("the agent at {}:{} answered no pod list", agent.address, agent.port));
  }
  absl::StatusOr<api::Decoded<api::PodList>> list =
      api::decodeJson<api::PodList>(parser.get().body());
  if (!list.ok())
    return absl::UnavailableError("the agent's /pods answer is not a PodList");
  return std::move(list->object.items);
}

const api::Pod* findPod(const std::vector<api::Pod>& pods, const std::string& ns,
                        const std::string& name) {
  for (const api::Pod& pod : pods) {
    if (pod.metadata.namespace_ == ns && pod.metadata.name == name)
      return &pod;
  }
  return nullptr;
}

// -f goes on while the agent shows the same container (pod UID and restart count) running.
// An agent that stops answering does not end it: the user ends it with ^C.
bool stillRunning(const AgentEndpoint& agent, const std::string& ns, const std::string& name,
                  const std::string& uid, const std::string& container, int restartCount) {
  absl::StatusOr<std::vector<api::Pod>> pods = agentPods(agent);
  if (!pods.ok())
    return true;
  const api::Pod* pod = findPod(*pods, ns, name);
  if (pod == nullptr || pod->metadata.uid != uid)
    return false;
  for (const auto* statuses :
       {&pod->status.containerStatuses, &pod->status.initContainerStatuses}) {
    for (const api::ContainerStatus& s : *statuses) {
      if (s.name == container)
        return s.state.running.has_value() && s.restartCount == restartCount;
    }
  }
  return false;
}

}  // namespace

int runLogsCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"Print the logs of a container of a pod on this node, as `kubectl logs` does",
               "kubenode logs"};
  logs::PodLogRequest request;
  bool follow = false;
  bool timestamps = false;
  int64_t tail = -1;
  std::string since;
  std::string sinceTime;
  std::string configFile;
  std::string podLogsDir;
  AgentEndpoint agent;
  std::optional<int> readOnlyPort;
  std::optional<std::string> address;
  app.add_option("POD", request.pod, "The pod's name")->required();
  app.add_option("-n,--namespace", request.ns, "The pod's namespace")->capture_default_str();
  app.add_option("-c,--container", request.container,
                 "The container; may be left out when the pod has one");
  app.add_flag("-p,--previous", request.previous,
               "The previous terminated instance of the container");
  app.add_flag("-f,--follow", follow, "Keep printing new lines while the container runs");
  app.add_option("--tail", tail, "Lines of recent log to print; -1 prints everything")
      ->capture_default_str();
  app.add_flag("--timestamps", timestamps, "Begin each line with its RFC 3339 time");
  app.add_option("--since", since, "Only lines newer than this duration (5s, 2m, 3h)");
  app.add_option("--since-time", sinceTime, "Only lines after this RFC 3339 time");
  app.add_option("--config", configFile,
                 "The agent's configuration file: its podLogsDir, address and readOnlyPort");
  app.add_option("--pod-logs-dir", podLogsDir, "Directory of container logs (the agent's)");
  app.add_option("--address", address, "Address of the agent's read-only endpoint");
  app.add_option("--read-only-port", readOnlyPort,
                 "Port of the agent's read-only endpoint; 0: read the directories only")
      ->check(CLI::Range(0, 65535));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "kubenode logs: " << e.what() << " (see kubenode logs --help)\n";
    return 2;
  }
  auto usage = [&](const std::string& message) {
    err << "kubenode logs: " << message << " (see kubenode logs --help)\n";
    return 2;
  };

  // The agent's own settings first (so the same --config gives the same directories), then
  // this command's flags.
  AgentConfig config;
  if (!configFile.empty()) {
    std::ifstream in(configFile);
    if (!in)
      return usage(fmt::format("--config {}: cannot be read", configFile));
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> warnings;
    absl::Status applied = applyConfigText(text.str(), configFile, config, warnings);
    if (!applied.ok())
      return usage(std::string(applied.message()));
  }
  if (podLogsDir.empty())
    podLogsDir = config.podLogsDir;
  agent.address = address.value_or(config.address);
  agent.port = readOnlyPort.value_or(config.readOnlyPort);

  logs::LogOptions options;
  options.timestamps = timestamps;
  if (tail < -1)
    return usage(fmt::format("--tail {}: must be -1 (everything) or a count of lines", tail));
  if (tail >= 0)
    options.tail = tail;
  if (!since.empty() && !sinceTime.empty())
    return usage("only one of --since and --since-time may be given");
  if (!since.empty()) {
    absl::StatusOr<std::chrono::nanoseconds> d = parseDuration(since);
    if (!d.ok() || d->count() <= 0)
      return usage(fmt::format("--since {}: expected a positive duration such as 5s or 2h", since));
    options.since = absl::Now() - absl::FromChrono(*d);
  }
  if (!sinceTime.empty()) {
    absl::Time t;
    std::string why;
    if (!absl::ParseTime(absl::RFC3339_full, sinceTime, &t, &why))
      return usage(fmt::format("--since-time {}: expected an RFC 3339 time ({})", sinceTime, why));
    options.since = t;
  }

  // The pod: as the agent knows it, else from its newest log directory.
  std::optional<logs::PodView> view;
  std::string uid;
  absl::StatusOr<std::vector<api::Pod>> pods = agentPods(agent);
  if (pods.ok()) {
    if (const api::Pod* pod = findPod(*pods, request.ns, request.pod)) {
      view = logs::podViewFromApi(*pod, podLogsDir);
      uid = pod->metadata.uid;
    }
  }
  if (!view) {
    absl::StatusOr<logs::PodView> disk = logs::podViewFromDisk(podLogsDir, request.ns, request.pod);
    if (!disk.ok()) {
      err << "error: " << disk.status().message() << "\n";
      return 1;
    }
    view = std::move(*disk);
  }
  absl::StatusOr<logs::LogTarget> target =
      logs::resolveLogTarget(request, *view, logs::loggedRestartCounts);
  if (!target.ok()) {
    err << "error: " << target.status().message() << "\n";
    return 1;
  }
  // kubectl follows only a running container; a finished one is printed and done.
  const bool following = follow && !request.previous;
  options.follow = following;
  std::vector<logs::LogFile> files =
      logs::containerLogFiles(target->containerDir, target->restartCount);
  absl::StatusOr<logs::TailResult> printed = logs::printLogs(files, options, out);
  if (!printed.ok()) {
    err << "error: " << printed.status().message() << "\n";
    return 1;
  }
  if (printed->malformed > 0) {
    err << fmt::format("kubenode logs: skipped {} line(s) not in the CRI log format\n",
                       printed->malformed);
  }
  if (!following)
    return 0;
  if (target->knownFromAgent && !target->running)
    return 0;
  logs::LogPrinter printer(out, options.timestamps);
  printer.resume(printed->unfinished);
  const std::string path =
      printed->currentPath.empty()
          ? fmt::format("{}/{}.log", target->containerDir, target->restartCount)
          : printed->currentPath;
  logs::FollowOptions followOptions;
  if (target->knownFromAgent) {
    followOptions.keepFollowing = [&, container = target->container,
                                   restartCount = target->restartCount] {
      return stillRunning(agent, request.ns, request.pod, uid, container, restartCount);
    };
  }
  absl::Status followed = logs::followLog(path, printed->currentOffset, printer, followOptions);
  if (!followed.ok()) {
    err << "error: " << followed.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace kubenode::agent
