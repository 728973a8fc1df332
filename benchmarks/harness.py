"""What the side-by-side benchmarks share: each measured side runs in a fresh process.

Linux reports a forked child's peak RSS as at least the parent's RSS at the fork, so the data
is built in a child too, never in the parent that measures.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def build_in_child(script: str, root: Path, *args: str) -> float:
    """Run ``script --child build --root ROOT *args``; returns the seconds it took. Also
    compiles costline's bytecode first (:func:`compile_costline`)."""
    compile_costline()
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, script, "--child", "build", "--root", str(root), *args], check=True
    )
    return time.perf_counter() - t0


def compile_costline() -> None:
    """Write costline's ``.pyc`` files, as ``pip install`` does: an editable install run with
    ``PYTHONDONTWRITEBYTECODE`` set (as in some CI shells) would otherwise compile every
    module from source in every measured child, about 0.1 s that no user pays."""
    spec = importlib.util.find_spec("costline")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)


def timed_child(script: str, kind: str, root: Path, out: Path) -> dict[str, object]:
    """Run ``script --child KIND --root ROOT --out OUT``: the JSON it wrote to ``out``, plus
    ``wall`` (seconds, process included) and ``rss_mib`` (the child's own peak)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, script, "--child", kind, "--root", str(root), "--out", str(out)]
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{kind} failed with status {status}")
    data: dict[str, object] = json.loads(out.read_text())
    data["wall"] = wall
    data["rss_mib"] = usage.ru_maxrss / 1024
    return data


def medians(results: dict[str, list[dict[str, object]]], key: str = "seconds") -> dict[str, float]:
    """The median of ``key`` per side."""
    return {
        k: sorted(float(r[key]) for r in v)[len(v) // 2]  # type: ignore[arg-type]
        for k, v in results.items()
    }


def machine() -> str:
    """``x86_64, 2 cores, 23.5 GiB``."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {ram:.1f} GiB"
