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
  --pod-manifest-path examples/manifests --hostname-override quickstart \
  --root-dir "$dir/kubenode" --pod-logs-dir "$dir/pods" \
  >"$dir/kubenode.log" 2>&1 &
kubenode_pid=$!

# Poll kubenode's log for its "running" line, with a deadline.
for _ in $(seq 1 300); do
  grep -q "kubenode is running" "$dir/kubenode.log" && break
  kill -0 "$kubenode_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "kubenode is running" "$dir/kubenode.log" || { echo "kubenode did not come up" >&2; exit 1; }
# The read-only port listens inside the namespace, on its own loopback.
echo "== curl http://127.0.0.1:10255/healthz (inside $netns)"
ip netns exec "$netns" curl -sS http://127.0.0.1:10255/healthz
# Poll `kubenode pods` until the web pod runs (init container done, httpd started).
echo "== waiting for the pods to run"
web_ip=
for _ in $(seq 1 600); do
  line=$(ip netns exec "$netns" "$build/agent/kubenode" pods 2>/dev/null | awk '$1 == "web-quickstart"') || true
  if [ -n "$line" ] && [ "$(echo "$line" | awk '{print $3}')" = Running ]; then
    web_ip=$(echo "$line" | awk '{print $(NF-1)}')
    break
  fi
  sleep 0.1
done
echo "== kubenode pods -A (inside $netns)"
ip netns exec "$netns" "$build/agent/kubenode" pods -A
[ -n "$web_ip" ] || { echo "the web pod did not start; kubenode's log:" >&2; cat "$dir/kubenode.log" >&2; exit 1; }
echo "== curl http://$web_ip:8080/ (the web pod, over its pod IP)"
for _ in $(seq 1 100); do
  ip netns exec "$netns" curl -fsS "http://$web_ip:8080/index.html" && break
  sleep 0.1
done
echo "== kubenode logs web-quickstart -c write-page (the init container's log)"
ip netns exec "$netns" "$build/agent/kubenode" logs web-quickstart -c write-page --pod-logs-dir "$dir/pods" || true
echo "== kubenode's log"
cat "$dir/kubenode.log"
echo "== stopping kubenode (SIGTERM) and the private containerd"
