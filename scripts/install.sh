#!/usr/bin/env bash
# Install coscientist into ./.venv (or $VENV) with everything it needs.
# llama-cpp-python compiles llama.cpp from source: GGML_NATIVE=OFF keeps the build portable
# (no -march=native), so the same environment runs on any x86-64 or arm64 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
EXTRAS="${EXTRAS:-dev}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
export CMAKE_ARGS="${CMAKE_ARGS:-} -DGGML_NATIVE=OFF"
export FORCE_CMAKE=1
"$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24"
"$VENV/bin/python" -m pip install --quiet -e ".[$EXTRAS]"
echo "installed into $VENV: activate with 'source $VENV/bin/activate'"
