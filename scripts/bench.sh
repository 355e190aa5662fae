#!/usr/bin/env bash
# Benchmarks: each prints its numbers beside a baseline measured in the same run, and the ratio.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
bash scripts/setup.sh >/dev/null
# bench/promotion compares with skopeo copy; bench/deploy builds its proxy image from Debian's Caddy
# and its service image from static busybox.
for pkg in skopeo caddy busybox-static; do
  dpkg -s "$pkg" >/dev/null 2>&1 && continue
  echo "[bench] installing $pkg"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; }
done
set -a; . "$DATA/services.env"; set +a
node scripts/build.mjs
# bench/deploy uses the tests' service image and steady client (test/support), built beside it.
node_modules/.bin/swc test/support -d dist --quiet
# bench/burst's second run needs a second Docker Engine: one of its own on bridge dk9br (its own
# subnet and address pool, so it never fights the main engine; --live-restore, or a restart on its old data
# root deletes docker0), unless BURST_SECOND_DOCKER_HOST names one.
second_engine() {
  local run=/run/dkb-burst data=/var/lib/dockyard-bench-engine
  ip link show dk9br >/dev/null 2>&1 || ip link add dk9br type bridge
  ip -4 addr show dev dk9br | grep -q 172.24.0.1 || ip addr add 172.24.0.1/16 dev dk9br
  ip link set dk9br up
  mkdir -p "$run" "$data"
  rm -f "$run/docker.pid" "$run/docker.sock"
  setsid dockerd --bridge dk9br --iptables=false --ip-masq=false --default-address-pool base=10.224.0.0/16,size=24 \
    --data-root "$data/root" --exec-root "$run/exec" --pidfile "$run/docker.pid" --live-restore --storage-driver overlay2 \
    --host "unix://$run/docker.sock" >"$data/dockerd.log" 2>&1 </dev/null &
  echo $! >"$run/dockerd.launch"
  for _ in $(seq 1 150); do /usr/bin/docker -H "unix://$run/docker.sock" info >/dev/null 2>&1 && break; sleep 0.2; done
  export BURST_SECOND_DOCKER_HOST="unix://$run/docker.sock"
  trap 'kill "$(cat /run/dkb-burst/docker.pid 2>/dev/null)" 2>/dev/null || true' EXIT
}
for bench in ${1:-webhook-ingest promotion build-cache pipeline deploy burst}; do
  if [ "$bench" = burst ] && [ -z "${BURST_SECOND_DOCKER_HOST:-}" ]; then second_engine; fi
  node "dist/bench/$bench.js"
done
