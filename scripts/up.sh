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

bash scripts/start-app.sh
echo "[up] first admin: npm run dockyard -- create-user admin --role admin --password '<10+ characters>'"
echo "[up]   and a token for the API: npm run dockyard -- create-token admin"
