# Sourced by every script that runs the application or its tools: make .venv with the project installed, quickly when it already is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Python 3.11 or newer is needed as '$PYTHON' (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    echo "Creating $VENV ..."
    if ! "$PYTHON" -m venv "$VENV"; then
        echo "Could not create a virtual environment; on Debian/Ubuntu: apt-get install python3-venv" >&2
        exit 1
    fi
fi

# Reinstall only when the dependency list changed since the last successful install.
STAMP="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
    echo "Installing the application and its test tools into $VENV ..."
    # Build-tool chatter goes to a log that is shown only when the install fails.
    if ! { "$VENV/bin/python" -m pip install --upgrade pip \
           && "$VENV/bin/python" -m pip install -e "$ROOT[test]"; } >"$VENV/pip.log" 2>&1; then
        cat "$VENV/pip.log" >&2
        echo "Installing the dependencies failed (log above, also in $VENV/pip.log)." >&2
        exit 1
    fi
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
