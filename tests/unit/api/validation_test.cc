#include "api/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "api/defaults.h"

namespace kubenode::api {
namespace {

std::vector<std::string> messages(const ErrorList& errs) {
  std::vector<std::string> out;
  for (const FieldError& e : errs)
    out.push_back(e.toString());
  return out;
}

// A valid, defaulted pod: two containers sharing a volume, probes, ports.
Pod basePod() {
  Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  pod.metadata.labels = {{"app", "web"}};
  pod.spec.volumes.push_back(Volume{.name = "data", .emptyDir = EmptyDirVolumeSource{}});
  Container web;
  web.name = "web";
  web.image = "busybox:1.36";
  web.ports.push_back(ContainerPort{.name = "http", .containerPort = 8080});
  web.volumeMounts.push_back(VolumeMount{.name = "data", .mountPath = "/data"});
  web.livenessProbe = Probe{.httpGet = HTTPGetAction{.port = IntOrString::fromString("http")}};
  web.readinessProbe = Probe{.tcpSocket = TCPSocketAction{.port = IntOrString::fromInt(8080)}};
  web.resources.limits["cpu"] = Quantity::parse("1").value();
  web.env.push_back(EnvVar{.name = "MODE", .value = "prod"});
  pod.spec.containers.push_back(web);
  Container init;
  init.name = "init";
  init.image = "busybox:1.36";
  init.volumeMounts.push_back(VolumeMount{.name = "data", .mountPath = "/data"});
  pod.spec.initContainers.push_back(init);
  applyDefaults(pod);
  return pod;
}

struct PodCase {
  std::string name;
  std::function<void(Pod&)> mutate;
  std::vector<std::string> expected;
};

class PodValidationTest : public testing::TestWithParam<PodCase> {};

TEST(PodValidationBaseTest, BaseFixtureIsValid) {
  EXPECT_THAT(messages(validatePod(basePod())), testing::IsEmpty());
}

TEST_P(PodValidationTest, ReportsExactlyTheExpectedErrors) {
  Pod pod = basePod();
  GetParam().mutate(pod);
  EXPECT_THAT(messages(validatePod(pod)), testing::ElementsAreArray(GetParam().expected));
}

Container& web(Pod& p) {
  return p.spec.containers[0];
}

const std::string kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const std::string kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

INSTANTIATE_TEST_SUITE_P(
    Table, PodValidationTest,
    testing::Values(
        PodCase{"NameRequired", [](Pod& p) { p.metadata.name = ""; },
                {"metadata.name: Required value: name or generateName is required"}},
        PodCase{"NameNotSubdomain", [](Pod& p) { p.metadata.name = "Web_1"; },
                {"metadata.name: Invalid value: \"Web_1\": " + kSubdomainMsg}},
        PodCase{"NameTooLong", [](Pod& p) { p.metadata.name = std::string(254, 'a'); },
                {"metadata.name: Invalid value: \"" + std::string(254, 'a') +
                 "\": must be no more than 253 characters"}},
        PodCase{"GenerateNameWithDash",
                [](Pod& p) {
                  p.metadata.name = "";
                  p.metadata.generateName = "web-";
                },
                {}},
        PodCase{"NamespaceNotLabel", [](Pod& p) { p.metadata.namespace_ = "a.b"; },
                {"metadata.namespace: Invalid value: \"a.b\": " + kLabelMsg}},
        PodCase{"LabelValue", [](Pod& p) { p.metadata.labels["app"] = "-bad"; },
                {"metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string "
                 "or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                 "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                 "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"}},
        PodCase{"LabelKeyPrefix", [](Pod& p) { p.metadata.labels["Example.com/app"] = "x"; },
                {"metadata.labels: Invalid value: \"Example.com/app\": prefix part " +
                 kSubdomainMsg}},
        PodCase{"AnnotationKey", [](Pod& p) { p.metadata.annotations["a/b/c"] = "x"; },
                {"metadata.annotations: Invalid value: \"a/b/c\": a qualified name must consist "
                 "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                 "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
                 "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"}},
        PodCase{"AnnotationsTooLarge",
                [](Pod& p) { p.metadata.annotations["big"] = std::string(300000, 'x'); },
                {"metadata.annotations: Too long: must have at most 262144 bytes"}},
        PodCase{"ContainersRequired", [](Pod& p) { p.spec.containers.clear(); },
                {"spec.containers: Required value"}},
        PodCase{"ImageRequired", [](Pod& p) { web(p).image = ""; },
                {"spec.containers[0].image: Required value"}},
        PodCase{"ImageWhitespace", [](Pod& p) { web(p).image = " busybox"; },
                {"spec.containers[0].image: Invalid value: \" busybox\": must not have leading "
                 "or trailing whitespace"}},
        PodCase{"ContainerNameRequired", [](Pod& p) { web(p).name = ""; },
                {"spec.containers[0].name: Required value"}},
        PodCase{"ContainerNameNotLabel", [](Pod& p) { web(p).name = "Web"; },
                {"spec.containers[0].name: Invalid value: \"Web\": " + kLabelMsg}},
        PodCase{"DuplicateAcrossInitAndApp", [](Pod& p) { web(p).name = "init"; },
                {"spec.containers[0].name: Duplicate value: \"init\""}},
        PodCase{"DuplicateAppContainers",
                [](Pod& p) {
                  Container c = web(p);
                  c.livenessProbe.reset();
                  p.spec.containers.push_back(c);
                },
                {"spec.containers[1].name: Duplicate value: \"web\""}},
        PodCase{"ContainerPortZero", [](Pod& p) { web(p).ports[0].containerPort = 0; },
                {"spec.containers[0].ports[0].containerPort: Required value"}},
        PodCase{"ContainerPortRange", [](Pod& p) { web(p).ports[0].containerPort = 70000; },
                {"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be "
                 "between 1 and 65535, inclusive"}},
        PodCase{"HostPortRange", [](Pod& p) { web(p).ports[0].hostPort = -1; },
                {"spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and "
                 "65535, inclusive"}},
        PodCase{"PortNameTooLongAndUpper",
                [](Pod& p) {
                  web(p).ports[0].name = "HTTP-VERY-LONG-NAME";
                  web(p).livenessProbe->httpGet->port = IntOrString::fromInt(8080);
                },
                {"spec.containers[0].ports[0].name: Invalid value: \"HTTP-VERY-LONG-NAME\": must "
                 "be no more than 15 characters",
                 "spec.containers[0].ports[0].name: Invalid value: \"HTTP-VERY-LONG-NAME\": must "
                 "contain only alphanumeric characters (a-z, 0-9), and hyphens (-)",
                 "spec.containers[0].ports[0].name: Invalid value: \"HTTP-VERY-LONG-NAME\": must "
                 "contain at least one letter (a-z)"}},
        PodCase{"DuplicatePortName",
                [](Pod& p) {
                  web(p).ports.push_back(
                      ContainerPort{.name = "http", .containerPort = 9090, .protocol = "TCP"});
                },
                {"spec.containers[0].ports[1].name: Duplicate value: \"http\""}},
        PodCase{"PortProtocol", [](Pod& p) { web(p).ports[0].protocol = "ICMP"; },
                {"spec.containers[0].ports[0].protocol: Unsupported value: \"ICMP\": supported "
                 "values: \"SCTP\", \"TCP\", \"UDP\""}},
        PodCase{"HostNetworkPortMismatch",
                [](Pod& p) {
                  p.spec.hostNetwork = true;
                  web(p).ports[0].hostPort = 8081;
                },
                {"spec.containers[0].ports[0].hostPort: Invalid value: 8081: must match "
                 "`containerPort` when `hostNetwork` is true"}},
        PodCase{"EnvNameRequired", [](Pod& p) { web(p).env[0].name = ""; },
                {"spec.containers[0].env[0].name: Required value"}},
        PodCase{"EnvNameInvalid", [](Pod& p) { web(p).env[0].name = "1MODE"; },
                {"spec.containers[0].env[0].name: Invalid value: \"1MODE\": a valid environment "
                 "variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
                 "and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or "
                 "'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"}},
        PodCase{"EnvValueAndValueFrom",
                [](Pod& p) {
                  web(p).env[0].valueFrom =
                      EnvVarSource{ObjectFieldSelector{.apiVersion = "v1", .fieldPath = "metadata.name"}};
                },
                {"spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified "
                 "when `value` is not empty"}},
        PodCase{"EnvFieldPathUnsupported",
                [](Pod& p) {
                  web(p).env[0].value = "";
                  web(p).env[0].valueFrom =
                      EnvVarSource{ObjectFieldSelector{.apiVersion = "v1", .fieldPath = "spec.foo"}};
                },
                {"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "
                 "\"spec.foo\": supported values: \"metadata.annotations\", \"metadata.labels\", "
                 "\"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", "
                 "\"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", "
                 "\"status.podIP\", \"status.podIPs\""}},
        PodCase{"EnvValueFromUnsupportedSource",
                [](Pod& p) {
                  web(p).env[0].value = "";
                  web(p).env[0].valueFrom = EnvVarSource{};
                },
                {"spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify "
                 "`fieldRef` (the only source kubenode supports)"}},
        PodCase{"EnvFieldPathSubscript",
                [](Pod& p) {
                  web(p).env[0].value = "";
                  web(p).env[0].valueFrom = EnvVarSource{
                      ObjectFieldSelector{.apiVersion = "v1", .fieldPath = "metadata.labels['app']"}};
                },
                {}},
        PodCase{"VolumeNameDuplicate",
                [](Pod& p) { p.spec.volumes.push_back(p.spec.volumes[0]); },
                {"spec.volumes[1].name: Duplicate value: \"data\""}},
        PodCase{"VolumeNameInvalid",
                [](Pod& p) {
                  p.spec.volumes[0].name = "Data";
                  web(p).volumeMounts.clear();
                  p.spec.initContainers[0].volumeMounts.clear();
                },
                {"spec.volumes[0].name: Invalid value: \"Data\": " + kLabelMsg}},
        PodCase{"VolumeNoSource", [](Pod& p) { p.spec.volumes[0].emptyDir.reset(); },
                {"spec.volumes[0]: Required value: must specify a volume type (kubenode supports "
                 "emptyDir and hostPath)"}},
        PodCase{"VolumeTwoSources",
                [](Pod& p) { p.spec.volumes[0].hostPath = HostPathVolumeSource{.path = "/x", .type = ""}; },
                {"spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type"}},
        PodCase{"HostPathType",
                [](Pod& p) {
                  p.spec.volumes[0].emptyDir.reset();
                  p.spec.volumes[0].hostPath = HostPathVolumeSource{.path = "/x", .type = "Dir"};
                },
                {"spec.volumes[0].hostPath.type: Unsupported value: \"Dir\": supported values: "
                 "\"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", "
                 "\"File\", \"FileOrCreate\", \"Socket\""}},
        PodCase{"HostPathRequired",
                [](Pod& p) {
                  p.spec.volumes[0].emptyDir.reset();
                  p.spec.volumes[0].hostPath = HostPathVolumeSource{.type = ""};
                },
                {"spec.volumes[0].hostPath.path: Required value"}},
        PodCase{"MountUnknownVolume", [](Pod& p) { web(p).volumeMounts[0].name = "cache"; },
                {"spec.containers[0].volumeMounts[0].name: Not found: \"cache\""}},
        PodCase{"MountPathRelative", [](Pod& p) { web(p).volumeMounts[0].mountPath = "data"; },
                {"spec.containers[0].volumeMounts[0].mountPath: Invalid value: \"data\": must be "
                 "an absolute path"}},
        PodCase{"MountPathDuplicate",
                [](Pod& p) { web(p).volumeMounts.push_back(web(p).volumeMounts[0]); },
                {"spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/data\": must be "
                 "unique"}},
        PodCase{"SubPathBackstep", [](Pod& p) { web(p).volumeMounts[0].subPath = "../etc"; },
                {"spec.containers[0].volumeMounts[0].subPath: Invalid value: \"../etc\": must not "
                 "contain '..'"}},
        PodCase{"ProbeNoHandler", [](Pod& p) { web(p).livenessProbe->httpGet.reset(); },
                {"spec.containers[0].livenessProbe: Required value: must specify a handler type"}},
        PodCase{"ProbeTwoHandlers",
                [](Pod& p) { web(p).livenessProbe->exec = ExecAction{{"true"}}; },
                {"spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more than "
                 "1 handler type"}},
        PodCase{"ProbeExecCommandRequired",
                [](Pod& p) { web(p).readinessProbe = Probe{.exec = ExecAction{}, .timeoutSeconds = 1, .periodSeconds = 10, .successThreshold = 1, .failureThreshold = 3}; },
                {"spec.containers[0].readinessProbe.exec.command: Required value"}},
        PodCase{"ProbeNegativeNumbers",
                [](Pod& p) {
                  web(p).readinessProbe->periodSeconds = -1;
                  web(p).readinessProbe->initialDelaySeconds = -5;
                },
                {"spec.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -5: must "
                 "be greater than or equal to 0",
                 "spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be "
                 "greater than or equal to 0"}},
        PodCase{"LivenessSuccessThreshold", [](Pod& p) { web(p).livenessProbe->successThreshold = 2; },
                {"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
        PodCase{"StartupSuccessThreshold",
                [](Pod& p) {
                  web(p).startupProbe = web(p).livenessProbe;
                  web(p).startupProbe->successThreshold = 3;
                },
                {"spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1"}},
        PodCase{"ReadinessSuccessThresholdMayExceedOne",
                [](Pod& p) { web(p).readinessProbe->successThreshold = 3; }, {}},
        PodCase{"ProbeGracePeriod",
                [](Pod& p) { web(p).livenessProbe->terminationGracePeriodSeconds = 0; },
                {"spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: "
                 "0: must be greater than 0"}},
        PodCase{"ProbeNamedPortMissing",
                [](Pod& p) { web(p).livenessProbe->httpGet->port = IntOrString::fromString("metrics"); },
                {"spec.containers[0].livenessProbe.httpGet.port: Not found: \"metrics\""}},
        PodCase{"ProbePortRange",
                [](Pod& p) { web(p).readinessProbe->tcpSocket->port = IntOrString::fromInt(0); },
                {"spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: 0: must be "
                 "between 1 and 65535, inclusive"}},
        PodCase{"ProbeScheme", [](Pod& p) { web(p).livenessProbe->httpGet->scheme = "FTP"; },
                {"spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: \"FTP\": "
                 "supported values: \"HTTP\", \"HTTPS\""}},
        PodCase{"InitContainerProbe",
                [](Pod& p) { p.spec.initContainers[0].readinessProbe = web(p).readinessProbe; },
                {"spec.initContainers[0].readinessProbe: Forbidden: may not be set for init "
                 "containers"}},
        PodCase{"PreStopNoHandler",
                [](Pod& p) { web(p).lifecycle = Lifecycle{.preStop = LifecycleHandler{}}; },
                {"spec.containers[0].lifecycle.preStop: Required value: must specify a handler "
                 "type"}},
        PodCase{"RequestAboveLimit",
                [](Pod& p) { web(p).resources.requests["cpu"] = Quantity::parse("2").value(); },
                {"spec.containers[0].resources.requests: Invalid value: \"2\": must be less than "
                 "or equal to cpu limit of 1"}},
        PodCase{"ResourceName",
                [](Pod& p) { web(p).resources.limits["gpu"] = Quantity::parse("1").value(); },
                {"spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a "
                 "standard resource for containers"}},
        PodCase{"NegativeQuantity",
                [](Pod& p) {
                  web(p).resources.limits["memory"] = Quantity::parse("-1Mi").value();
                  web(p).resources.requests.erase("memory");
                },
                {"spec.containers[0].resources.limits[memory]: Invalid value: \"-1Mi\": must be "
                 "greater than or equal to 0"}},
        PodCase{"RestartPolicy", [](Pod& p) { p.spec.restartPolicy = "Sometimes"; },
                {"spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: "
                 "\"Always\", \"Never\", \"OnFailure\""}},
        PodCase{"DnsPolicy", [](Pod& p) { p.spec.dnsPolicy = "Google"; },
                {"spec.dnsPolicy: Unsupported value: \"Google\": supported values: "
                 "\"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", \"None\""}},
        PodCase{"DnsPolicyNoneWithoutConfig", [](Pod& p) { p.spec.dnsPolicy = "None"; },
                {"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is "
                 "None"}},
        PodCase{"DnsPolicyNoneWithoutNameservers",
                [](Pod& p) {
                  p.spec.dnsPolicy = "None";
                  p.spec.dnsConfig = PodDNSConfig{.searches = {"example.com"}};
                },
                {"spec.dnsConfig.nameservers: Required value: must provide at least one DNS "
                 "nameserver when `dnsPolicy` is None"}},
        PodCase{"DnsConfigBadValues",
                [](Pod& p) {
                  p.spec.dnsConfig = PodDNSConfig{
                      .nameservers = {"1.1.1.1", "8.8.8.8", "9.9.9.9", "dns.example"},
                      .searches = {"ok.example.", "Bad_Search"},
                      .options = {{.name = ""}}};
                },
                {"spec.dnsConfig.nameservers: Invalid value: "
                 "\"1.1.1.1,8.8.8.8,9.9.9.9,dns.example\": must not have more than 3 nameservers",
                 "spec.dnsConfig.nameservers[3]: Invalid value: \"dns.example\": must be a valid "
                 "IP address",
                 "spec.dnsConfig.searches[1]: Invalid value: \"Bad_Search\": " + kSubdomainMsg,
                 "spec.dnsConfig.options[0].name: Required value"}},
        PodCase{"HostAliases",
                [](Pod& p) {
                  p.spec.hostAliases = {{.ip = "10.0.0.1", .hostnames = {"db.local"}},
                                        {.ip = "not-an-ip", .hostnames = {"UPPER"}}};
                },
                {"spec.hostAliases[1].ip: Invalid value: \"not-an-ip\": must be a valid IP "
                 "address",
                 "spec.hostAliases[1].hostnames[0]: Invalid value: \"UPPER\": " +
                     kSubdomainMsg}},
        PodCase{"Sysctls",
                [](Pod& p) {
                  p.spec.securityContext = PodSecurityContext{};
                  p.spec.securityContext->sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"},
                                                     {"Net..bad", "1"},
                                                     {"", "1"}};
                },
                {"spec.securityContext.sysctls[1].name: Invalid value: \"Net..bad\": must have "
                 "at most 253 characters and match regex "
                 "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
                 "spec.securityContext.sysctls[2].name: Required value"}},
        PodCase{"ImagePullPolicy", [](Pod& p) { web(p).imagePullPolicy = "Sometimes"; },
                {"spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": "
                 "supported values: \"Always\", \"IfNotPresent\", \"Never\""}},
        PodCase{"TerminationGracePeriod", [](Pod& p) { p.spec.terminationGracePeriodSeconds = -1; },
                {"spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or "
                 "equal to 0"}},
        PodCase{"ActiveDeadline", [](Pod& p) { p.spec.activeDeadlineSeconds = 0; },
                {"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 4294967295, "
                 "inclusive"}},
        PodCase{"NodeSelector", [](Pod& p) { p.spec.nodeSelector["disk"] = "ssd fast"; },
                {"spec.nodeSelector: Invalid value: \"ssd fast\": a valid label must be an empty "
                 "string or consist of alphanumeric characters, '-', '_' or '.', and must start "
                 "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                 "'12345', regex used for validation is "
                 "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"}},
        PodCase{"Hostname", [](Pod& p) { p.spec.hostname = "web.1"; },
                {"spec.hostname: Invalid value: \"web.1\": " + kLabelMsg}},
        PodCase{"SeccompLocalhostNeedsProfile",
                [](Pod& p) { web(p).securityContext = SecurityContext{.seccompProfile = SeccompProfile{.type = "Localhost"}}; },
                {"spec.containers[0].securityContext.seccompProfile.localhostProfile: Required "
                 "value: must be set when seccomp type is Localhost"}},
        PodCase{"PrivilegedWithoutEscalation",
                [](Pod& p) {
                  web(p).securityContext =
                      SecurityContext{.privileged = true, .allowPrivilegeEscalation = false};
                },
                {"spec.containers[0].securityContext: Invalid value: cannot set "
                 "`allowPrivilegeEscalation` to false and `privileged` to true"}},
        PodCase{"RunAsUserRange",
                [](Pod& p) { p.spec.securityContext->runAsUser = -1; },
                {"spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and "
                 "2147483647, inclusive"}},
        PodCase{"TolerationExistsWithValue",
                [](Pod& p) { p.spec.tolerations.push_back(Toleration{.key = "a", .operator_ = "Exists", .value = "b"}); },
                {"spec.tolerations[0].operator: Invalid value: \"b\": value must be empty when "
                 "`operator` is 'Exists'"}},
        PodCase{"TolerationSecondsNeedNoExecute",
                [](Pod& p) {
                  p.spec.tolerations.push_back(
                      Toleration{.key = "a", .operator_ = "Equal", .value = "b", .effect = "NoSchedule", .tolerationSeconds = 5});
                },
                {"spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be "
                 "'NoExecute' when `tolerationSeconds` is set"}},
        PodCase{"TolerationEmptyKeyNeedsExists",
                [](Pod& p) { p.spec.tolerations.push_back(Toleration{.operator_ = "Equal"}); },
                {"spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists "
                 "when `key` is empty, which means \"match all values and all keys\""}},
        PodCase{"SeveralErrorsAtOnce",
                [](Pod& p) {
                  web(p).image = "";
                  p.spec.restartPolicy = "";
                },
                {"spec.containers[0].image: Required value", "spec.restartPolicy: Required value"}}),
    [](const testing::TestParamInfo<PodCase>& info) { return info.param.name; });

// --- Service ---

Service baseService() {
  Service svc;
  svc.metadata.name = "web";
  svc.spec.selector = {{"app", "web"}};
  svc.spec.ports.push_back(
      ServicePort{.name = "http", .port = 80, .targetPort = IntOrString::fromString("http")});
  svc.spec.ports.push_back(ServicePort{.name = "metrics", .port = 9090});
  applyDefaults(svc);
  return svc;
}

struct ServiceCase {
  std::string name;
  std::function<void(Service&)> mutate;
  std::vector<std::string> expected;
};

class ServiceValidationTest : public testing::TestWithParam<ServiceCase> {};

TEST(ServiceValidationBaseTest, BaseFixtureIsValid) {
  EXPECT_THAT(messages(validateService(baseService())), testing::IsEmpty());
}

TEST_P(ServiceValidationTest, ReportsExactlyTheExpectedErrors) {
  Service svc = baseService();
  GetParam().mutate(svc);
  EXPECT_THAT(messages(validateService(svc)), testing::ElementsAreArray(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ServiceValidationTest,
    testing::Values(
        ServiceCase{"NameDns1035",
                    [](Service& s) { s.metadata.name = "1web"; },
                    {"metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of "
                     "lower case alphanumeric characters or '-', start with an alphabetic "
                     "character, and end with an alphanumeric character (e.g. 'my-name',  or "
                     "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"}},
        ServiceCase{"PortsRequired",
                    [](Service& s) { s.spec.ports.clear(); },
                    {"spec.ports: Required value"}},
        ServiceCase{"HeadlessNeedsNoPorts",
                    [](Service& s) {
                      s.spec.ports.clear();
                      s.spec.clusterIP = "None";
                      s.spec.clusterIPs = {"None"};
                    },
                    {}},
        ServiceCase{
            "PortRange",
            [](Service& s) { s.spec.ports[0].port = 0; },
            {"spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
        ServiceCase{"NameRequiredWithSeveralPorts",
                    [](Service& s) { s.spec.ports[1].name = ""; },
                    {"spec.ports[1].name: Required value"}},
        ServiceCase{"SinglePortNeedsNoName",
                    [](Service& s) {
                      s.spec.ports.pop_back();
                      s.spec.ports[0].name = "";
                    },
                    {}},
        ServiceCase{"DuplicatePortName",
                    [](Service& s) { s.spec.ports[1].name = "http"; },
                    {"spec.ports[1].name: Duplicate value: \"http\""}},
        ServiceCase{"Protocol",
                    [](Service& s) { s.spec.ports[0].protocol = "tcp"; },
                    {"spec.ports[0].protocol: Unsupported value: \"tcp\": supported values: "
                     "\"SCTP\", \"TCP\", \"UDP\""}},
        ServiceCase{"TargetPortRange",
                    [](Service& s) { s.spec.ports[1].targetPort = IntOrString::fromInt(70000); },
                    {"spec.ports[1].targetPort: Invalid value: 70000: must be between 1 and "
                     "65535, inclusive"}},
        ServiceCase{
            "TargetPortName",
            [](Service& s) { s.spec.ports[0].targetPort = IntOrString::fromString("web--x"); },
            {"spec.ports[0].targetPort: Invalid value: \"web--x\": must not contain "
             "consecutive hyphens"}},
        ServiceCase{"Type",
                    [](Service& s) { s.spec.type = "Internal"; },
                    {"spec.type: Unsupported value: \"Internal\": supported values: "
                     "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""}},
        ServiceCase{"NodePortOnClusterIP",
                    [](Service& s) { s.spec.ports[0].nodePort = 30080; },
                    {"spec.ports[0].nodePort: Forbidden: may not be used when `type` is "
                     "'ClusterIP'"}},
        ServiceCase{"NodePortRange",
                    [](Service& s) {
                      s.spec.type = "NodePort";
                      s.spec.externalTrafficPolicy = "Cluster";
                      s.spec.ports[0].nodePort = 70000;
                    },
                    {"spec.ports[0].nodePort: Invalid value: 70000: must be between 1 and 65535, "
                     "inclusive"}},
        ServiceCase{"ClusterIPInvalid",
                    [](Service& s) {
                      s.spec.clusterIP = "10.0.0";
                      s.spec.clusterIPs = {"10.0.0"};
                    },
                    {"spec.clusterIP: Invalid value: \"10.0.0\": must be a valid IP address, "
                     "(e.g. 10.9.8.7 or 2001:db8::ffff)"}},
        ServiceCase{"ClusterIPsMismatch",
                    [](Service& s) {
                      s.spec.clusterIP = "10.96.0.10";
                      s.spec.clusterIPs = {"10.96.0.11"};
                    },
                    {"spec.clusterIPs[0]: Invalid value: \"10.96.0.11\": must match `clusterIP` "
                     "when set"}},
        ServiceCase{"SessionAffinity",
                    [](Service& s) { s.spec.sessionAffinity = "Cookie"; },
                    {"spec.sessionAffinity: Unsupported value: \"Cookie\": supported values: "
                     "\"ClientIP\", \"None\""}},
        ServiceCase{"AffinityTimeout",
                    [](Service& s) {
                      s.spec.sessionAffinity = "ClientIP";
                      s.spec.sessionAffinityConfig = SessionAffinityConfig{ClientIPConfig{86401}};
                    },
                    {"spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: "
                     "must be greater than 0 and less than 86400"}},
        ServiceCase{"AffinityTimeoutMax",
                    [](Service& s) {
                      s.spec.sessionAffinity = "ClientIP";
                      s.spec.sessionAffinityConfig = SessionAffinityConfig{ClientIPConfig{86400}};
                    },
                    {}},
        ServiceCase{"AffinityConfigWithNone",
                    [](Service& s) {
                      s.spec.sessionAffinityConfig = SessionAffinityConfig{ClientIPConfig{60}};
                    },
                    {"spec.sessionAffinityConfig: Invalid value: must not be set when session "
                     "affinity is None"}},
        ServiceCase{"SelectorKey",
                    [](Service& s) { s.spec.selector["-app"] = "web"; },
                    {"spec.selector: Invalid value: \"-app\": name part must consist of "
                     "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                     "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                     "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"}},
        ServiceCase{"ExternalTrafficPolicyOnClusterIP",
                    [](Service& s) { s.spec.externalTrafficPolicy = "Local"; },
                    {"spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for "
                     "externally-accessible services"}},
        ServiceCase{"ExternalTrafficPolicyValue",
                    [](Service& s) {
                      s.spec.type = "NodePort";
                      s.spec.externalTrafficPolicy = "Nearest";
                    },
                    {"spec.externalTrafficPolicy: Unsupported value: \"Nearest\": supported "
                     "values: \"Cluster\", \"Local\""}},
        ServiceCase{"InternalTrafficPolicy",
                    [](Service& s) { s.spec.internalTrafficPolicy = "Node"; },
                    {"spec.internalTrafficPolicy: Unsupported value: \"Node\": supported values: "
                     "\"Cluster\", \"Local\""}},
        ServiceCase{"ExternalIPs",
                    [](Service& s) {
                      s.spec.externalIPs = {"1.2.3.4", "x"};
                    },
                    {"spec.externalIPs[1]: Invalid value: \"x\": must be a valid IP address, "
                     "(e.g. 10.9.8.7 or 2001:db8::ffff)"}},
        ServiceCase{"SourceRangesOnlyForLoadBalancer",
                    [](Service& s) { s.spec.loadBalancerSourceRanges = {"10.0.0.0/8"}; },
                    {"spec.loadBalancerSourceRanges[0]: Forbidden: may only be used when `type` "
                     "is 'LoadBalancer'"}},
        ServiceCase{"IpFamilies",
                    [](Service& s) {
                      s.spec.ipFamilies = {"IPv4", "IPv5"};
                    },
                    {"spec.ipFamilies[1]: Unsupported value: \"IPv5\": supported values: "
                     "\"IPv4\", \"IPv6\""}},
        ServiceCase{"ExternalNameRequired",
                    [](Service& s) {
                      s.spec.type = "ExternalName";
                      s.spec.ports.clear();
                    },
                    {"spec.externalName: Required value"}}),
    [](const testing::TestParamInfo<ServiceCase>& info) { return info.param.name; });

// --- EndpointSlice, Node, Lease, Event, Namespace ---

EndpointSlice baseSlice() {
  EndpointSlice s;
  s.metadata.name = "web-abc12";
  s.addressType = "IPv4";
  s.endpoints.push_back(Endpoint{.addresses = {"10.244.1.5"}, .nodeName = "node-1"});
  s.ports.push_back(EndpointPort{.name = "http", .port = 8080});
  applyDefaults(s);
  return s;
}

TEST(EndpointSliceValidationTest, Table) {
  EXPECT_THAT(messages(validateEndpointSlice(baseSlice())), testing::IsEmpty());
  struct Case {
    std::function<void(EndpointSlice&)> mutate;
    std::vector<std::string> expected;
  };
  std::vector<Case> cases = {
      {[](EndpointSlice& s) { s.addressType = "IPv5"; },
       {"addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", "
        "\"IPv6\""}},
      {[](EndpointSlice& s) { s.endpoints[0].addresses = {"fd00::1"}; },
       {"endpoints[0].addresses[0]: Invalid value: \"fd00::1\": must be a valid IPv4 address"}},
      {[](EndpointSlice& s) { s.endpoints[0].addresses.clear(); },
       {"endpoints[0].addresses: Required value: must contain at least 1 address"}},
      {[](EndpointSlice& s) { s.endpoints[0].addresses = {"127.0.0.1"}; },
       {"endpoints[0].addresses[0]: Invalid value: \"127.0.0.1\": may not be in the loopback "
        "range (127.0.0.0/8, ::1/128)"}},
      {[](EndpointSlice& s) {
         s.addressType = "IPv6";
         s.endpoints[0].addresses = {"fd00::1"};
       },
       {}},
      {[](EndpointSlice& s) {
         s.addressType = "FQDN";
         s.endpoints[0].addresses = {"web.example.com"};
       },
       {}},
      {[](EndpointSlice& s) { s.ports.push_back(s.ports[0]); },
       {"ports[1].name: Duplicate value: \"http\""}},
      {[](EndpointSlice& s) { s.ports[0].protocol = "HTTP"; },
       {"ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", "
        "\"UDP\""}},
      {[](EndpointSlice& s) { s.ports[0].port = 0; },
       {"ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EndpointSlice s = baseSlice();
    cases[i].mutate(s);
    EXPECT_THAT(messages(validateEndpointSlice(s)), testing::ElementsAreArray(cases[i].expected))
        << "case " << i;
  }
}

TEST(NodeValidationTest, Table) {
  Node n;
  n.metadata.name = "node-1";
  n.spec.podCIDR = "10.244.1.0/24";
  n.spec.podCIDRs = {"10.244.1.0/24"};
  n.spec.taints.push_back(Taint{.key = "dedicated", .value = "gpu", .effect = "NoSchedule"});
  EXPECT_THAT(messages(validateNode(n)), testing::IsEmpty());
  Node bad = n;
  bad.metadata.namespace_ = "default";
  bad.spec.podCIDRs = {"10.244.1.0/33"};
  bad.spec.taints[0].effect = "Never";
  EXPECT_THAT(messages(validateNode(bad)),
              testing::ElementsAre(
                  "metadata.namespace: Forbidden: not allowed on this type",
                  "spec.podCIDRs[0]: Invalid value: \"10.244.1.0/33\": must be a valid CIDR "
                  "value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                  "spec.podCIDRs[0]: Invalid value: \"10.244.1.0/33\": must match `podCIDR`",
                  "spec.taints[0].effect: Unsupported value: \"Never\": supported values: "
                  "\"NoExecute\", \"NoSchedule\", \"PreferNoSchedule\""));
}

TEST(LeaseEventNamespaceValidationTest, BasicMetadata) {
  Lease lease;
  lease.metadata.name = "node-1";
  lease.metadata.namespace_ = "kube-node-lease";
  lease.spec.leaseDurationSeconds = 40;
  EXPECT_THAT(messages(validateLease(lease)), testing::IsEmpty());
  lease.spec.leaseDurationSeconds = 0;
  EXPECT_THAT(
      messages(validateLease(lease)),
      testing::ElementsAre("spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"));

  Event e;
  e.metadata.name = "web.17a9b3";
  e.type = "Normal";
  EXPECT_THAT(messages(validateEvent(e)), testing::IsEmpty());
  e.type = "Info";
  EXPECT_THAT(messages(validateEvent(e)),
              testing::ElementsAre("type: Unsupported value: \"Info\": supported values: "
                                   "\"Normal\", \"Warning\""));

  Namespace ns;
  ns.metadata.name = "kube-system";
  EXPECT_THAT(messages(validateNamespace(ns)), testing::IsEmpty());
  ns.metadata.name = "kube.system";
  EXPECT_THAT(messages(validateNamespace(ns)),
              testing::ElementsAre("metadata.name: Invalid value: \"kube.system\": " + kLabelMsg));
}

TEST(ValidateObjectTest, ListsPrefixItemPaths) {
  PodList list;
  list.items.push_back(basePod());
  list.items.push_back(basePod());
  list.items[1].spec.containers[0].image = "";
  EXPECT_THAT(messages(validate(Object(list))),
              testing::ElementsAre("items[1].spec.containers[0].image: Required value"));
}

TEST(FieldErrorTest, QuotesLikeGo) {
  EXPECT_EQ(quoteGo("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\x01\"");
  EXPECT_EQ(FieldError::invalid(FieldPath("x"), badInt(5), "bad").toString(),
            "x: Invalid value: 5: bad");
  EXPECT_EQ(FieldError::required(FieldPath("x")).toString(), "x: Required value");
  EXPECT_EQ(
      joinErrors({FieldError::required(FieldPath("a")), FieldError::required(FieldPath("b"))}),
      "[a: Required value, b: Required value]");
}

}  // namespace
}  // namespace kubenode::api
