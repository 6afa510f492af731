#!/usr/bin/env bash
# One command from a fresh clone: install, check the embedded model, run a short session.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
GOAL="${1:-Propose testable mechanisms by which gut microbiota could influence the efficacy of cancer immunotherapy}"
.venv/bin/coscientist doctor --threads "${THREADS:-2}"
.venv/bin/coscientist run "$GOAL" --max-calls "${MAX_CALLS:-40}" --threads "${THREADS:-2}"
