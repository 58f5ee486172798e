#include "agent/command_line.h"

#include <CLI/CLI.hpp>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include "absl/strings/str_split.h"

namespace kubenode::agent {
namespace {

constexpr std::string_view kDescription =
    "kubenode: a Kubernetes node agent. It runs the pods bound to this node through the\n"
    "container runtime's CRI (the kubelet's job) and programs Services into nftables\n"
    "(kube-proxy's job).\n\n"
    "Run without a subcommand it is the node agent (a daemon). Subcommands for operators:\n"
    "  kubenode pods [-n NS | -A]   the node's pods, as `kubectl get pods -o wide`\n"
    "  kubenode logs [-n NS] POD [-c CONTAINER] [-p] [-f] [--tail N]\n"
    "                               a container's log, as `kubectl logs`\n"
    "  kubenode proxy render|apply|cleanup|trace\n"
    "                               the Service rules: print, program once, remove, trace";

CommandLine failed(std::string message) {
  CommandLine cl;
  cl.exit = true;
  cl.exitCode = 2;
  cl.output = fmt::format("kubenode: {}\n", message);
  return cl;
}

}  // namespace

CommandLine parseCommandLine(int argc, const char* const* argv) {
  CLI::App app{std::string(kDescription), "kubenode"};
  app.set_version_flag("--version", "kubenode " KUBENODE_VERSION);
  app.get_formatter()->column_width(40);

  // Flags are only recorded while CLI11 parses; they are applied after the --config
  // file so that they override it.
  struct Given {
    const Setting* setting;
    std::vector<std::string> values;
  };
  std::vector<Given> given;
  for (const Setting& s : settings()) {
    AgentConfig defaults;
    std::string names =
        s.flag.size() == 1 ? fmt::format("-{},--{}", s.flag, s.flag) : fmt::format("--{}", s.flag);
    CLI::Option* opt = app.add_option_function<std::vector<std::string>>(
        names,
        [&given, &s](const std::vector<std::string>& v) {
          given.push_back({&s, v});
        },
        std::string(s.help));
    opt->default_str(s.show(defaults));
    opt->type_name(std::string(s.typeName));
    opt->expected(1);
    if (s.isList) {
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    } else {
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }

  // CLI11 reads "--flag=" as a missing value; the kubelet's flags read it as an empty
  // one (e.g. --pod-manifest-path= disables static pods), so split it into two words.
  std::vector<std::string> args;
  for (int i = argc - 1; i > 0; --i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--") && arg.ends_with("=") && arg.find('=') == arg.size() - 1) {
      args.emplace_back();
      args.emplace_back(arg.substr(0, arg.size() - 1));
    } else {
      args.emplace_back(arg);
    }
  }
  try {
    app.parse(args);  // CLI11 takes the words in reverse order
  } catch (const CLI::CallForHelp&) {
    CommandLine cl;
    cl.exit = true;
    cl.output = app.help();
    return cl;
  } catch (const CLI::CallForVersion&) {
    CommandLine cl;
    cl.exit = true;
    cl.output = fmt::format("kubenode {}\n", KUBENODE_VERSION);
    return cl;
  } catch (const CLI::ParseError& e) {
    return failed(fmt::format("{} (see kubenode --help)", e.what()));
  }

  CommandLine cl;
  for (const Given& g : given) {
    if (g.setting->flag == "config" && !g.values.empty())
      cl.config.configFile = g.values.back();
  }
  if (!cl.config.configFile.empty()) {
    std::ifstream in(cl.config.configFile);
    if (!in) {
      return failed(fmt::format("--config: cannot read \"{}\": expected a readable YAML file",
                                cl.config.configFile));
    }
    std::stringstream text;
    text << in.rdbuf();
    absl::Status s = applyConfigText(text.str(), cl.config.configFile, cl.config, cl.warnings);
    if (!s.ok())
      return failed(std::string(s.message()));
  }
  for (const Given& g : given) {
    const Setting& s = *g.setting;
    if (s.isList)
      s.clear(cl.config);
    for (const std::string& value : g.values) {
      // A list flag takes comma-separated values and may be repeated.
      std::vector<std::string> parts = s.isList ? absl::StrSplit(value, ',', absl::SkipEmpty())
                                                : std::vector<std::string>{value};
      for (const std::string& part : parts) {
        if (absl::Status st = s.parse(cl.config, part); !st.ok()) {
          return failed(fmt::format("--{}: {}", s.flag, std::string(st.message())));
        }
      }
    }
  }
  if (absl::Status s = validateConfig(cl.config); !s.ok())
    return failed(std::string(s.message()));
  return cl;
}

}  // namespace kubenode::agent
