"""Build the wheel and check that agents/ and prompts/ ship inside it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp, str(root)],
        check=True,
    )
    wheel = next(Path(tmp).glob("coscientist-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
needed = ["agents/context.py", "prompts/__init__.py", "coscientist/cli.py"]
templates = [n for n in names if n.startswith("prompts/") and n.endswith(".j2")]
missing = [n for n in needed if n not in names]
if missing or not templates:
    sys.exit(f"wheel is missing {missing or 'prompt templates'}")
print(f"wheel ok: {wheel.name}, {len(names)} files, {len(templates)} prompt templates")
