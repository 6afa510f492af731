#!/usr/bin/env bash
# Install coscientist into ./.venv (or $VENV) with everything it needs, saying what each step does.
# llama-cpp-python compiles llama.cpp from source: GGML_NATIVE=OFF keeps the build portable
# (no -march=native), so the same environment runs on any x86-64 or arm64 machine.
#
#   VENV=DIR     where the environment goes (default .venv)
#   EXTRAS=LIST  extras to install (default dev)
#   PYTHON=EXE   the Python that creates the environment (default python3)
#   QUIET=1      hide pip's own output (each step's line and any failure still show)
#   DRY_RUN=1    print the steps and their commands without running anything
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
EXTRAS="${EXTRAS:-dev}"
PYTHON="${PYTHON:-python3}"
QUIET="${QUIET:-0}"
DRY_RUN="${DRY_RUN:-0}"
TOTAL_STEPS=4
step_no=0
started=$(date +%s)
LOG_DIR=""
if [ "$DRY_RUN" != 1 ]; then
  LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/coscientist-install.XXXXXX")
fi
LOG=""
pip_quiet=()
if [ "$QUIET" = 1 ]; then pip_quiet=(--quiet); fi

elapsed() {
  local s=$(( $(date +%s) - started ))
  if [ "$s" -ge 60 ]; then echo "$((s / 60)) min $((s % 60)) s"; else echo "$s s"; fi
}

# step TITLE COMMAND...: announce the step, then run it with its log in $LOG (pip keeps its usual
# output and writes a full log there through --log; other commands are redirected into it).
# On failure: name the step, show the last lines of its log, stop.
step() {
  local title=$1
  shift
  step_no=$((step_no + 1))
  echo "[$step_no/$TOTAL_STEPS] $title"
  if [ $# -eq 0 ]; then return 0; fi  # nothing to run, only to say
  if [ "$DRY_RUN" = 1 ]; then
    echo "      would run: $(spelled "$@")"
    return 0
  fi
  LOG="${LOG_DIR}/step$step_no.log"
  local status=0 step_started
  step_started=$(date +%s)
  "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "install failed at step $step_no/$TOTAL_STEPS ($title), exit code $status, after $(elapsed)." >&2
    if [ -s "$LOG" ]; then
      echo "last lines of its log ($LOG):" >&2
      tail -n 25 "$LOG" >&2
    fi
    exit "$status"
  fi
  echo "      step $step_no done in $(( $(date +%s) - step_started )) s"
}

# A step's command as a user would type it (for the dry run).
spelled() {
  case "$1" in
    make_venv) echo "$PYTHON -m venv $VENV" ;;
    pip_install) shift; echo "$VENV/bin/python -m pip install ${pip_quiet[*]} $*" | tr -s ' ' ;;
    *) echo "$*" ;;
  esac
}

make_venv() { "$PYTHON" -m venv "$VENV" >"$LOG" 2>&1; }
pip_install() { "$VENV/bin/python" -m pip install "${pip_quiet[@]}" --log "$LOG" "$@"; }

# llama-cpp-python's requirement as pyproject.toml states it (built first, on its own, because
# it is the one long step).
llama_requirement() {
  local py="$PYTHON"
  if [ -x "$VENV/bin/python" ]; then py="$VENV/bin/python"; fi
  "$py" - 2>/dev/null <<'EOF' || echo "llama-cpp-python"
import re
import tomllib

deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print(next(d for d in deps if re.match(r"llama[-_]cpp[-_]python\b", d)))
EOF
}

llama_installed() {
  [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))' 2>/dev/null
}

# A wheel pip built before (another environment on this machine) spares the compile.
llama_cached() {
  local py="$PYTHON"
  if [ -x "$VENV/bin/python" ]; then py="$VENV/bin/python"; fi
  "$py" -m pip cache list llama_cpp_python --format abspath 2>/dev/null | grep -q .
}

export CMAKE_ARGS="${CMAKE_ARGS:-} -DGGML_NATIVE=OFF"
export FORCE_CMAKE=1

if [ -x "$VENV/bin/python" ]; then
  step "using the existing environment $VENV"
else
  step "creating the environment $VENV ($PYTHON -m venv)" make_venv
fi

step "upgrading pip" pip_install --upgrade "pip>=24"

LLAMA_REQ=$(llama_requirement)
LLAMA_REQ="${LLAMA_REQ:-llama-cpp-python}"
if version=$(llama_installed); then
  step "llama.cpp already built (llama-cpp-python $version): checking it against '$LLAMA_REQ'" \
    pip_install "$LLAMA_REQ"
elif llama_cached; then
  step "installing llama.cpp ($LLAMA_REQ): pip's cache holds a build from before, so seconds if it fits (else about 3 to 10 minutes to build on 2 cores)" \
    pip_install "$LLAMA_REQ"
else
  step "building llama.cpp from source ($LLAMA_REQ): about 3 to 10 minutes on 2 cores" \
    pip_install "$LLAMA_REQ"
fi

step "installing coscientist and the rest of its dependencies (extras: $EXTRAS)" \
  pip_install -e ".[$EXTRAS]"

if [ "$DRY_RUN" = 1 ]; then
  echo "dry run: nothing was installed"
  exit 0
fi
rm -rf "$LOG_DIR"
echo "done in $(elapsed): installed into $VENV: activate with 'source $VENV/bin/activate'"
