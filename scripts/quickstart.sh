#!/usr/bin/env bash
# One command from a fresh clone: install, check the embedded model, run a short session.
# THREADS=N sets llama.cpp's threads (default: all cores but one); MAX_CALLS the budget.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
GOAL="${1:-Propose testable mechanisms by which gut microbiota could influence the efficacy of cancer immunotherapy}"
if [ -n "${THREADS:-}" ]; then export COSCIENTIST_THREADS="$THREADS"; fi
.venv/bin/coscientist doctor
.venv/bin/coscientist run "$GOAL" --max-calls "${MAX_CALLS:-40}"
