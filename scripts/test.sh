#!/usr/bin/env bash
# The whole suite: lint, types, migrations, privacy inventory, pytest on SQLite, then pytest
# again on a throwaway PostgreSQL cluster when PostgreSQL is installed (always in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export EXPORTDESK_VAR_DIR="${EXPORTDESK_VAR_DIR:-$(mktemp -d /tmp/exportdesk-test-var.XXXXXX)}"
started=$(date +%s)

echo "== ruff"
$BIN/ruff check .
$BIN/ruff format --check .
echo "== mypy"
$BIN/mypy exportdesk
echo "== migrations"
$BIN/python manage.py makemigrations --check --dry-run
echo "== privacy inventory"
$BIN/python manage.py privacy_inventory --check

echo "== pytest on SQLite"
$BIN/pytest -p no:cacheprovider "$@"

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== pytest on PostgreSQL"
  scripts/with-postgres.sh $BIN/pytest -p no:cacheprovider "$@"
elif [ -n "${CI:-}" ]; then
  echo "PostgreSQL is required in CI (apt-get install postgresql)" >&2
  exit 1
else
  echo "== PostgreSQL not installed here: skipped the PostgreSQL run"
fi
echo "== make test finished in $(( $(date +%s) - started ))s"
