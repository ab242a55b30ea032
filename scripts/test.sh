#!/usr/bin/env bash
# `make test`: set up from nothing, make sure Chromium, PostgreSQL and Redis are there (starting
# them when they are installed but stopped), then lint, check migrations and run the test suite.
# Without CI=true a missing service falls back to the embedded default and the tests that need
# it skip; with CI=true anything missing is a failure. Exits with the last failing step's code
# (pytest's 5, "no tests ran", included). PYTEST_WORKERS=2 runs pytest on two processes.
set -uo pipefail
cd "$(dirname "$0")/.."

IN_CI=false
[ "${CI:-}" = "true" ] && IN_CI=true
PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/arbitrage}
REDIS_TEST_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}  # the browser tests and the scraper use the same one

say() { printf '\n==> %s\n' "$*"; }
missing() {  # missing WHAT: a hard failure under CI, a note otherwise
    if $IN_CI; then
        echo "test: $1 (CI=true: every service must be there)" >&2
        exit 1
    fi
    echo "test: $1; continuing without it (the tests that need it skip)." >&2
}

say "Setting up .venv"
bash scripts/setup.sh || exit 1
PY=.venv/bin/python

say "Debian packages the tests use: chromium (browser tests, JS suppliers), docker-compose (compose file check)"
packages=()
if [ -x "$CHROMIUM" ]; then
    echo "$CHROMIUM is there."
elif [ "$CHROMIUM" != /usr/bin/chromium ]; then
    missing "CHROMIUM_PATH=$CHROMIUM is not an executable"
else
    packages+=(chromium fonts-liberation)
fi
if command -v docker-compose >/dev/null 2>&1; then
    echo "docker-compose is there."
else
    packages+=(docker-compose)
fi
if [ ${#packages[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        missing "${packages[*]} missing and there is no apt-get to install them"
    elif [ "$(id -u)" != "0" ]; then
        missing "${packages[*]} missing and installing them needs root (apt-get install ${packages[*]})"
    else
        echo "Installing ${packages[*]} with apt-get."
        export DEBIAN_FRONTEND=noninteractive
        if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }; then
            missing "apt-get could not install ${packages[*]}"
        fi
        [ -x "$CHROMIUM" ] || missing "chromium is still missing at $CHROMIUM"
        command -v docker-compose >/dev/null 2>&1 || missing "docker-compose is still missing"
    fi
fi

say "PostgreSQL and Redis"
pg_up() { $PY scripts/services.py postgres "$PG_URL" 2>/dev/null; }
redis_up() { $PY scripts/services.py redis "$REDIS_TEST_URL" 2>/dev/null; }
wait_for() {  # wait_for CHECK: up to 20 s
    for _ in $(seq 1 40); do
        "$1" && return 0
        sleep 0.5
    done
    return 1
}
# Only the local servers this machine may have installed are started; other URLs are used as given.
if ! pg_up && [[ $PG_URL == *@127.0.0.1:5432/* ]] && [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "Starting PostgreSQL."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    wait_for pg_up || true
fi
if ! redis_up && [[ $REDIS_TEST_URL == redis://127.0.0.1:6379/* ]] && command -v redis-server >/dev/null 2>&1; then
    echo "Starting Redis."
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
    wait_for redis_up || true
fi
if pg_up; then
    export DATABASE_URL=$PG_URL
    echo "PostgreSQL answers: DATABASE_URL=$DATABASE_URL (the tests use test_${DATABASE_URL##*/})"
else
    $PY scripts/services.py postgres "$PG_URL" || true
    missing "PostgreSQL does not answer at $PG_URL"
    unset DATABASE_URL
fi
if redis_up; then
    export REDIS_URL=$REDIS_TEST_URL
    echo "Redis answers: REDIS_URL=$REDIS_URL"
else
    $PY scripts/services.py redis "$REDIS_TEST_URL" || true
    missing "Redis does not answer at $REDIS_TEST_URL"
    unset REDIS_URL
fi
echo "Database: ${DATABASE_URL:-SQLite (embedded default)}; broker and cache: ${REDIS_URL:-filesystem (embedded default)}"
# No persistent connections in tests: threads the tests start (page readers, the live server, an
# embedded Celery worker) must not keep the test database open when it is dropped.
export CONN_MAX_AGE=0

failed=()
exit_code=0
step() {  # step NAME COMMAND...: run it, remember a failure, go on so one run shows everything
    local name=$1 rc=0
    shift
    say "$name"
    "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        failed+=("$name (exit $rc)")
        exit_code=$rc
    fi
}
step "ruff check" .venv/bin/ruff check .
step "ruff format --check" .venv/bin/ruff format --check .
step "Migrations match the models" $PY manage.py makemigrations --check --dry-run
pytest_args=()
if [ "${PYTEST_WORKERS:-1}" != "1" ]; then
    pytest_args+=(-n "$PYTEST_WORKERS")
fi
step "pytest" .venv/bin/pytest "${pytest_args[@]}" "$@"

if [ ${#failed[@]} -gt 0 ]; then
    say "FAILED: $(IFS=';'; echo "${failed[*]}")"
    exit "$exit_code"
fi
say "All checks passed."
