#!/bin/sh
# The container's entry point (Dockerfile): the first argument picks what runs.
#   web [gunicorn options]   gunicorn with bot/app/gunicorn_conf.py (bind 0.0.0.0:8080; GUNICORN_CMD_ARGS or
#                            options here override it, e.g. --workers 2: the default is 2 per *host* core)
#   worker [--workers N]     python -m bot.app.worker; SIGTERM (docker stop, Kubernetes) is passed on as
#                            SIGINT, which Huey takes as "finish the running deliveries, then exit"
#   serve [options]          pledge serve --host 0.0.0.0 --port 8080 (web and worker in one process)
#   healthcheck              Docker's HEALTHCHECK: GET /healthz when this container runs the web role
#   anything else            the pledge command line (validate, render, check, history, ...)
set -eu

role_file="${TMPDIR:-/tmp}/pledge-role"

remember_role() {
  # For `healthcheck`, which Docker runs as a separate process; a read-only /tmp only disables the check.
  printf '%s\n' "$1" >"$role_file" 2>/dev/null || true
}

case "${1:-web}" in
  web)
    [ "$#" -gt 0 ] && shift
    remember_role web
    exec gunicorn -c python:bot.app.gunicorn_conf "$@" "bot.app.web:create_app()"
    ;;
  worker)
    shift
    remember_role worker
    python -m bot.app.worker "$@" &
    child=$!
    trap 'kill -INT "$child" 2>/dev/null || true' TERM INT
    status=0
    while :; do
      # wait returns early (status > 128) when a trapped signal arrives; wait again for the real exit.
      if wait "$child"; then status=0; else status=$?; fi
      kill -0 "$child" 2>/dev/null || break
    done
    exit "$status"
    ;;
  serve)
    shift
    remember_role web
    exec pledge serve --host 0.0.0.0 --port 8080 "$@"
    ;;
  healthcheck)
    role=$(cat "$role_file" 2>/dev/null || echo none)
    [ "$role" = web ] || exit 0
    exec python - "${PLEDGE_HEALTHCHECK_URL:-http://127.0.0.1:8080/healthz}" <<'PY'
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"healthcheck {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
PY
    ;;
  *)
    exec pledge "$@"
    ;;
esac
