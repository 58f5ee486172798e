#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "api/json_codec.h"
#include "api/yaml_codec.h"

namespace kubenode::api {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;

std::string errorOf(std::string_view json) {
  absl::StatusOr<Decoded<Pod>> pod = decodeJson<Pod>(json);
  if (pod.ok())
    return "(decoded)";
  return std::string(pod.status().message());
}

TEST(JsonDecodeTest, ReadsAPodWithEveryKindOfField) {
  absl::StatusOr<Decoded<Pod>> decoded = decodeJson<Pod>(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"},
                 "creationTimestamp": "2024-05-01T12:00:00+02:00", "generation": 3},
    "spec": {
      "containers": [{
        "name": "web", "image": "busybox:1.36", "command": ["sh", "-c"], "args": ["httpd -f"],
        "ports": [{"name": "http", "containerPort": 80}],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": 0.25}},
        "livenessProbe": {"httpGet": {"port": "http", "path": "/healthz"}, "periodSeconds": 5},
        "readinessProbe": {"tcpSocket": {"port": 80}},
        "securityContext": {"runAsUser": 1000, "capabilities": {"drop": ["ALL"]}}
      }],
      "terminationGracePeriodSeconds": 10,
      "hostNetwork": false
    },
    "status": {"phase": "Running", "podIPs": [{"ip": "10.244.1.5"}],
               "containerStatuses": [{"name": "web", "ready": true, "restartCount": 2,
                                      "image": "busybox:1.36", "imageID": "sha256:abc",
                                      "state": {"running": {"startedAt": "2024-05-01T10:00:05Z"}},
                                      "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}
  })");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->warnings.empty());
  const Pod& pod = decoded->object;
  EXPECT_EQ(pod.metadata.name, "web");
  EXPECT_EQ(pod.metadata.namespace_, "prod");
  EXPECT_EQ(pod.metadata.generation, 3);
  EXPECT_EQ(pod.metadata.creationTimestamp->toString(), "2024-05-01T10:00:00Z");
  const Container& c = pod.spec.containers.at(0);
  EXPECT_THAT(c.command, ElementsAre("sh", "-c"));
  EXPECT_EQ(c.ports.at(0).containerPort, 80);
  EXPECT_EQ(c.env.at(0).valueFrom->fieldRef->fieldPath, "status.podIP");
  EXPECT_EQ(c.resources.limits.at("memory").value(), 67108864);
  EXPECT_EQ(c.resources.requests.at("cpu").milliValue(), 250);
  EXPECT_TRUE(c.livenessProbe->httpGet->port.isString());
  EXPECT_EQ(c.livenessProbe->httpGet->port.str(), "http");
  EXPECT_EQ(c.readinessProbe->tcpSocket->port.intValue(), 80);
  EXPECT_EQ(c.securityContext->runAsUser, 1000);
  EXPECT_EQ(pod.spec.terminationGracePeriodSeconds, 10);
  const ContainerStatus& s = pod.status.containerStatuses.at(0);
  EXPECT_TRUE(s.ready);
  EXPECT_EQ(s.restartCount, 2);
  EXPECT_EQ(s.lastState.terminated->exitCode, 137);
  EXPECT_EQ(s.state.running->startedAt->toString(), "2024-05-01T10:00:05Z");
}

TEST(JsonDecodeTest, WrongTypesNameTheFieldAndTheValue) {
  EXPECT_EQ(
      errorOf(R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":"abc"}]}]}})"),
      "spec.containers[0].ports[0].containerPort: Invalid value: \"abc\": expected an integer");
  EXPECT_EQ(errorOf(R"({"spec":{"containers":{"name":"a"}}})"),
            "spec.containers: Invalid value: object: expected a list");
  EXPECT_EQ(errorOf(R"({"spec":{"hostNetwork":"yes"}})"),
            "spec.hostNetwork: Invalid value: \"yes\": expected a boolean (true or false)");
  EXPECT_EQ(errorOf(R"({"metadata":{"name":80}})"),
            "metadata.name: Invalid value: 80: expected a string");
  EXPECT_EQ(errorOf(R"({"metadata":{"labels":{"app":1}}})"),
            "metadata.labels[app]: Invalid value: 1: expected a string");
  EXPECT_EQ(errorOf(R"({"spec":{"containers":[{"ports":[{"containerPort":99999999999}]}]}})"),
            "spec.containers[0].ports[0].containerPort: Invalid value: 99999999999: expected a "
            "32-bit integer");
  EXPECT_EQ(errorOf(R"({"spec":{"containers":[{"ports":[{"containerPort":1.5}]}]}})"),
            "spec.containers[0].ports[0].containerPort: Invalid value: 1.5: expected a 32-bit "
            "integer");
  EXPECT_THAT(errorOf(R"({"spec":{"containers":[{"resources":{"limits":{"cpu":"12x"}}}]}})"),
              HasSubstr("spec.containers[0].resources.limits[cpu]: Invalid value: \"12x\": unknown "
                        "suffix \"x\" (expected a number"));
  EXPECT_THAT(errorOf(R"({"metadata":{"creationTimestamp":"yesterday"}})"),
              HasSubstr("metadata.creationTimestamp: Invalid value: \"yesterday\": expected an "
                        "RFC 3339 time"));
  EXPECT_EQ(errorOf(R"({"kind":"Service"})"),
            "kind: Unsupported value: \"Service\": supported values: \"Pod\"");
  EXPECT_EQ(errorOf(R"([1,2])"), "Invalid value: array: expected a Pod object");
}

TEST(JsonDecodeTest, ReportsEveryErrorNotOnlyTheFirst) {
  std::string msg = errorOf(R"({"metadata":{"name":1},"spec":{"restartPolicy":2}})");
  EXPECT_EQ(msg,
            "[metadata.name: Invalid value: 1: expected a string, spec.restartPolicy: Invalid "
            "value: 2: expected a string]");
}

TEST(JsonDecodeTest, UnknownFieldsAreWarningsInDocumentOrder) {
  absl::StatusOr<Decoded<Pod>> pod = decodeJson<Pod>(R"({
    "metadata": {"name": "a", "managedFields": [{"manager": "kubectl"}]},
    "spec": {"affinity": {}, "containers": [{"name": "a", "image": "b", "foo": 1}]},
    "bogus": true})");
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_THAT(
      pod->warnings,
      ElementsAre("unknown field \"metadata.managedFields\"", "unknown field \"spec.affinity\"",
                  "unknown field \"spec.containers[0].foo\"", "unknown field \"bogus\""));
}

TEST(JsonDecodeTest, NullMeansUnset) {
  absl::StatusOr<Decoded<Pod>> pod = decodeJson<Pod>(
      R"({"metadata":{"name":null,"labels":null},"spec":{"terminationGracePeriodSeconds":null}})");
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(pod->object.metadata.name, "");
  EXPECT_FALSE(pod->object.spec.terminationGracePeriodSeconds.has_value());
}

TEST(JsonDecodeTest, MalformedAndHostileInputFailsCleanly) {
  EXPECT_THAT(errorOf("{"), HasSubstr("invalid JSON"));
  EXPECT_THAT(errorOf(""), HasSubstr("invalid JSON"));
  EXPECT_THAT(errorOf("{\"a\":}"), HasSubstr("invalid JSON"));
  EXPECT_THAT(errorOf(std::string(100000, '[')), HasSubstr("nesting deeper than 128"));
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(errorOf(R"({"spec":{"foo":)" + deep + "}}"), "(decoded)");
  EXPECT_THAT(errorOf("{\"metadata\":{\"name\":\"\xff\xfe\"}}"), HasSubstr("invalid JSON"));
  EXPECT_THAT(errorOf(R"({"spec":{"containers":[{"ports":[{"containerPort":1e400}]}]}})"),
              HasSubstr("invalid JSON"));
}

TEST(JsonEncodeTest, OmitsEmptyFieldsAndKeepsWhatKubernetesAlwaysWrites) {
  Pod pod;
  pod.metadata.name = "web";
  Container& c = pod.spec.containers.emplace_back();
  c.name = "web";
  c.image = "busybox";
  c.ports.push_back(ContainerPort{.containerPort = 80});
  c.volumeMounts.push_back(VolumeMount{.name = "data", .mountPath = "/data"});
  pod.spec.terminationGracePeriodSeconds = 0;  // a set pointer is written even when zero
  ContainerStatus& s = pod.status.containerStatuses.emplace_back();
  s.name = "web";
  EXPECT_EQ(
      encodeJson(pod),
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[)"
      R"({"name":"web","image":"busybox","ports":[{"containerPort":80}],)"
      R"("volumeMounts":[{"name":"data","mountPath":"/data"}]}],)"
      R"("terminationGracePeriodSeconds":0},"status":{"containerStatuses":[{"name":"web",)"
      R"("state":{},"lastState":{},"ready":false,"restartCount":0,"image":"","imageID":""}]}})");
}

TEST(JsonEncodeTest, EncodesQuantitiesTimesAndIntOrString) {
  Service svc;
  svc.metadata.name = "web";
  svc.metadata.creationTimestamp = Time::parse("2024-05-01T10:00:00.75Z").value();
  svc.spec.ports.push_back(
      ServicePort{.name = "http", .port = 80, .targetPort = IntOrString::fromString("http")});
  svc.spec.ports.push_back(
      ServicePort{.name = "alt", .port = 81, .targetPort = IntOrString::fromInt(8081)});
  Json j = toJson(svc);
  EXPECT_EQ(j["metadata"]["creationTimestamp"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(j["spec"]["ports"][0]["targetPort"], "http");
  EXPECT_EQ(j["spec"]["ports"][1]["targetPort"], 8081);
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["kind"], "Service");

  Lease lease;
  lease.spec.renewTime = MicroTime::parse("2024-05-01T10:00:00.123456789Z").value();
  EXPECT_EQ(toJson(lease)["spec"]["renewTime"], "2024-05-01T10:00:00.123456Z");
  EXPECT_EQ(toJson(lease)["apiVersion"], "coordination.k8s.io/v1");

  Node node;
  node.status.capacity["memory"] = Quantity::parse("1.5Gi").value();
  node.status.daemonEndpoints.kubeletEndpoint.port = 10250;
  Json n = toJson(node);
  EXPECT_EQ(n["status"]["capacity"]["memory"], "1536Mi");
  EXPECT_EQ(n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
  EXPECT_EQ(n["status"]["nodeInfo"]["kubeletVersion"], "");
}

TEST(JsonRoundTripTest, EveryTypeSurvivesEncodeDecode) {
  EndpointSlice slice;
  slice.metadata.name = "web-abc";
  slice.addressType = "IPv4";
  slice.endpoints.push_back(
      Endpoint{.addresses = {"10.0.0.1"},
               .conditions = {.ready = true, .serving = true, .terminating = false},
               .targetRef = ObjectReference{.kind = "Pod", .name = "web-1"},
               .nodeName = "node-1",
               .zone = "a"});
  slice.ports.push_back(EndpointPort{.name = "http", .protocol = "TCP", .port = 8080});
  auto back = fromJson<EndpointSlice>(toJson(slice));
  ASSERT_TRUE(back.ok()) << back.status();
  slice.typeMeta = back->object.typeMeta;
  EXPECT_EQ(back->object, slice);

  Event event;
  event.metadata.name = "web.1";
  event.involvedObject = ObjectReference{.kind = "Pod", .namespace_ = "default", .name = "web"};
  event.reason = "Started";
  event.count = 2;
  event.eventTime = MicroTime::parse("2024-05-01T10:00:00.5Z").value();
  event.firstTimestamp = Time::parse("2024-05-01T10:00:00Z").value();
  auto eventBack = fromJson<Event>(toJson(event));
  ASSERT_TRUE(eventBack.ok());
  event.typeMeta = eventBack->object.typeMeta;
  EXPECT_EQ(eventBack->object, event);

  Status status;
  status.status = "Failure";
  status.reason = "NotFound";
  status.code = 404;
  status.details = StatusDetails{.name = "web", .kind = "pods"};
  auto statusBack = fromJson<Status>(toJson(status));
  ASSERT_TRUE(statusBack.ok());
  status.typeMeta = statusBack->object.typeMeta;
  EXPECT_EQ(statusBack->object, status);

  PodList list;
  list.metadata.resourceVersion = "42";
  list.items.emplace_back().metadata.name = "a";
  Json lj = toJson(list);
  EXPECT_EQ(lj["kind"], "PodList");
  auto listBack = fromJson<PodList>(lj);
  ASSERT_TRUE(listBack.ok()) << listBack.status();
  EXPECT_EQ(listBack->object.items.at(0).metadata.name, "a");
  EXPECT_EQ(listBack->object.metadata.resourceVersion, "42");
  EXPECT_EQ(toJson(PodList{})["items"], Json::array());
}

// --- YAML ---

Json yamlValue(const std::string& text) {
  auto docs = parseYamlDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  if (!docs.ok() || docs->empty())
    return Json();
  return docs->at(0).value;
}

TEST(YamlTest, ResolvesScalarsAsSigsYaml) {
  Json v = yamlValue(R"(
int: 80
quoted: "80"
single: '80'
float: 1.5
exp: 1e3
t: true
f: False
yes: yes
nul: null
tilde: ~
empty:
octal: 0644
hex: 0x1F
neg: -3
big: 18446744073709551615
huge: 99999999999999999999999
str: hello world
version: 1.2.3
colon: "a: b"
80: numeric key
)");
  EXPECT_EQ(v["int"], 80);
  EXPECT_EQ(v["quoted"], "80");
  EXPECT_EQ(v["single"], "80");
  EXPECT_EQ(v["float"], 1.5);
  EXPECT_EQ(v["exp"], 1000.0);
  EXPECT_EQ(v["t"], true);
  EXPECT_EQ(v["f"], false);
  EXPECT_EQ(v["yes"], "yes");
  EXPECT_TRUE(v["nul"].is_null());
  EXPECT_TRUE(v["tilde"].is_null());
  EXPECT_TRUE(v["empty"].is_null());
  EXPECT_EQ(v["octal"], 420);
  EXPECT_EQ(v["hex"], 31);
  EXPECT_EQ(v["neg"], -3);
  EXPECT_TRUE(v["big"].is_number_unsigned());
  EXPECT_TRUE(v["huge"].is_number_float());
  EXPECT_EQ(v["str"], "hello world");
  EXPECT_EQ(v["version"], "1.2.3");
  EXPECT_EQ(v["colon"], "a: b");
  EXPECT_EQ(v["80"], "numeric key");
}

TEST(YamlTest, ExplicitTagsAndAnchors) {
  Json v = yamlValue("a: !!str 80\nb: !!int \"7\"\nbase: &b {x: 1}\ncopy: *b\n");
  EXPECT_EQ(v["a"], "80");
  EXPECT_EQ(v["b"], 7);
  EXPECT_EQ(v["copy"]["x"], 1);
  auto bad = parseYamlDocuments("a: !!int abc\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("line 1"));
}

TEST(YamlTest, MultiDocumentStreamsSkipEmptyDocuments) {
  auto docs = parseYamlDocuments("---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n");
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ(docs->at(0).index, 1);
  EXPECT_EQ(docs->at(1).value["b"], 2);
  EXPECT_EQ(docs->at(1).index, 4);
  EXPECT_EQ(docs->at(1).line, 6);
  auto none = parseYamlDocuments("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(YamlTest, ErrorsNameDocumentAndLine) {
  auto docs = parseYamlDocuments("a: 1\n---\nb: [1, 2\nc: 3\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_THAT(docs.status().message(), HasSubstr("document 2: line "));
  auto dup = parseYamlDocuments("a: 1\nb: 2\na: 3\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "document 1: line 3, column 1: duplicate key \"a\"");
  EXPECT_FALSE(parseYamlDocuments("? [a]\n: b\n").ok());
  EXPECT_FALSE(parseYamlDocuments("\t- a\n  b: : :\n").ok());
}

TEST(YamlTest, HostileInputIsRefused) {
  std::string deep = std::string(5000, '[') + std::string(5000, ']');
  auto docs = parseYamlDocuments(deep);
  EXPECT_FALSE(docs.ok());
  // Block nesting by indentation, and by "- " sequences.
  std::string block;
  for (int i = 0; i < 2500; ++i)
    block += std::string(i, ' ') + "k:\n";
  EXPECT_FALSE(parseYamlDocuments(block).ok());
  std::string dashes;
  for (int i = 0; i < 20000; ++i)
    dashes += "- ";
  EXPECT_FALSE(parseYamlDocuments(dashes + "x\n").ok());
  std::string flowMaps;
  for (int i = 0; i < 20000; ++i)
    flowMaps += "{a: ";
  EXPECT_FALSE(parseYamlDocuments(flowMaps).ok());
}

TEST(YamlTest, InvalidUtf8IsRefusedAndNeverThrowsOnEncode) {
  auto docs = parseYamlDocuments("name: \"a\xff\"\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().message(), "document 1: line 1, column 7: invalid UTF-8 in a scalar");
  EXPECT_FALSE(parseYamlDocuments("name: \xc3\n").ok());          // truncated sequence
  EXPECT_FALSE(parseYamlDocuments("name: \xc0\xaf\n").ok());      // overlong '/'
  EXPECT_FALSE(parseYamlDocuments("name: \xed\xa0\x80\n").ok());  // surrogate
  Json ok = yamlValue("name: \"caf\xc3\xa9 \xf0\x9f\x9a\x80\"\n");
  EXPECT_EQ(ok["name"], "caf\xc3\xa9 \xf0\x9f\x9a\x80");

  Pod pod;
  pod.metadata.name = "bad\xff";
  EXPECT_EQ(toJson(pod)["metadata"]["name"].get<std::string>(), "bad\xff");
  EXPECT_NE(encodeJson(pod).find("bad\xef\xbf\xbd"), std::string::npos);  // U+FFFD
}

TEST(YamlTest, StreamOfObjects) {
  Pod pod;
  pod.metadata.name = "a";
  Service svc;
  svc.metadata.name = "b";
  std::string yaml = encodeYamlStream({pod, svc});
  auto docs = parseYamlDocuments(yaml);
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ(docs->at(0).value["kind"], "Pod");
  EXPECT_EQ(docs->at(1).value["kind"], "Service");
  EXPECT_EQ(docs->at(1).value["metadata"]["name"], "b");
}

TEST(YamlTest, AliasBombIsRefused) {
  // Billion laughs: each level doubles; refused long before memory runs out.
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'z'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i)
      laughs += std::string(i ? ", *" : "*") + prev;
    laughs += "]\n";
    prev = c;
  }
  auto bomb = parseYamlDocuments(laughs);
  ASSERT_FALSE(bomb.ok());
  EXPECT_THAT(bomb.status().message(), HasSubstr("alias expansion"));
}

TEST(YamlTest, EncodesStringsThatLookLikeOtherTypesQuoted) {
  Json v = {{"port", "80"},
            {"num", 80},
            {"b", "true"},
            {"y", "yes"},
            {"e", ""},
            {"nul", "null"},
            {"s", "plain"},
            {"list", Json::array()},
            {"obj", Json::object()},
            {"multi", "line1\nline2"}};
  std::string yaml = toYaml(v);
  Json back = yamlValue(yaml);
  EXPECT_EQ(back, Json(v)) << yaml;
  EXPECT_THAT(yaml, HasSubstr("port: \"80\""));
  EXPECT_THAT(yaml, HasSubstr("num: 80"));
  EXPECT_THAT(yaml, HasSubstr("s: plain"));
}

TEST(YamlTest, PodRoundTripsThroughYaml) {
  Pod pod;
  pod.metadata.name = "web";
  pod.metadata.labels = {{"app", "web"}, {"tier", "1"}};
  Container& c = pod.spec.containers.emplace_back();
  c.name = "web";
  c.image = "busybox:1.36";
  c.args = {"true", "80", "", "null"};
  c.resources.limits["cpu"] = Quantity::parse("500m").value();
  c.livenessProbe = Probe{.exec = ExecAction{{"cat", "/tmp/healthy"}}, .initialDelaySeconds = 5};
  std::string yaml = encodeYaml(pod);
  auto docs = parseYamlDocuments(yaml);
  ASSERT_TRUE(docs.ok()) << docs.status() << "\n" << yaml;
  auto back = fromJson<Pod>(docs->at(0).value);
  ASSERT_TRUE(back.ok()) << back.status();
  setTypeMeta(pod);
  EXPECT_EQ(back->object, pod) << yaml;
}

}  // namespace
}  // namespace kubenode::api

namespace kubenode::api {
namespace {

TEST(TimeTest, ParsesRfc3339AndPrintsUtc) {
  EXPECT_EQ(Time::parse("2024-05-01T12:00:00+02:00")->toString(), "2024-05-01T10:00:00Z");
  EXPECT_EQ(Time::parse("2024-05-01T10:00:00.999Z")->toString(), "2024-05-01T10:00:00Z");
  EXPECT_EQ(MicroTime::parse("2024-05-01T10:00:00.1234567Z")->toString(),
            "2024-05-01T10:00:00.123456Z");
  EXPECT_EQ(MicroTime::parse("2024-05-01T10:00:00Z")->toString(), "2024-05-01T10:00:00.000000Z");
  for (const char* bad :
       {"", "2024-05-01", "10:00:00", "2024-13-01T10:00:00Z", "yesterday", "2024-05-01 10:00:00"}) {
    EXPECT_FALSE(Time::parse(bad).ok()) << bad;
    EXPECT_FALSE(MicroTime::parse(bad).ok()) << bad;
  }
  EXPECT_LT(*Time::parse("2024-05-01T10:00:00Z"), *Time::parse("2024-05-01T10:00:01Z"));
}

TEST(IntOrStringTest, HoldsOneOrTheOther) {
  IntOrString port;
  EXPECT_TRUE(port.isZero());
  port = IntOrString::fromString("http");
  EXPECT_TRUE(port.isString());
  EXPECT_EQ(port.toString(), "http");
  EXPECT_EQ(port.intValue(), 0);
  port = IntOrString::fromInt(8080);
  EXPECT_TRUE(port.isInt());
  EXPECT_EQ(port.str(), "");
  EXPECT_EQ(port.toString(), "8080");
  EXPECT_NE(IntOrString::fromInt(80), IntOrString::fromString("80"));
}

}  // namespace
}  // namespace kubenode::api
