#!/usr/bin/env bash
# `make demo`: the main job on built-in defaults. Validates the example configuration, shows a
# rejected file, brings up the two-node lab (network namespaces, 198.18.0.0/15 only), sends
# traffic through the virtual IP, runs a failover drill and prints its report. The lab stays up
# for you to explore; `tandem lab down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
TANDEM=${TANDEM:-build/tandem}
T=$(realpath "$TANDEM")

echo "== tandem check -c examples/tandem.yaml"
"$T" check -c examples/tandem.yaml
echo
echo "== a broken file is rejected with file:line:column and the key path:"
broken=$(mktemp /tmp/tandem-broken.XXXXXX.yaml)
printf 'backends:\n  app:\n    servers:\n      - { name: s1, address: "127.0.0.1:80", wieght: 3 }\n' > "$broken"
"$T" check -c "$broken" || true
rm -f "$broken"
echo

if "$T" lab status >/dev/null 2>&1; then
  echo "== a lab from an earlier demo is up: taking it down first"
  "$T" lab down
fi
echo "== tandem lab up"
if ! "$T" lab up; then
  "$T" lab down >/dev/null 2>&1 || true
  exit 1
fi
echo
echo "== six requests through the VIP from the client namespace (backend, forwarding node):"
for _ in 1 2 3 4 5 6; do
  ip netns exec tandem-client curl -s -m 3 http://198.18.0.100/
done
echo
echo "== tandem drill kill-proxy: SIGKILL the master's proxy under load, watch the VIP move"
"$T" drill kill-proxy || true
echo
echo "== tandem lab status"
"$T" lab status
cat <<MSG

The lab is still up. Things to try:
  ip netns exec tandem-client curl -s http://198.18.0.100/
  $T status -s /run/tandem-lab/tandem/n1.sock
  $T drill kill-node        (also kill-agent, link-down, reload, preempt; --json)
  $T lab down               (removes every namespace and process of the lab)
MSG
