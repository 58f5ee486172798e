#include "probes/probe_spec.h"

#include <map>

#include "absl/strings/ascii.h"
#include "api/expansion.h"
#include "fmt/format.h"

namespace kubenode::probes {

std::string_view toString(ProbeType type) {
  switch (type) {
    case ProbeType::kLiveness:
      return "Liveness";
    case ProbeType::kReadiness:
      return "Readiness";
    case ProbeType::kStartup:
      return "Startup";
  }
  return "Unknown";
}

const api::Probe* probeOf(const api::Container& container, ProbeType type) {
  const std::optional<api::Probe>* p = nullptr;
  switch (type) {
    case ProbeType::kLiveness:
      p = &container.livenessProbe;
      break;
    case ProbeType::kReadiness:
      p = &container.readinessProbe;
      break;
    case ProbeType::kStartup:
      p = &container.startupProbe;
      break;
  }
  return p != nullptr && p->has_value() ? &**p : nullptr;
}

std::string expandStaticEnv(std::string_view text, const api::Container& container) {
  // Only literal values: the prober does not see fieldRefs or values built from other
  // variables (the kubelet's ExpandContainerCommandOnlyStatic). A later entry wins.
  std::map<std::string, std::string, std::less<>> statics;
  for (const api::EnvVar& e : container.env) {
    if (!e.valueFrom)
      statics[e.name] = e.value;
  }
  return api::expandVariables(text, [&](std::string_view name) -> const std::string* {
    auto it = statics.find(name);
    return it == statics.end() ? nullptr : &it->second;
  });
}

namespace {

// The kubelet's findPortByName / intstr resolution for probe ports.
absl::StatusOr<uint16_t> resolvePort(const api::IntOrString& port,
                                     const api::Container& container) {
  int32_t number = 0;
  if (port.isInt()) {
    number = port.intValue();
  } else {
    bool found = false;
    for (const api::ContainerPort& p : container.ports) {
      if (p.name == port.str()) {
        number = p.containerPort;
        found = true;
        break;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(
          fmt::format("couldn't find port \"{}\" in container {}", port.str(), container.name));
    }
  }
  if (number <= 0 || number > 65535)
    return absl::InvalidArgumentError(fmt::format("invalid port number: {}", number));
  return static_cast<uint16_t>(number);
}

absl::StatusOr<std::string> networkHost(const std::string& probeHost, const std::string& podIp) {
  if (!probeHost.empty())
    return probeHost;
  if (podIp.empty())
    return absl::InvalidArgumentError("the pod has no IP address yet");
  return podIp;
}

}  // namespace

absl::StatusOr<ProbeTarget> resolveTarget(const api::Probe& probe, const api::Container& container,
                                          const std::string& podIp,
                                          const std::string& containerId) {
  if (probe.exec) {
    ExecTarget t{.containerId = containerId};
    for (const std::string& word : probe.exec->command)
      t.command.push_back(expandStaticEnv(word, container));
    return t;
  }
  if (probe.httpGet) {
    absl::StatusOr<uint16_t> port = resolvePort(probe.httpGet->port, container);
    if (!port.ok())
      return port.status();
    absl::StatusOr<std::string> host = networkHost(probe.httpGet->host, podIp);
    if (!host.ok())
      return host.status();
    HttpTarget t{.host = *host, .port = *port};
    std::string scheme = absl::AsciiStrToUpper(probe.httpGet->scheme);
    t.scheme = scheme.empty() ? "HTTP" : scheme;
    if (!probe.httpGet->path.empty())
      t.path = probe.httpGet->path;
    for (const api::HTTPHeader& h : probe.httpGet->httpHeaders)
      t.headers.emplace_back(h.name, h.value);
    return t;
  }
  if (probe.tcpSocket) {
    absl::StatusOr<uint16_t> port = resolvePort(probe.tcpSocket->port, container);
    if (!port.ok())
      return port.status();
    absl::StatusOr<std::string> host = networkHost(probe.tcpSocket->host, podIp);
    if (!host.ok())
      return host.status();
    return TcpTarget{.host = *host, .port = *port};
  }
  return absl::InvalidArgumentError("the probe has no handler (exec, httpGet or tcpSocket)");
}

}  // namespace kubenode::probes
