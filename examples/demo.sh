#!/usr/bin/env bash
# `make demo`: the proxy on examples/minimal.yaml in front of two real backends on 127.0.0.1,
# traffic through it, one backend killed (the health check takes it out), then a clean stop.
# Everything it starts is stopped by PID on exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
TANDEM=${TANDEM:-build/tandem}
tmp=$(mktemp -d /tmp/tandem-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() {  # port, seconds
  for _ in $(seq 1 $(( $2 * 20 ))); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "demo: nothing listens on 127.0.0.1:$1" >&2
  return 1
}

echo "== two backends on 127.0.0.1:9001 and :9002"
for i in 1 2; do
  python3 tests/tools/backend.py --port 900$i --name app$i >/dev/null 2>&1 &
  pids+=($!)
done
wait_port 9001 10
wait_port 9002 10

echo "== tandem proxy -c examples/minimal.yaml (listening on 127.0.0.1:8080)"
"$TANDEM" proxy -c examples/minimal.yaml >"$tmp/proxy.log" 2>&1 &
proxy=$!
pids+=($proxy)
wait_port 8080 10
sleep 1  # let the first health checks pass

echo "== six requests through the proxy (roundrobin):"
for _ in 1 2 3 4 5 6; do curl -s --max-time 2 http://127.0.0.1:8080/; done | sort | uniq -c

echo "== backend app2 is killed; its health check takes it out of rotation:"
kill "${pids[1]}"
for _ in $(seq 1 100); do grep -q "app/app2 is DOWN" "$tmp/proxy.log" && break; sleep 0.1; done
grep "app/app2" "$tmp/proxy.log" | sed 's/^/   /'
echo "== six more requests: all answered by app1, none failed:"
for _ in 1 2 3 4 5 6; do curl -s --max-time 2 -o /dev/null -w '%{http_code} ' http://127.0.0.1:8080/; done
echo
echo "== graceful stop (SIGTERM):"
kill -TERM "$proxy"
wait "$proxy" || true
tail -2 "$tmp/proxy.log" | sed 's/^/   /'
echo
echo "Next: 'tandem check -c examples/tandem.yaml --dump' shows a full two-node configuration;"
echo "'make test' runs every test, 'make bench' compares with HAProxy and keepalived."
