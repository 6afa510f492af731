"""scripts/install.sh and quickstart.sh say what they do: step lines, a dry run, failures with their log.

Nothing here installs anything: the dry run prints the steps, and failures are
provoked with stand-in interpreters in a temporary directory.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a script; pip's cache is an empty directory unless PIP_CACHE_DIR is given."""
    defaults = {"TMPDIR": "/tmp", "PIP_CACHE_DIR": "/nonexistent/pip-cache"}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **defaults, **env},
    )


def stand_in(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)
    return path


def test_dry_run_lists_each_step_before_it_and_installs_nothing(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    proc = script("install.sh", VENV=str(venv), DRY_RUN="1")
    assert proc.returncode == 0, proc.stderr
    steps = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    assert steps == [
        f"[1/4] creating the environment {venv} (python3 -m venv)",
        "[2/4] upgrading pip",
        "[3/4] building llama.cpp from source (llama-cpp-python>=0.3.0): "
        "about 3 to 10 minutes on 2 cores",
        "[4/4] installing coscientist and the rest of its dependencies (extras: dev)",
    ]
    assert f"would run: {venv}/bin/python -m pip install -e .[dev]" in proc.stdout
    assert "--quiet" not in proc.stdout  # pip's own progress stays visible by default
    assert proc.stdout.rstrip().endswith("dry run: nothing was installed")
    assert not venv.exists()

    quiet = script("install.sh", VENV=str(venv), DRY_RUN="1", QUIET="1", EXTRAS="postgres")
    assert f"would run: {venv}/bin/python -m pip install --quiet -e .[postgres]" in quiet.stdout


def test_a_build_in_pips_cache_is_not_announced_as_minutes_of_compiling(tmp_path: Path) -> None:
    wheel = (
        tmp_path / "cache" / "wheels" / "a7" / "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"
    )
    wheel.parent.mkdir(parents=True)
    wheel.write_bytes(b"")
    proc = script(
        "install.sh", VENV=str(tmp_path / "venv"), DRY_RUN="1", PIP_CACHE_DIR=str(wheel.parents[2])
    )
    assert proc.returncode == 0, proc.stderr
    assert "[3/4] installing llama.cpp (llama-cpp-python>=0.3.0): pip's cache holds a build" in (
        proc.stdout
    )
    assert "building llama.cpp" not in proc.stdout


def test_an_existing_environment_with_llama_cpp_is_only_checked(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    stand_in(venv / "bin" / "python", 'if [ "$1" = -c ]; then echo 0.3.36; fi\n')
    proc = script("install.sh", VENV=str(venv), DRY_RUN="1")
    assert proc.returncode == 0, proc.stderr
    assert f"[1/4] using the existing environment {venv}" in proc.stdout
    assert (
        "[3/4] llama.cpp already built (llama-cpp-python 0.3.36): checking it against"
        in proc.stdout
    )
    assert "building llama.cpp" not in proc.stdout


def test_a_failed_step_is_named_with_the_end_of_its_log(tmp_path: Path) -> None:
    python = stand_in(
        tmp_path / "bin" / "python3",
        'for i in $(seq 1 40); do echo "venv line $i"; done\necho "Error: no ensurepip"\nexit 3\n',
    )
    proc = script(
        "install.sh", VENV=str(tmp_path / "venv"), PYTHON=str(python), TMPDIR=str(tmp_path)
    )
    assert proc.returncode == 3
    assert proc.stdout.splitlines() == [
        f"[1/4] creating the environment {tmp_path}/venv ({python} -m venv)"
    ]
    err = proc.stderr.splitlines()
    assert err[0].startswith("install failed at step 1/4 (creating the environment")
    assert "exit code 3" in err[0]
    assert err[1].startswith("last lines of its log (") and err[1].endswith("step1.log):")
    assert err[2:] == [f"venv line {i}" for i in range(17, 41)] + ["Error: no ensurepip"]


def test_a_failed_pip_step_shows_pips_log(tmp_path: Path) -> None:
    # A stand-in environment: pip upgrades fine, then the llama.cpp build fails (as a missing
    # compiler would), writing its error into the log that --log names.
    venv = tmp_path / "venv"
    stand_in(
        venv / "bin" / "python",
        """if [ "$1" = -c ]; then exit 1; fi
log=""; prev=""
for a in "$@"; do [ "$prev" = --log ] && log=$a; prev=$a; done
case "$*" in
  *--upgrade*) exit 0 ;;
  *) echo "compiling ggml.c" >>"$log"; echo "ERROR: Failed building wheel for llama-cpp-python" >>"$log"; exit 1 ;;
esac
""",
    )
    proc = script("install.sh", VENV=str(venv), TMPDIR=str(tmp_path))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert [line.strip()[:11] for line in lines] == [
        "[1/4] using",  # nothing to run, so no time to tell
        "[2/4] upgra",
        "step 2 done",
        "[3/4] build",
    ]
    assert re.fullmatch(r"      step 2 done in \d+ s", lines[2])
    assert "building llama.cpp from source" in lines[3]
    assert "install failed at step 3/4 (building llama.cpp from source" in proc.stderr
    assert proc.stderr.rstrip().endswith(
        "compiling ggml.c\nERROR: Failed building wheel for llama-cpp-python"
    )


def test_quickstart_dry_run_says_every_step_through_to_the_run() -> None:
    proc = script("quickstart.sh", "a goal", VENV="/nonexistent/venv", DRY_RUN="1", MAX_CALLS="12")
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stdout.splitlines() if line.startswith(("==", "["))]
    assert said[0] == "== installing (scripts/install.sh)"
    assert [line[:5] for line in said[1:5]] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert said[5].startswith("== checking the embedded model")
    assert said[6].startswith("== running a session of 12 model calls")
    assert "would run: /nonexistent/venv/bin/coscientist run a goal --max-calls 12" in proc.stdout
    assert said[-1] == "== dry run: nothing was run"
