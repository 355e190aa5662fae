#!/usr/bin/env bash
# Bring Dockyard up on this machine: dependencies, services, migrations, then api + worker in one
# process in the background. Prints the dashboard URL. Run it again: it is quick and restarts the app.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
bash scripts/setup.sh
set -a; . "$DATA/services.env"; set +a
export GIT_CACHE_DIR=${GIT_CACHE_DIR:-$DATA/git}
# Each stage of a project runs on this machine's engine at 127.0.0.1:<port from 8100>, behind a
# Caddy proxy built from Debian's caddy (nothing is pulled).
export LOCAL_ENVIRONMENTS=${LOCAL_ENVIRONMENTS:-true}
if [ "$LOCAL_ENVIRONMENTS" = true ] && [ -z "${DEPLOY_PROXY_IMAGE:-}" ] && ! [ -x /usr/bin/caddy ]; then
  echo "[up] installing caddy (the environments' reverse proxy)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends caddy >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends caddy >/dev/null; }
fi
node scripts/build.mjs

if [ -f "$DATA/app.pid" ] && kill -0 "$(cat "$DATA/app.pid")" 2>/dev/null; then
  echo "[up] stopping the running app (pid $(cat "$DATA/app.pid"))"
  kill "$(cat "$DATA/app.pid")"
  for _ in $(seq 1 100); do kill -0 "$(cat "$DATA/app.pid")" 2>/dev/null || break; sleep 0.2; done
fi
setsid nohup node dist/src/main.js >"$DATA/app.log" 2>&1 </dev/null &
echo $! >"$DATA/app.pid"
url="http://${HOST:-127.0.0.1}:${PORT:-3000}"
for _ in $(seq 1 100); do
  if curl -fsS --max-time 2 "$url/readyz" >/dev/null 2>&1; then
    echo "[up] Dockyard is up: $url  (API docs: $url/api/docs, log: $DATA/app.log)"
    echo "[up] first admin: npm run dockyard -- create-user admin --role admin --password '<10+ characters>'"
    echo "[up]   and a token for the API: npm run dockyard -- create-token admin"
    exit 0
  fi
  kill -0 "$(cat "$DATA/app.pid")" 2>/dev/null || { echo "[up] the app exited:"; tail -20 "$DATA/app.log"; exit 1; }
  sleep 0.3
done
echo "[up] the app did not become ready within 30s; see $DATA/app.log" >&2
exit 1
