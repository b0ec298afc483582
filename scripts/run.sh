#!/usr/bin/env bash
# Start the web server and a Huey worker together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST_PORT="${EXPORTDESK_ADDR:-127.0.0.1:8000}"

pids=()
stop() {
  trap - INT TERM EXIT
  echo "Stopping Export Desk..."
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

$PY manage.py run_huey --quiet &
pids+=($!)
$PY manage.py runserver "$HOST_PORT" &
pids+=($!)

echo "Export Desk is running at http://$HOST_PORT (worker pid ${pids[0]}). Press Ctrl-C to stop."
# Whichever stops first (or Ctrl-C) brings the other down too.
wait -n "${pids[@]}"
