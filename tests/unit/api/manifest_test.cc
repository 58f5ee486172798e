#include "api/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "api/json_codec.h"
#include "api/yaml_codec.h"

namespace kubenode::api {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

const fs::path kFixtures = KUBENODE_FIXTURES_DIR;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> filesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file())
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const ManifestOptions kRaw{.applyDefaults = false, .validate = false};

bool isEmptyJson(const Json& v) {
  if (v.is_null())
    return true;
  if (v.is_boolean())
    return !v.get<bool>();
  if (v.is_number())
    return v == 0;
  if (v.is_string())
    return v.get_ref<const std::string&>().empty();
  return v.empty();
}

// Every non-empty key of `in` that was not reported unknown must be in `out`.
void collectMissing(const Json& in, const Json& out, const std::string& path,
                    const std::set<std::string>& unknown, std::vector<std::string>& missing) {
  if (in.is_object()) {
    for (const auto& [k, v] : in.items()) {
      std::string p = path.empty() ? k : path + "." + k;
      if (unknown.count(p) || isEmptyJson(v))
        continue;
      if (!out.is_object() || !out.contains(k)) {
        missing.push_back(p);
        continue;
      }
      collectMissing(v, out[k], p, unknown, missing);
    }
  } else if (in.is_array()) {
    for (size_t i = 0; i < in.size(); ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      if (!out.is_array() || out.size() <= i) {
        missing.push_back(p);
        continue;
      }
      collectMissing(in[i], out[i], p, unknown, missing);
    }
  }
}

std::set<std::string> unknownPaths(const std::vector<std::string>& warnings) {
  std::set<std::string> out;
  for (const std::string& w : warnings) {
    size_t start = w.find("unknown field \"");
    if (start == std::string::npos)
      continue;
    start += 15;
    out.insert(w.substr(start, w.rfind('"') - start));
  }
  return out;
}

class ValidFixtureTest : public testing::TestWithParam<fs::path> {};

TEST_P(ValidFixtureTest, DecodesValidatesAndRoundTripsWithoutLosingFields) {
  const fs::path& file = GetParam();
  std::string text = readFile(file);
  std::string name = file.filename().string();

  absl::StatusOr<Manifest> checked = decodeManifest(name, text);
  ASSERT_TRUE(checked.ok()) << checked.status();
  ASSERT_FALSE(checked->objects.empty());

  // Each document (or List item) on its own: decode raw, encode, decode again.
  absl::StatusOr<std::vector<YamlDocument>> docs = parseYamlDocuments(text);
  ASSERT_TRUE(docs.ok()) << docs.status();
  std::vector<Json> inputs;
  for (const YamlDocument& d : *docs) {
    if (d.value.value("kind", "") == "List") {
      for (const Json& item : d.value["items"])
        inputs.push_back(item);
    } else {
      inputs.push_back(d.value);
    }
  }
  ASSERT_EQ(inputs.size(), checked->objects.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    absl::StatusOr<Manifest> raw = decodeManifest(name, inputs[i].dump(), kRaw);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_EQ(raw->objects.size(), 1u);
    const Object& object = raw->objects[0];
    Json encoded = toJson(object);

    absl::StatusOr<Manifest> again = decodeManifest(name, encoded.dump(), kRaw);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->warnings.empty()) << testing::PrintToString(again->warnings);
    EXPECT_TRUE(again->objects.at(0) == object) << name << " object " << i << "\n"
                                                << encoded.dump(2);

    // The YAML encoding reads back to the same object too.
    absl::StatusOr<Manifest> viaYaml = decodeManifest(name, toYaml(encoded), kRaw);
    ASSERT_TRUE(viaYaml.ok()) << viaYaml.status() << "\n" << toYaml(encoded);
    EXPECT_TRUE(viaYaml->objects.at(0) == object) << toYaml(encoded);

    std::vector<std::string> missing;
    collectMissing(inputs[i], encoded, "", unknownPaths(raw->warnings), missing);
    EXPECT_THAT(missing, testing::IsEmpty()) << name << " object " << i;

    // Defaulted objects survive the trip as well.
    Json defaulted = toJson(checked->objects[i]);
    absl::StatusOr<Manifest> defaultedAgain = decodeManifest(name, defaulted.dump(), kRaw);
    ASSERT_TRUE(defaultedAgain.ok());
    EXPECT_TRUE(defaultedAgain->objects.at(0) == checked->objects[i]) << defaulted.dump(2);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ValidFixtureTest,
                         testing::ValuesIn(filesIn(kFixtures / "valid")),
                         [](const testing::TestParamInfo<fs::path>& info) {
                           std::string n = info.param.stem().string();
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           }
                           return n;
                         });

TEST(ValidFixtureSetTest, CoversTheRequiredShapes) {
  for (const char* f :
       {"liveness-exec.yaml", "init-containers-emptydir.yaml", "service-named-ports.yaml",
        "endpointslice.yaml", "multi-document.yaml", "node.yaml", "lease.yaml"}) {
    EXPECT_TRUE(fs::exists(kFixtures / "valid" / f)) << f;
  }
}

TEST(InvalidFixtureTest, EachFailsWithItsExpectedError) {
  std::vector<fs::path> files = filesIn(kFixtures / "invalid");
  EXPECT_GE(files.size(), 25u);
  for (const fs::path& file : files) {
    std::string text = readFile(file);
    std::string name = file.filename().string();
    const std::string kPrefix = "# expect: ";
    ASSERT_EQ(text.rfind(kPrefix, 0), 0u) << name << " has no '# expect:' first line";
    std::string expected = text.substr(kPrefix.size(), text.find('\n') - kPrefix.size());
    absl::StatusOr<Manifest> m = decodeManifest(name, text);
    if (m.ok()) {
      ADD_FAILURE() << name << " decoded without error; expected: " << expected;
      continue;
    }
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << name;
    std::string message(m.status().message());
    EXPECT_EQ(message.rfind(name + ": ", 0), 0u) << message;
    EXPECT_THAT(message, HasSubstr(expected)) << name;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
}

TEST(ManifestTest, ErrorsNameSourceDocumentAndField) {
  std::string text =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: b}]\n"
      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers: [{name: web}]\n";
  absl::StatusOr<Manifest> m = decodeManifest("web.yaml", text);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "web.yaml: document 2: spec.containers[0].image: Required value (line 11)");
}

TEST(ManifestTest, ErrorsPointAtTheLine) {
  std::string text =
      "apiVersion: v1\n"                   // 1
      "kind: List\n"                       // 2
      "items:\n"                           // 3
      "- apiVersion: v1\n"                 // 4
      "  kind: Pod\n"                      // 5
      "  metadata:\n"                      // 6
      "    name: a\n"                      // 7
      "    labels:\n"                      // 8
      "      app.kubernetes.io/name: x\n"  // 9
      "  spec:\n"                          // 10
      "    containers:\n"                  // 11
      "    - name: a\n"                    // 12
      "      image: b\n"                   // 13
      "      ports:\n"                     // 14
      "      - containerPort: abc\n"       // 15
      "      resources:\n"                 // 16
      "        limits: {memory: 1x}\n";    // 17
  absl::StatusOr<Manifest> m = decodeManifest("l.yaml", text);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "l.yaml: document 1: items[0]: [spec.containers[0].ports[0].containerPort: Invalid "
            "value: \"abc\": expected an integer (line 15), "
            "spec.containers[0].resources.limits[memory]: Invalid value: \"1x\": unknown suffix "
            "\"x\" (expected a number with an optional suffix, e.g. 100m, 64Mi, 1.5Gi, 1e3) (line "
            "17)]");
}

TEST(ManifestTest, UnsupportedKindListsWhatIsSupported) {
  absl::StatusOr<Manifest> m = decodeManifest("d.yaml", "apiVersion: apps/v1\nkind: Deployment\n");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(
      m.status().message(),
      HasSubstr("d.yaml: document 1: unsupported kind \"Deployment\" in apiVersion \"apps/v1\" "
                "(kubenode reads v1 Pod, v1 Service, discovery.k8s.io/v1 EndpointSlice"));
}

TEST(ManifestTest, WarningsCarryTheSourceAndDocument) {
  absl::StatusOr<Manifest> m =
      decodeManifest("web.yaml", readFile(kFixtures / "valid" / "multi-document.yaml"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT(m->warnings,
              testing::ElementsAre("web.yaml: document 3: unknown field \"spec.affinity\""));
  ASSERT_EQ(m->objects.size(), 2u);
  const Service& svc = std::get<Service>(m->objects[0]);
  EXPECT_EQ(svc.spec.ports[0].targetPort, IntOrString::fromInt(8080));  // defaulted
  const Pod& pod = std::get<Pod>(m->objects[1]);
  EXPECT_EQ(pod.spec.containers[0].env[1].value, "80");
  EXPECT_EQ(pod.spec.restartPolicy, "Always");
}

TEST(ManifestTest, JsonTypedListsAndByteOrderMark) {
  absl::StatusOr<Manifest> m = decodeManifest(
      "pods.json",
      "\xEF\xBB\xBF"
      R"({"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"7"},"items":[
        {"metadata":{"name":"a"},"spec":{"containers":[{"name":"a","image":"b"}]}},
        {"metadata":{"name":"b"},"spec":{"containers":[{"name":"a","image":"b"}]}}]})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->objects.size(), 2u);
  EXPECT_EQ(std::get<Pod>(m->objects[1]).metadata.name, "b");

  absl::StatusOr<Manifest> bad =
      decodeManifest("pods.json", R"({"apiVersion":"v1","kind":"PodList","items":[{"spec":{}}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("pods.json: items[0]: "));

  absl::StatusOr<Manifest> broken = decodeManifest("x.json", "{\"apiVersion\": ");
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("x.json: invalid JSON: "));
}

TEST(ManifestTest, EmptyInputHasNoObjects) {
  for (const char* text : {"", "\n", "# nothing\n", "---\n---\n"}) {
    absl::StatusOr<Manifest> m = decodeManifest("empty.yaml", text);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_TRUE(m->objects.empty());
  }
}

TEST(ManifestTest, OptionsTurnOffDefaultsAndValidation) {
  std::string text =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a}]\n";
  absl::StatusOr<Manifest> m = decodeManifest("a.yaml", text, kRaw);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(std::get<Pod>(m->objects[0]).spec.restartPolicy, "");
}

// Arbitrary bytes never crash the decoder and never succeed silently with garbage.
TEST(ManifestTest, SurvivesMangledInput) {
  std::string base = readFile(kFixtures / "valid" / "pod-everything.json");
  std::string yaml = readFile(kFixtures / "valid" / "init-containers-emptydir.yaml");
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1103515245 + 12345;
    return seed >> 8;
  };
  int failures = 0;
  for (int i = 0; i < 400; ++i) {
    std::string text = (i % 2 ? base : yaml);
    for (int k = 0; k < 3; ++k) {
      size_t pos = next() % text.size();
      switch (next() % 3) {
        case 0:
          text[pos] = static_cast<char>(next() % 256);
          break;
        case 1:
          text.erase(pos, next() % 20);
          break;
        default:
          text.insert(pos, std::string(1, "{}[]:-\"'\n #&*!|>"[next() % 16]));
      }
    }
    absl::StatusOr<Manifest> m = decodeManifest("fuzz", text);
    if (!m.ok()) {
      ++failures;
      EXPECT_EQ(m.status().message().rfind("fuzz: ", 0), 0u);
    }
  }
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace kubenode::api
