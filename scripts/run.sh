#!/usr/bin/env bash
# `make run`: set up, migrate, seed the demo seller, then serve the app on the embedded default
# (or on DATABASE_URL/REDIS_URL when set) with one Celery worker and beat doing the real
# background work beside it. Stopping the server (Ctrl-C) stops the worker and beat.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=${HOST:-0.0.0.0}
PORT=${PORT:-8000}
CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-2}
CELERY_LOG=var/log/celery.log

bash scripts/setup.sh
PY=.venv/bin/python

if [ -n "${DATABASE_URL:-}" ]; then
    $PY scripts/services.py postgres "$DATABASE_URL" || {
        echo "run: DATABASE_URL is set but PostgreSQL does not answer: $DATABASE_URL" >&2
        exit 1
    }
fi
if [ -n "${REDIS_URL:-}" ]; then
    $PY scripts/services.py redis "$REDIS_URL" || {
        echo "run: REDIS_URL is set but Redis does not answer: $REDIS_URL" >&2
        exit 1
    }
fi

$PY manage.py migrate --noinput
if [ -f monitoring/management/commands/seed_demo.py ]; then
    $PY manage.py seed_demo
else
    echo "run: seed_demo is not there yet; starting without demo data."
fi

worker_pid=""
server_pid=""
stop_group() {  # stop_group PID NAME: TERM the leader, wait up to 20 s, then KILL its whole group
    local pid=$1 name=$2
    kill -0 "$pid" 2>/dev/null || return 0
    echo "run: stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
}
stop_all() {
    [ -z "$server_pid" ] || stop_group "$server_pid" "the web server"
    # A warm shutdown: tasks running now finish first.
    [ -z "$worker_pid" ] || stop_group "$worker_pid" "the Celery worker and beat"
    server_pid=""
    worker_pid=""
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each in its own session, so one Ctrl-C reaches this script only and it stops both in order.
setsid $PY -m celery -A config worker -B -l info --concurrency "$CELERY_CONCURRENCY" >>"$CELERY_LOG" 2>&1 </dev/null &
worker_pid=$!
setsid $PY manage.py runserver "$HOST:$PORT" </dev/null &
server_pid=$!

url_host=$HOST
[ "$url_host" = "0.0.0.0" ] && url_host=127.0.0.1
# The banner goes last, once the server answers.
for _ in $(seq 1 60); do
    kill -0 "$server_pid" 2>/dev/null || break
    $PY -c "import urllib.request as u; u.urlopen('http://$url_host:$PORT/healthz', timeout=2)" 2>/dev/null && break
    sleep 0.5
done
echo
echo "  Arbitrage Monitor: http://$url_host:$PORT/"
$PY scripts/services.py demo-login || true
echo "  Celery worker + beat: pid $worker_pid, log in $CELERY_LOG"
echo "  Stop with Ctrl-C."
echo

# Returns when the server or the worker exits by itself, or at once when a signal runs a trap.
status=0
wait -n "$server_pid" "$worker_pid" || status=$?
if ! kill -0 "$worker_pid" 2>/dev/null; then
    echo "run: the Celery worker stopped; its last lines:" >&2
    tail -n 20 "$CELERY_LOG" >&2
    worker_pid=""
fi
exit "$status"
