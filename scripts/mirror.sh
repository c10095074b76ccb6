#!/usr/bin/env bash
# The local NVIDIA redist mirror that tests and the demo install from, built from NVIDIA's PyPI wheels
# (tools/redist_mirror.py) and served on loopback.
#   scripts/mirror.sh build   build or complete build/mirror (wheels cached in build/wheels)
#   scripts/mirror.sh start   serve it on 127.0.0.1:$DLOPS_MIRROR_PORT (default 8765) unless already served
#   scripts/mirror.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
MIRROR=build/mirror
PORT=${DLOPS_MIRROR_PORT:-8765}
PIDFILE=build/mirror-server.pid
PYTHON=${PYTHON:-.venv/bin/python}

served() { "$PYTHON" - "$PORT" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:%s/cuda/redist/" % sys.argv[1], timeout=2).read()
except Exception:
    sys.exit(1)
PY
}

case "${1:-}" in
build)
    "$PYTHON" tools/redist_mirror.py --out "$MIRROR" --wheels build/wheels ;;
start)
    if served; then
      [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && exit 0
      echo "mirror: another process serves 127.0.0.1:$PORT (another checkout's mirror?); stop it or set DLOPS_MIRROR_PORT" >&2
      exit 1
    fi
    # The server outlives this script: it keeps none of the caller's descriptors (a lock, a pipe).
    ( for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
      exec nohup "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$MIRROR" "$PORT" >build/mirror-server.log 2>&1 < /dev/null ) &
    echo $! >"$PIDFILE"
    for _ in $(seq 50); do served && { echo "mirror: http://127.0.0.1:$PORT"; exit 0; }; sleep 0.1; done
    echo "mirror: the server did not answer on 127.0.0.1:$PORT (see build/mirror-server.log)" >&2
    exit 1 ;;
stop)
    if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi ;;
*)
    echo "usage: $0 build|start|stop" >&2; exit 2 ;;
esac
