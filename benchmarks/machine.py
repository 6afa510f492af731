"""What every benchmark reports next to its figures: the machine, its load, the JSON line.

On a shared machine a figure means little without the load beside it, so each
benchmark records the load average before and after it ran.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any


def isolate_environment(tmp: Path) -> None:
    """Loopback stays loopback (no proxy), and no user config file leaks into Settings."""
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        os.environ.pop(name, None)
    os.environ["COSCIENTIST_CONFIG"] = str(tmp / "no-config.toml")
    for name in list(os.environ):
        if name.startswith("COSCIENTIST_") and name != "COSCIENTIST_CONFIG":
            del os.environ[name]


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": cores,
        "memory_gib": memory_gib(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_before": load(),
    }


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024 if sys.platform != "darwin" else peak / 2**20, 1)


def emit(result: dict[str, Any]) -> None:
    """The benchmark's one JSON object, as the last line of its output."""
    result.setdefault("machine", {})["load_after"] = load()
    print(json.dumps(result, sort_keys=False), flush=True)
