#!/usr/bin/env bash
# Benchmarks: each prints its numbers beside a baseline measured in the same run, and the ratio.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
bash scripts/setup.sh >/dev/null
set -a; . "$DATA/services.env"; set +a
node scripts/build.mjs
for bench in ${1:-webhook-ingest promotion}; do
  node "dist/bench/$bench.js"
done
