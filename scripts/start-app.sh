#!/usr/bin/env bash
# Start (or restart) the built app in the background and check that the process answering on the
# port is the one this run started. The old app gets SIGTERM (jobs in flight get SHUTDOWN_GRACE,
# then are handed back), then SIGKILL if it is still there after DOCKYARD_STOP_WAIT seconds.
# Expects the services' variables in the environment and dist/ built (scripts/up.sh does both).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=${DOCKYARD_DATA_DIR:-$ROOT/.dockyard}
ENTRY=${DOCKYARD_ENTRY:-dist/src/main.js}
STOP_WAIT=${DOCKYARD_STOP_WAIT:-60}
READY_WAIT=${DOCKYARD_READY_WAIT:-60}
mkdir -p "$DATA"
url="http://${HOST:-127.0.0.1}:${PORT:-3000}"

# Alive and not a zombie (an exited child its parent has not reaped yet holds no port).
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# The pid the app answering on the port reports in /healthz (empty when nothing answers).
answering_pid() {
  curl -fsS --max-time 2 "$url/healthz" 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      if (!s) return;
      try { process.stdout.write(String(JSON.parse(s).pid ?? "?")); } catch { process.stdout.write("?"); }
    });' || true
}

if [ -f "$DATA/app.pid" ] && alive "$(cat "$DATA/app.pid")"; then
  old=$(cat "$DATA/app.pid")
  echo "[up] stopping the running app (pid $old)"
  kill -TERM "$old" 2>/dev/null || true
  for _ in $(seq 1 $((STOP_WAIT * 5))); do alive "$old" || break; sleep 0.2; done
  if alive "$old"; then
    echo "[up] the app (pid $old) did not exit within ${STOP_WAIT}s of SIGTERM: killing it (SIGKILL)"
    kill -KILL "$old" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$old" || break; sleep 0.1; done
  fi
fi
other=$(answering_pid)
if [ -n "$other" ]; then
  echo "[up] ERROR: another process (pid ${other/\?/unknown}) already answers on $url; it is not an app this script started. Stop it or set PORT." >&2
  exit 1
fi

setsid nohup node "$ENTRY" >"$DATA/app.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$DATA/app.pid"
for _ in $(seq 1 $((READY_WAIT * 4))); do
  alive "$pid" || { echo "[up] the app exited:" >&2; tail -20 "$DATA/app.log" >&2; exit 1; }
  answering=$(answering_pid)
  if [ -n "$answering" ] && [ "$answering" != "$pid" ]; then
    echo "[up] ERROR: the app answering on $url is pid $answering, not the one just started (pid $pid)" >&2
    exit 1
  fi
  if [ "$answering" = "$pid" ] && curl -fsS --max-time 2 "$url/readyz" >/dev/null 2>&1; then
    echo "[up] Dockyard is up (pid $pid): $url  (API docs: $url/api/docs, log: $DATA/app.log)"
    exit 0
  fi
  sleep 0.25
done
echo "[up] the app (pid $pid) did not become ready within ${READY_WAIT}s; see $DATA/app.log" >&2
exit 1
