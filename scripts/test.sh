#!/usr/bin/env bash
# The whole test suite, from a fresh machine: provisions what it needs, then lint and types, then
# unit, integration and end-to-end specs against the real Postgres, Redis, Docker Engine and registry.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
bash scripts/setup.sh
# Test images are FROM scratch with a static busybox (nothing is ever pulled); the dashboard is
# tested in Debian's Chromium; docker-compose.yml is validated by Debian's docker-compose; environments'
# proxies are built from Debian's caddy.
for pkg in busybox-static caddy chromium openssh-server openssl docker-compose; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    echo "[test] installing $pkg"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; }
  fi
done
set -a; . "$DATA/services.env"; set +a
echo "[test] typecheck"
npx tsc -p tsconfig.json --noEmit
echo "[test] lint"
npx eslint --max-warnings 0 .
npx prettier --check --log-level warn .
echo "[test] build"
node scripts/build.mjs
echo "[test] jest"
status=0
# On 2 cores Jest runs every file in this one process; a handle some library keeps open after its
# app closed (a timer, a socket) must not keep CI waiting after the last test: --forceExit.
npx jest --ci --forceExit --json --outputFile="$DATA/jest-results.json" "$@" || status=$?
# The plain closing line CI reads: how many tests ran, passed and failed.
node -e '
  const r = require(process.argv[1]);
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);
  if (r.numTotalTests === 0) process.exitCode = 1;
' "$DATA/jest-results.json" || status=1
exit $status
