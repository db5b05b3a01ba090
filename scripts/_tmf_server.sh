# Sourced by scripts/tmf-conformance and scripts/tmf-fuzz: serves the application on loopback port $PORT with
# a fresh database and the demo data, and sets TOKEN (the integrator's API key) and SERVER_LOG. The server
# and the scratch folder go when the calling script exits.
# The project's environment first, so that the scripts work as the README shows them on a fresh clone.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
SHARED=${SHARED_DIR:-$ROOT/../shared}
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
SERVER_LOG=$WORK/server.log
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

export INSTANCE_PATH=$WORK/instance
export DATABASE_URL=${TMF_DATABASE_URL:-${CTK_DATABASE_URL:-sqlite:///$WORK/tmf.db}}
export LOAD_DEMO_DATA=1
export AUTH_RATE_LIMITED=0
# Build the schema, demo data and roles once, then mint the integrator's API key.
"$PYTHON" -m flask --app app:create_app create-api-key integrator --name "$(basename "$0")" > "$WORK/key"
TOKEN=$(tail -n 1 "$WORK/key")
"$PYTHON" -m flask --app app:create_app run --host 127.0.0.1 --port "$PORT" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break
  sleep 0.2
done
