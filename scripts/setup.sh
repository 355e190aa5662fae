#!/usr/bin/env bash
# Shared first steps of `up` and `test`: npm dependencies, the Prisma client, the services, the
# migrations. Each step is skipped when it has nothing to do, so a second run takes seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
mkdir -p "$DATA"

stamp_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

deps=$(stamp_of package.json package-lock.json)
if [ ! -d node_modules ] || [ "$(cat "$DATA/npm.stamp" 2>/dev/null)" != "$deps" ]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$deps" >"$DATA/npm.stamp"
fi

schema=$(stamp_of prisma/schema.prisma package-lock.json)
if [ ! -f libs/db/src/generated/client.ts ] || [ "$(cat "$DATA/prisma.stamp" 2>/dev/null)" != "$schema" ]; then
  echo "[setup] prisma generate"
  node scripts/prisma-generate.mjs >/dev/null
  echo "$schema" >"$DATA/prisma.stamp"
fi

bash scripts/provision.sh
# A development key for stored secrets, made once and kept under .dockyard/ (never committed). A
# SECRETS_KEY set in the environment or .env wins; production sets its own.
if [ -z "${SECRETS_KEY:-}" ] && ! grep -qs '^SECRETS_KEY=.' .env; then
  if [ ! -s "$DATA/secrets.key" ]; then
    (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64"))' >"$DATA/secrets.key")
    echo "[setup] made a development SECRETS_KEY in $DATA/secrets.key"
  fi
  echo "SECRETS_KEY=$(cat "$DATA/secrets.key")" >>"$DATA/services.env"
fi
set -a; . "$DATA/services.env"; set +a
node scripts/migrate.mjs deploy
