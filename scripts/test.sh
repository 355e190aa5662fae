#!/usr/bin/env bash
# The whole test suite, from a fresh machine: provisions what it needs, then lint and types, then
# unit, integration and end-to-end specs against the real Postgres, Redis, Docker Engine and registry.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
bash scripts/setup.sh
set -a; . "$DATA/services.env"; set +a
echo "[test] typecheck"
npx tsc -p tsconfig.json --noEmit
echo "[test] lint"
npx eslint --max-warnings 0 .
npx prettier --check --log-level warn .
echo "[test] jest"
npx jest --ci "$@"
