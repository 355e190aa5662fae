#!/bin/sh
# The image's entry point: the first argument picks the role. The api and the worker apply the
# migrations first (idempotent; concurrent starts wait on the schema engine's lock).
set -e
role=${1:-api}
[ $# -gt 0 ] && shift
migrate() {
  if [ "$MIGRATE_ON_START" = true ]; then node /app/scripts/migrate.mjs deploy; fi
}
case "$role" in
  api | worker | all)
    migrate
    # The healthcheck runs apart from this process: it learns the role from this file.
    echo "$role" >/tmp/dockyard-role
    case "$role" in
      api) exec node /app/dist/apps/api/src/main.js "$@" ;;
      worker) exec node /app/dist/apps/worker/src/main.js "$@" ;;
      all) exec node /app/dist/src/main.js "$@" ;;
    esac
    ;;
  migrate) exec node /app/scripts/migrate.mjs deploy ;;
  dockyard) exec node /app/dist/src/cli.js "$@" ;;
  *) exec "$role" "$@" ;;
esac
