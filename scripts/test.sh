#!/usr/bin/env bash
# Installs what is missing, builds kubenode with AddressSanitizer + UBSan and runs
# every test: unit tests of the pure logic and integration tests against private
# containerd instances (root required). Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
build=build/asan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKUBENODE_SANITIZE=ON >/dev/null
cmake --build "$build" -j "$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
