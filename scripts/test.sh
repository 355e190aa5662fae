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
npx jest --ci --forceExit --json --outputFile="$DATA/jest-results.json" "$@" --selectProjects unit integration e2e ||
  status=$?
results=("$DATA/jest-results.json")
# The fault suite (npm run test:faults) kills its own PostgreSQL, Redis, registry, dockerd and Dockyard
# processes: alone, after the rest, so load stays bounded. Only on a whole run (no arguments).
if [ $# -eq 0 ]; then
  echo "[test] fault injection"
  rm -f "$DATA/jest-faults.json"
  npx jest --ci --forceExit --json --outputFile="$DATA/jest-faults.json" --selectProjects faults --runInBand ||
    status=$?
  results+=("$DATA/jest-faults.json")
fi
# The plain closing line CI reads: how many tests ran, passed and failed (a missing report fails).
node -e '
  let passed = 0, failed = 0, total = 0;
  for (const file of process.argv.slice(1)) {
    let r;
    try { r = require(file); } catch { failed++; console.error(`no report at ${file}`); continue; }
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites; total += r.numTotalTests;
  }
  console.log(`jest: ${passed} passed, ${failed} failed`);
  if (total === 0 || failed > 0) process.exitCode = 1;
' "${results[@]}" || status=1
exit $status
