#!/usr/bin/env bash
# `make run`: set up, migrate, seed the demo seller, then serve the app on the embedded default
# (or on DATABASE_URL/REDIS_URL when set) with one Celery worker and beat doing the real
# background work beside it. However it is stopped (Ctrl-C, twice, TERM to make or to make's
# process group, the terminal closing) the server, the worker and beat stop with it.
# HOST, PORT, CELERY_CONCURRENCY, DATABASE_URL, REDIS_URL and VAR_DIR come from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=${HOST:-0.0.0.0}
PORT=${PORT:-8000}
CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-2}
# The file cache, the filesystem broker and the worker's log (settings read the same variable).
export VAR_DIR=${VAR_DIR:-var}
CELERY_LOG=$VAR_DIR/log/celery.log

bash scripts/setup.sh
PY=.venv/bin/python
mkdir -p "$VAR_DIR/log"

if [[ ${DATABASE_URL:-} == postgres* ]]; then
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
hurry=false
stop_group() {  # stop_group PID NAME: TERM the leader, wait up to 20 s (less in a hurry), then KILL its group
    local pid=$1 name=$2
    if kill -0 "$pid" 2>/dev/null; then
        echo "run: stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            $hurry && break
            sleep 0.5
        done
    fi
    # Whatever the leader left behind (the server's autoreloaded child, the worker's pool, beat).
    kill -KILL -- "-$pid" 2>/dev/null
    return 0
}
stop_all() {
    set +e
    trap '' PIPE  # a closed terminal must not cut the stopping short
    [ -z "$server_pid" ] || stop_group "$server_pid" "the web server"
    # A warm shutdown: tasks running now finish first (unless in a hurry).
    [ -z "$worker_pid" ] || stop_group "$worker_pid" "the Celery worker and beat"
    server_pid=""
    worker_pid=""
}
trap stop_all EXIT  # also when this script fails

# A signal only asks the loop below to stop, and a second one (Ctrl-C again, or the TERM that make
# passes on when its whole process group got one) hurries the stopping: no signal ever cuts the
# stopping short, which would leave the worker and beat running.
stop_status=""
on_signal() {
    if [ -n "$stop_status" ]; then
        hurry=true
    else
        stop_status=$1
    fi
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

# Each in its own session, so a Ctrl-C reaches this script only and it stops both in order.
setsid $PY -m celery -A config worker -B -l info --concurrency "$CELERY_CONCURRENCY" >>"$CELERY_LOG" 2>&1 </dev/null &
worker_pid=$!
setsid $PY manage.py runserver "$HOST:$PORT" </dev/null &
server_pid=$!

url_host=$HOST
[ "$url_host" = "0.0.0.0" ] && url_host=127.0.0.1
# The banner goes last, once the server answers.
for _ in $(seq 1 60); do
    [ -z "$stop_status" ] && kill -0 "$server_pid" 2>/dev/null || break
    $PY -c "import urllib.request as u; u.urlopen('http://$url_host:$PORT/healthz', timeout=2)" 2>/dev/null && break
    sleep 0.5
done
if [ -z "$stop_status" ]; then
    echo
    echo "  Arbitrage Monitor: http://$url_host:$PORT/"
    $PY scripts/services.py demo-login || true
    echo "  Celery worker + beat: pid $worker_pid, log in $CELERY_LOG"
    echo "  Stop with Ctrl-C."
    echo
fi

# Until a signal, or the server or the worker exits by itself (wait returns early on a signal).
status=0
while [ -z "$stop_status" ] && kill -0 "$server_pid" 2>/dev/null && kill -0 "$worker_pid" 2>/dev/null; do
    wait -n "$server_pid" "$worker_pid" || status=$?
done
if [ -z "$stop_status" ] && ! kill -0 "$worker_pid" 2>/dev/null; then
    echo "run: the Celery worker stopped; its last lines:" >&2
    tail -n 20 "$CELERY_LOG" >&2
fi
stop_all
exit "${stop_status:-$status}"
