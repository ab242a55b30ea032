#!/usr/bin/env bash
# Make the project ready to run from nothing: a .venv with requirements.txt installed and the
# folders the embedded default writes to (SQLite file, file cache, filesystem Celery broker).
# Idempotent and quick the second time: pip runs only when requirements.txt or Python changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# The operating system's own Python comes first when it is 3.11 or newer and can make a venv:
# distributions build it optimised (profile-guided, interpreter linked statically), as the official
# image the Dockerfile uses is. A version manager's default build (pyenv's: no optimisation, a
# shared libpython) runs the app's Python ≈ 15 % slower (README, Benchmarks).
pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" /usr/bin/python3 python3.11 python3 python; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import ensurepip, sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ "${1:-}" = "--which-python" ]; then  # name the interpreter a new .venv would be made from
    pick_python
    exit
fi

if ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    if ! PY=$(pick_python); then
        echo "setup: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    echo "setup: creating .venv with $("$PY" --version)"
    rm -rf .venv
    "$PY" -m venv .venv
fi

# The stamp names what was installed: requirements.txt's content and the venv's Python.
stamp_file=.venv/.requirements.stamp
wanted="$(.venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(open("requirements.txt", "rb").read()).hexdigest(), sys.version.split()[0])')"
if [ "$(cat "$stamp_file" 2>/dev/null || true)" != "$wanted" ]; then
    echo "setup: installing requirements.txt into .venv"
    # Playwright for Python is installed as a library only: it never downloads a browser of its
    # own here; the browser tests use Debian's /usr/bin/chromium.
    PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/python -m pip install --quiet -r requirements.txt
    echo "$wanted" >"$stamp_file"
fi

VAR_DIR=${VAR_DIR:-var}
mkdir -p "$VAR_DIR/broker" "$VAR_DIR/broker-processed" "$VAR_DIR/cache" "$VAR_DIR/log"
