#!/usr/bin/env bash
# Benchmarks: each prints its numbers beside a baseline measured in the same run, and the ratio.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
bash scripts/setup.sh >/dev/null
# bench/promotion compares with skopeo copy.
if ! command -v skopeo >/dev/null 2>&1; then
  echo "[bench] installing skopeo"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends skopeo >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends skopeo >/dev/null; }
fi
set -a; . "$DATA/services.env"; set +a
node scripts/build.mjs
for bench in ${1:-webhook-ingest promotion build-cache pipeline}; do
  node "dist/bench/$bench.js"
done
