#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is missing, builds kubenode,
# starts a private containerd inside its own network namespace (never the host's
# containerd or network), runs kubenode against it with examples/manifests, shows what
# kubenode did, and tears everything down again.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target kubenode kubenode-testenv kubenode_images

testenv="$build/tests/harness/kubenode-testenv"
dir=$(mktemp -d /var/tmp/kubenode-quickstart-XXXXXX)
name=quickstart-$$
netns=kubenode-$name
kubenode_pid=
cleanup() {
  if [ -n "$kubenode_pid" ]; then kill -TERM "$kubenode_pid" 2>/dev/null || true; wait "$kubenode_pid" 2>/dev/null || true; fi
  "$testenv" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

echo "== starting a private containerd in network namespace $netns"
endpoint=$("$testenv" up --dir "$dir" --name "$name")
echo "   endpoint: $endpoint"

echo "== starting kubenode with --pod-manifest-path examples/manifests"
ip netns exec "$netns" "$build/agent/kubenode" \
  --container-runtime-endpoint "$endpoint" \
  --pod-manifest-path examples/manifests \
  --root-dir "$dir/kubenode" --pod-logs-dir "$dir/pods" \
  >"$dir/kubenode.log" 2>&1 &
kubenode_pid=$!

# Poll kubenode's log for its "running" line, with a deadline.
for _ in $(seq 1 300); do
  grep -q "kubenode is running" "$dir/kubenode.log" && break
  kill -0 "$kubenode_pid" 2>/dev/null || break
  sleep 0.1
done
echo "== kubenode's log"
cat "$dir/kubenode.log"
grep -q "kubenode is running" "$dir/kubenode.log" || { echo "kubenode did not come up" >&2; exit 1; }
# The read-only port listens inside the namespace, on its own loopback.
echo "== curl http://127.0.0.1:10255/healthz (inside $netns)"
ip netns exec "$netns" curl -sS http://127.0.0.1:10255/healthz
echo "== kubenode pods -A (inside $netns)"
ip netns exec "$netns" "$build/agent/kubenode" pods -A
echo "== stopping kubenode (SIGTERM) and the private containerd"
