#!/usr/bin/env bash
# One command from a fresh clone: install, check the embedded model, run a short session.
# THREADS=N sets llama.cpp's threads (default: all cores but one); MAX_CALLS the budget.
# VENV, QUIET and DRY_RUN are passed on to scripts/install.sh (DRY_RUN=1: say, run nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
export VENV="${VENV:-.venv}"
export DRY_RUN="${DRY_RUN:-0}"
GOAL="${1:-Propose testable mechanisms by which gut microbiota could influence the efficacy of cancer immunotherapy}"
MAX_CALLS="${MAX_CALLS:-40}"
if [ -n "${THREADS:-}" ]; then export COSCIENTIST_THREADS="$THREADS"; fi

# say TEXT COMMAND...: one line saying what comes next, then the command (or, in a dry run, what it is).
say() {
  echo "== $1"
  shift
  if [ "$DRY_RUN" = 1 ]; then
    echo "   would run: $*"
  else
    "$@"
  fi
}

echo "== installing (scripts/install.sh)"
bash scripts/install.sh
say "checking the embedded model: load it and ask for one structured answer (coscientist doctor)" \
  "$VENV/bin/coscientist" doctor
say "running a session of $MAX_CALLS model calls on the embedded model; the bar shows the time left" \
  "$VENV/bin/coscientist" run "$GOAL" --max-calls "$MAX_CALLS"

if [ "$DRY_RUN" = 1 ]; then
  echo "== dry run: nothing was run"
  exit 0
fi
s=$(( $(date +%s) - started ))
echo "== quickstart done in $((s / 60)) min $((s % 60)) s; the commands above work as shown,"
echo "   or after 'source $VENV/bin/activate' as plain 'coscientist ...'"
