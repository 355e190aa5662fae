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
for bench in ${1:-webhook-ingest promotion build-cache pipeline deploy}; do
  node "dist/bench/$bench.js"
done
