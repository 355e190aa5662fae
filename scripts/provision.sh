#!/usr/bin/env bash
# Provision the four services Dockyard needs: PostgreSQL, Redis, a Docker Engine and an OCI registry.
# For each one: use the one named by its env var (DATABASE_URL, REDIS_URL, DOCKER_HOST, REGISTRY_URL)
# if set; otherwise one of ours that already answers on its default local address; otherwise
# install the Debian package if missing and start our own instance on loopback, with its data under
# $DOCKYARD_DATA_DIR (default: .dockyard/ in the checkout, git-ignored). Idempotent: a second run
# installs nothing, restarts nothing and takes seconds.
# Writes the resolved addresses to $DOCKYARD_DATA_DIR/services.env for the other scripts to source.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
PG_PORT=${DOCKYARD_PG_PORT:-55432}
REDIS_PORT=${DOCKYARD_REDIS_PORT:-56379}
REGISTRY_PORT=${DOCKYARD_REGISTRY_PORT:-55000}
# One dockerd per machine: a second one would fight over the docker0 bridge and iptables.
# Whichever checkout starts it records its socket here, and the others reuse it.
DOCKER_POINTER=/run/dockyard/docker-host
PG_BIN=${DOCKYARD_PG_BIN:-/usr/lib/postgresql/15/bin}

mkdir -p "$DATA"
log() { printf '[provision] %s\n' "$*"; }
die() { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }

# Wait until "$@" succeeds, up to $1 seconds. Usage: wait_for SECONDS WHAT cmd...
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
  log "$what is up"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

APT_UPDATED=
ensure_pkg() { # ensure_pkg COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "'$1' is missing and only root can install it: run 'apt-get install $2' as root, or set the service's env var to one that runs elsewhere"
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    apt-get update -qq >"$DATA/apt.log" 2>&1 || die "apt-get update failed; see $DATA/apt.log"
    APT_UPDATED=1
  fi
  log "installing $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >>"$DATA/apt.log" 2>&1 \
    || die "apt-get install $2 failed; see $DATA/apt.log"
}

# Start a long-running process detached from this shell (it must outlive the script and CI's pipes).
spawn() { # spawn LOGFILE cmd...
  local logfile=$1; shift
  setsid nohup "$@" >"$logfile" 2>&1 </dev/null &
}

# ---------------------------------------------------------------- PostgreSQL
pg_answers() { # pg_answers URL
  command -v psql >/dev/null 2>&1 || return 1
  PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}
provision_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    pg_answers "$DATABASE_URL" || die "DATABASE_URL is set but PostgreSQL does not answer there"
    log "PostgreSQL: using DATABASE_URL"; return
  fi
  DATABASE_URL="postgresql://dockyard:dockyard@127.0.0.1:$PG_PORT/dockyard"
  ensure_pkg psql postgresql-client
  if pg_answers "$DATABASE_URL"; then log "PostgreSQL: already running on 127.0.0.1:$PG_PORT"; return; fi
  port_in_use "$PG_PORT" && die "port $PG_PORT is taken by something that is not Dockyard's PostgreSQL; set DATABASE_URL or DOCKYARD_PG_PORT"
  [ -x "$PG_BIN/postgres" ] || { ensure_pkg /usr/lib/postgresql/15/bin/postgres postgresql-15; }
  [ -x "$PG_BIN/postgres" ] || die "no PostgreSQL server binaries in $PG_BIN (set DOCKYARD_PG_BIN)"
  local dir=$DATA/postgres run_as=()
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root.
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    run_as=(runuser -u postgres --)
  fi
  if [ ! -s "$dir/PG_VERSION" ]; then
    log "PostgreSQL: initialising $dir"
    mkdir -p "$dir"
    local pw; pw=$(mktemp); echo dockyard >"$pw"
    [ "$(id -u)" = 0 ] && chown postgres "$dir" "$pw"
    "${run_as[@]}" "$PG_BIN/initdb" -D "$dir" -U dockyard --pwfile="$pw" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DATA/postgres-init.log" 2>&1 \
      || { rm -f "$pw"; die "initdb failed; see $DATA/postgres-init.log"; }
    rm -f "$pw"
  fi
  log "PostgreSQL: starting on 127.0.0.1:$PG_PORT"
  local logfile=$DATA/postgres.log
  touch "$logfile"; [ "$(id -u)" = 0 ] && chown postgres "$logfile"
  "${run_as[@]}" "$PG_BIN/pg_ctl" -D "$dir" -l "$logfile" -w -t 60 \
    -o "-p $PG_PORT -h 127.0.0.1 -k '' -c max_connections=200 -c fsync=off -c synchronous_commit=off" start >/dev/null \
    || die "PostgreSQL did not start; see $logfile"
  # The first start also creates the database.
  PGCONNECT_TIMEOUT=3 psql "postgresql://dockyard:dockyard@127.0.0.1:$PG_PORT/postgres" -Atqc \
    "select 1 from pg_database where datname='dockyard'" | grep -q 1 \
    || psql "postgresql://dockyard:dockyard@127.0.0.1:$PG_PORT/postgres" -qc 'create database dockyard' >/dev/null
  wait_for 30 PostgreSQL pg_answers "$DATABASE_URL" || die "PostgreSQL does not answer; see $logfile"
}

# ---------------------------------------------------------------- Redis
redis_answers() { # redis_answers URL
  ( _redis_ping "$1" ) 2>/dev/null
}
_redis_ping() {
  local hostport=${1#redis://}; hostport=${hostport##*@}; hostport=${hostport%%/*}
  local host=${hostport%:*} port=${hostport##*:}
  [ "$host" = "$hostport" ] && port=6379
  exec 4<>"/dev/tcp/$host/$port" 2>/dev/null || return 1
  printf 'PING\r\n' >&4
  local reply; read -r -t 3 reply <&4 || { exec 4>&-; return 1; }
  exec 4>&-
  [[ "$reply" == "+PONG"* ]]
}
provision_redis() {
  if [ -n "${REDIS_URL:-}" ]; then
    redis_answers "$REDIS_URL" || die "REDIS_URL is set but Redis does not answer PING there"
    log "Redis: using REDIS_URL"; return
  fi
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  if redis_answers "$REDIS_URL"; then log "Redis: already running on 127.0.0.1:$REDIS_PORT"; return; fi
  port_in_use "$REDIS_PORT" && die "port $REDIS_PORT is taken by something that is not Redis; set REDIS_URL or DOCKYARD_REDIS_PORT"
  ensure_pkg redis-server redis-server
  mkdir -p "$DATA/redis"
  log "Redis: starting on 127.0.0.1:$REDIS_PORT"
  # BullMQ's production advice: an append-only file, and never evict keys.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" --appendonly yes \
    --maxmemory-policy noeviction --daemonize yes --pidfile "$DATA/redis/redis.pid" \
    --logfile "$DATA/redis.log" --save '' >/dev/null || die "redis-server did not start; see $DATA/redis.log"
  wait_for 20 Redis redis_answers "$REDIS_URL" || die "Redis does not answer; see $DATA/redis.log"
}

# ---------------------------------------------------------------- Docker Engine
docker_answers() { # docker_answers DOCKER_HOST
  local sock=${1#unix://}
  [ -S "$sock" ] || return 1
  curl -fsS --max-time 3 --unix-socket "$sock" http://docker/_ping 2>/dev/null | grep -q OK
}
provision_docker() {
  ensure_pkg curl curl
  if [ -n "${DOCKER_HOST:-}" ]; then
    [[ "$DOCKER_HOST" == unix://* ]] || { log "Docker: using DOCKER_HOST=$DOCKER_HOST (not checked: not a unix socket)"; return; }
    docker_answers "$DOCKER_HOST" || die "DOCKER_HOST is set but no Docker Engine answers at $DOCKER_HOST"
    log "Docker: using DOCKER_HOST"; return
  fi
  local known
  for known in "$(cat "$DOCKER_POINTER" 2>/dev/null || true)" unix:///var/run/docker.sock; do
    if [ -n "$known" ] && docker_answers "$known"; then
      DOCKER_HOST=$known; log "Docker: using the engine at $known"; return
    fi
  done
  [ "$(id -u)" = 0 ] || die "no Docker Engine answers and only root can start one: start dockerd or set DOCKER_HOST"
  ensure_pkg dockerd docker.io
  pgrep -x dockerd >/dev/null && die "a dockerd is running but does not answer on a socket Dockyard knows; set DOCKER_HOST to its socket"
  local dir=$DATA/docker
  mkdir -p "$dir" /run/dockyard
  DOCKER_HOST="unix://$dir/docker.sock"
  log "Docker: starting dockerd ($DOCKER_HOST)"
  rm -f "$dir/docker.sock" "$dir/docker.pid"
  spawn "$DATA/dockerd.log" dockerd --host "$DOCKER_HOST" --data-root "$dir/root" \
    --exec-root "/run/dockyard/docker-exec" --pidfile "$dir/docker.pid" --storage-driver overlay2
  wait_for 60 "Docker Engine" docker_answers "$DOCKER_HOST" || die "dockerd did not answer within 60s; see $DATA/dockerd.log"
  echo "$DOCKER_HOST" >"$DOCKER_POINTER"
}

# ---------------------------------------------------------------- OCI registry
registry_answers() { # registry_answers URL
  curl -fsS --max-time 3 -o /dev/null "$1/v2/" 2>/dev/null
}
provision_registry() {
  if [ -n "${REGISTRY_URL:-}" ]; then
    # A registry that asks for credentials answers 401, which still means it is up.
    curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "$REGISTRY_URL/v2/" 2>/dev/null | grep -qE '^(200|401)$' \
      || die "REGISTRY_URL is set but no registry answers at $REGISTRY_URL/v2/"
    log "Registry: using REGISTRY_URL"; return
  fi
  REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT"
  if registry_answers "$REGISTRY_URL"; then log "Registry: already running on 127.0.0.1:$REGISTRY_PORT"; return; fi
  port_in_use "$REGISTRY_PORT" && die "port $REGISTRY_PORT is taken by something that is not a registry; set REGISTRY_URL or DOCKYARD_REGISTRY_PORT"
  ensure_pkg docker-registry docker-registry
  local dir=$DATA/registry
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
  fields: { service: registry }
storage:
  filesystem: { rootdirectory: $dir/data }
  delete: { enabled: true }
  cache: { blobdescriptor: inmemory }
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  headers:
    X-Content-Type-Options: [nosniff]
YAML
  log "Registry: starting on 127.0.0.1:$REGISTRY_PORT"
  spawn "$DATA/registry.log" docker-registry serve "$dir/config.yml"
  wait_for 20 Registry registry_answers "$REGISTRY_URL" || die "the registry did not answer; see $DATA/registry.log"
}

ensure_pkg git git
provision_postgres
provision_redis
provision_docker
provision_registry

cat >"$DATA/services.env.tmp" <<ENV
DATABASE_URL=$DATABASE_URL
REDIS_URL=$REDIS_URL
DOCKER_HOST=$DOCKER_HOST
REGISTRY_URL=$REGISTRY_URL
ENV
mv "$DATA/services.env.tmp" "$DATA/services.env"
log "services ready ($DATA/services.env)"
