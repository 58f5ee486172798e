#!/usr/bin/env bash
# Installs every Debian 12 package kubenode needs to build, test and run.
# Idempotent: packages already present are skipped, apt is only called when
# something is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format git ca-certificates
  # libraries (design.md: prefer Debian's well-kept libraries)
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libabsl-dev
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libnftnl-dev libmnl-dev libnl-3-dev libnl-route-3-dev libseccomp-dev libsystemd-dev
  libsqlite3-dev libssl-dev prometheus-cpp-dev zlib1g-dev
  # runtime pieces the integration tests and the quick-start drive for real
  containerd runc containernetworking-plugins busybox-static iproute2 util-linux
  procps psmisc curl
  # peers and debugging tools of the service proxy (its tests run them in private netns)
  nftables iptables conntrack
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Debian's containerd package enables and starts the host's containerd. kubenode's
# tests and quick-start run private instances only, so leave the host's alone
# unless the administrator enabled it before: stop what the install just started.
if [[ " ${missing[*]} " == *" containerd "* ]] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now containerd >/dev/null 2>&1 || true
fi
echo "install-deps: done"
