"""Ingest benchmark: costline vs DuckDB's own Parquet copy vs focus-converter 1.0.0.

For a CUR 2.0 Parquet file and a legacy CUR CSV (made by ``generate.py``), each tool runs in
a fresh subprocess, so the peak RSS the kernel reports for it (``os.wait4`` rusage) is per
run, not cumulative:

* ``costline``: ``Workspace.init(tmp)`` then ``ws.ingest([file])``; the work time is the
  ``ingest`` call, the process time also covers interpreter start, imports and ``init``.
* ``duckdb``: ``COPY (SELECT * FROM read_parquet/read_csv(file)) TO 'x.parquet'`` in a
  default in-memory DuckDB: the practical floor for reading the file and writing it again.
* ``focus-converter``: ``focus-converter convert --provider aws-cur`` (PyPI 1.0.0, in its
  own venv ``benchmarks/.venv-focus-converter``) on the legacy CSV; only its whole-process
  time exists. It cannot read CUR 2.0 Parquet (polars 0.20 panics on MAP columns).

Tools run interleaved, ``--repeat`` times; the report gives the median of each measure.

Usage::

    .venv/bin/python benchmarks/run.py                         # 5M CUR 2.0 + 1M legacy, once
    .venv/bin/python benchmarks/run.py --repeat 3 --markdown benchmarks/data/results.md
    .venv/bin/python benchmarks/run.py --rows-cur2 20000 --rows-legacy 5000   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import generate

HERE = Path(__file__).resolve().parent
FC_VENV = HERE / ".venv-focus-converter"
FC_PACKAGES = ("focus-converter==1.0.0", "multimethod<1.11", "click<8.2")
GIB = 2**30


# -- data -----------------------------------------------------------------------------------
def ensure_data(rows_cur2: int, rows_legacy: int, data_dir: Path) -> dict[str, Path]:
    """The two files, generated in a child process when missing.

    NOTE: not in this process: Linux reports a forked child's peak RSS as at least the
    parent's RSS at the fork, so after generating in-process (about 3.6 GiB) every measured
    run would report that as its peak.
    """
    paths = {
        "cur2": generate.cur2_path(data_dir, rows_cur2),
        "legacy": generate.legacy_path(data_dir, rows_legacy),
    }
    if not all(p.exists() for p in paths.values()):
        cmd = [sys.executable, str(HERE / "generate.py"), "--rows-cur2", str(rows_cur2)]
        cmd += ["--rows-legacy", str(rows_legacy), "--data-dir", str(data_dir)]
        subprocess.run(cmd, check=True)
    return paths


# -- measuring a subprocess -------------------------------------------------------------------
@dataclass
class Run:
    """One measured subprocess."""

    tool: str
    dataset: str
    rows: int
    wall_s: float
    work_s: float | None
    maxrss_mib: float
    tree_rss_mib: float
    user_s: float
    sys_s: float
    exit_code: int
    load_before: float
    busy_before: float
    others_busy: float
    src_digest: str
    detail: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kib(root: int) -> int:
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kib(pid)
        todo += _children(pid)
    return total


def measure(cmd: list[str], *, timeout: float, cwd: Path) -> dict[str, Any]:
    """Run ``cmd``; wall time, kernel peak RSS (largest single process) and sampled tree RSS."""
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        cpu_before = _cpu_times()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

        def kill() -> None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        cpu_after = _cpu_times()
        timer.cancel()
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        kill()  # stray grandchildren (focus-converter's writer processes on failure)
    # CPU time the whole machine spent meanwhile, less the measured process tree's own.
    machine_cpu = (cpu_after[0] - cpu_before[0]) / os.sysconf("SC_CLK_TCK")
    others = max(0.0, machine_cpu - usage.ru_utime - usage.ru_stime)
    return {
        "wall_s": wall,
        "others_busy": others / (wall * (os.cpu_count() or 1)),
        "maxrss_mib": usage.ru_maxrss / 1024,
        "tree_rss_mib": peak[0] / 1024,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "exit_code": proc.returncode,
        "timed_out": wall >= timeout,
        "stdout": out_path.read_text(errors="replace"),
        "stderr": err_path.read_text(errors="replace")[-3000:],
    }


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_fraction(seconds: float = 2.0) -> float:
    """Share of all CPUs busy over ``seconds`` (this process sleeps meanwhile)."""
    busy0, total0 = _cpu_times()
    time.sleep(seconds)
    busy1, total1 = _cpu_times()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_for_quiet(max_busy: float, timeout: float) -> float:
    """Wait until other processes leave the CPUs (nearly) idle; return the last busy share."""
    deadline = time.monotonic() + timeout
    busy = busy_fraction()
    while busy > max_busy and time.monotonic() < deadline:
        print(f"    waiting for a quiet machine (CPUs {busy:.0%} busy)", flush=True)
        time.sleep(10)
        busy = busy_fraction()
    return busy


# -- the measured programs (run as ``run.py --child TOOL``) ---------------------------------
def child_costline(file: Path, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    from costline.workspace import Workspace

    imported = time.perf_counter()
    ws = Workspace.init(workdir / "ws")
    initialised = time.perf_counter()
    report = ws.ingest([file])
    ingested = time.perf_counter()
    outcomes = [
        {"status": o.status, "kind": o.kind, "rows": o.rows, "message": o.message}
        for o in report.outcomes
    ]
    return {
        "import_s": imported - started,
        "init_s": initialised - imported,
        "work_s": ingested - initialised,
        "rows": report.loaded_rows,
        "outcomes": outcomes,
        "ok": bool(outcomes) and all(o["status"] == "loaded" for o in outcomes),
    }


def _reader(file: Path) -> str:
    if file.suffix == ".parquet":
        return f"read_parquet('{file}')"
    return f"read_csv('{file}')"


def child_duckdb(file: Path, workdir: Path) -> dict[str, Any]:
    con = duckdb.connect()
    target = workdir / "copy.parquet"
    started = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM {_reader(file)}) TO '{target}' (FORMAT parquet)")
    work = time.perf_counter() - started
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()
    return {"work_s": work, "rows": rows[0] if rows else 0, "ok": True}


CHILDREN = {"costline": child_costline, "duckdb": child_duckdb}


# -- focus-converter's own venv -------------------------------------------------------------
def ensure_focus_converter() -> Path:
    """The focus-converter console script, installing it into its venv on first use."""
    script = FC_VENV / "bin" / "focus-converter"
    if script.exists():
        return script
    base = getattr(sys, "_base_executable", sys.executable)
    print(f"installing {' '.join(FC_PACKAGES)} into {FC_VENV} ...", flush=True)
    subprocess.run([base, "-m", "venv", str(FC_VENV)], check=True)
    pip = [str(FC_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *FC_PACKAGES], check=True)
    return script


def fc_command(script: Path, file: Path, out: Path) -> list[str]:
    """``aws-cur`` reads legacy CSV headers; ``aws`` reads snake_case (Athena) Parquet."""
    if file.suffix == ".parquet":
        source = ["--provider", "aws", "--data-format", "parquet", "--parquet-data-format", "file"]
    else:
        source = ["--provider", "aws-cur", "--data-format", "csv"]
    return [
        str(script), "convert", *source, "--data-path", str(file),
        "--export-path", f"{out}/", "--no-export-include-source-columns",
    ]  # fmt: skip


# -- one run of one tool --------------------------------------------------------------------
def run_one(tool: str, dataset: str, file: Path, rows: int, args: argparse.Namespace) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{tool}-", dir=args.work_dir))
    if tool == "focus-converter":
        cmd = fc_command(args.fc_script, file, workdir / "out")
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool]
        cmd += ["--file", str(file), "--workdir", str(workdir)]
    timeout = args.timeout
    if tool == "focus-converter" and dataset == "cur2":
        timeout = min(timeout, args.fc_cur2_timeout)
    for attempt in range(1 + (args.quiet_retries if args.quiet else 0)):
        if args.quiet:
            busy = wait_for_quiet(args.quiet_max_busy, args.quiet_timeout)
        else:
            busy = busy_fraction()
        load = os.getloadavg()[0]
        m = measure(cmd, timeout=timeout, cwd=workdir)
        if (
            not args.quiet
            or m["others_busy"] <= args.quiet_max_busy
            or attempt == args.quiet_retries
        ):
            break
        print(
            f"    {tool} {dataset}: other processes took {m['others_busy']:.0%} of the CPUs "
            "during the run; running it again",
            flush=True,
        )
        shutil.rmtree(workdir / "ws", ignore_errors=True)
        shutil.rmtree(workdir / "out", ignore_errors=True)
    detail: dict[str, Any] = {}
    error = ""
    if tool != "focus-converter" and m["exit_code"] == 0:
        detail = json.loads(m["stdout"].strip().splitlines()[-1])
    if m["exit_code"] == 0:
        detail.update(verify(tool, workdir, rows))
    if m["exit_code"] != 0 or not detail.get("ok", False):
        error = _failure(m, timeout)
    shutil.rmtree(workdir, ignore_errors=True)
    run = Run(
        tool=tool, dataset=dataset, rows=rows, wall_s=m["wall_s"], work_s=detail.get("work_s"),
        maxrss_mib=m["maxrss_mib"], tree_rss_mib=m["tree_rss_mib"], user_s=m["user_s"],
        sys_s=m["sys_s"], exit_code=m["exit_code"], load_before=load, busy_before=busy,
        others_busy=m["others_busy"], src_digest=src_digest(), detail=detail,
        error=error,
    )  # fmt: skip
    status = "ok" if not error else f"FAILED: {error.splitlines()[-1] if error else ''}"
    work = f"work {run.work_s:.2f} s, " if run.work_s is not None else ""
    print(
        f"  {tool:16s} {dataset:7s} wall {run.wall_s:7.2f} s, {work}peak RSS "
        f"{run.maxrss_mib:7.0f} MiB (tree {run.tree_rss_mib:.0f}), others used "
        f"{run.others_busy:.0%} of the CPUs: {status}",
        flush=True,
    )
    return run


def _failure(m: dict[str, Any], timeout: float) -> str:
    """One line saying why a run failed: the last exception line of stderr, if any."""
    lines = [ln.strip(" │") for ln in m["stderr"].splitlines() if ln.strip(" │")]
    cause = next((ln for ln in reversed(lines) if "Error" in ln or "Exception" in ln), "")
    cause = cause or (lines[-1] if lines else "no output")
    if m["timed_out"]:
        return f"timed out after {timeout:.0f} s (last error: {cause[:300]})"
    return f"exit {m['exit_code']}: {cause[:300]}"


def verify(tool: str, workdir: Path, rows: int) -> dict[str, Any]:
    """Check the tool really wrote every row (outside the measured process)."""
    con = duckdb.connect()
    if tool == "costline":
        db = workdir / "ws" / "costline.duckdb"
        con.execute(f"ATTACH '{db}' AS ws (READ_ONLY)")
        got, billed = con.execute("SELECT count(*), sum(BilledCost) FROM ws.cost").fetchone()  # type: ignore[misc]
        return {"stored_rows": got, "billed_cost": str(billed), "ok": got == rows}
    if tool == "focus-converter":
        got = con.execute(
            f"SELECT count(*) FROM read_parquet('{workdir}/out/*.parquet')"
        ).fetchone()
        n = got[0] if got else 0
        return {"rows": n, "ok": n == rows}
    return {"ok": True}


# -- machine and report ---------------------------------------------------------------------
def _meminfo_gib() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return 0.0


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def src_digest() -> str:
    """sha256 (12 hex) of every costline source file: ties results to the exact code measured,
    uncommitted changes included."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((HERE.parent / "src" / "costline").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _git_state() -> str:
    """HEAD commit, plus '+changes' when the work tree differs from it (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=HERE,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+changes" if dirty else "")


def machine_info(fc_script: Path | None) -> dict[str, Any]:
    from importlib.metadata import version

    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gib": round(_meminfo_gib(), 1),
        "kernel": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "costline": version("costline"),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "git": _git_state(),
        "src_digest": src_digest(),
    }
    if fc_script is not None:
        probe = (
            "import json, platform, importlib.metadata as m; print(json.dumps({"
            "'python': platform.python_version(), 'focus-converter': m.version('focus_converter'),"
            " 'polars': m.version('polars'), 'pyarrow': m.version('pyarrow')}))"
        )
        out = subprocess.run(
            [str(fc_script.parent / "python"), "-c", probe], capture_output=True, text=True
        )
        info["focus_converter_env"] = json.loads(out.stdout) if out.returncode == 0 else {}
    return info


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(runs: list[Run]) -> dict[tuple[str, str], dict[str, Any]]:
    """Median of each measure per (dataset, tool), over the successful runs."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key in sorted({(r.dataset, r.tool) for r in runs}):
        group = [r for r in runs if (r.dataset, r.tool) == key and not r.error]
        failed = [r for r in runs if (r.dataset, r.tool) == key and r.error]
        works = [r.work_s for r in group if r.work_s is not None]
        wall = _median([r.wall_s for r in group])
        work = _median(works) if works else None
        rows = group[0].rows if group else (failed[0].rows if failed else 0)
        out[key] = {
            "runs": len(group),
            "failed": len(failed),
            "rows": rows,
            "wall_s": wall,
            "wall_range": (min(r.wall_s for r in group), max(r.wall_s for r in group))
            if group
            else None,
            "work_s": work,
            "rows_per_s": rows / (work if work else wall) if group else float("nan"),
            "maxrss_mib": _median([r.maxrss_mib for r in group]),
            "tree_rss_mib": _median([r.tree_rss_mib for r in group]),
            "cpu_s": _median([r.user_s + r.sys_s for r in group]),
            "others_busy": max((r.others_busy for r in group), default=float("nan")),
            "error": failed[0].error if failed else "",
        }
    return out


def targets(summary: dict[tuple[str, str], dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """The issue's targets: (description, measured, met)."""
    rows: list[tuple[str, str, bool]] = []
    for ds in ("cur2", "legacy"):
        cl, dk = summary.get((ds, "costline")), summary.get((ds, "duckdb"))
        if cl and dk and cl["runs"] and dk["runs"] and cl["work_s"] and dk["work_s"]:
            ratio = cl["work_s"] / dk["work_s"]
            rows.append((f"{ds}: costline ingest ≤ 2× DuckDB copy", f"{ratio:.2f}×", ratio <= 2))
    cl, fc = summary.get(("legacy", "costline")), summary.get(("legacy", "focus-converter"))
    if cl and fc and cl["runs"] and fc["runs"]:
        speedup = fc["wall_s"] / cl["wall_s"]
        rows.append(
            ("legacy: costline ≥ 5× faster than focus-converter (process wall)",
             f"{speedup:.1f}×", speedup >= 5)
        )  # fmt: skip
    cl = summary.get(("cur2", "costline"))
    if cl and cl["runs"]:
        rss = cl["maxrss_mib"]
        rows.append(("cur2: costline peak RSS ≤ 2 GiB", f"{rss:,.0f} MiB", rss <= 2048))
    return rows


def _fmt_s(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:,.2f}"


def markdown(
    summary: dict[tuple[str, str], dict[str, Any]], machine: dict[str, Any], command: str
) -> str:
    lines = [f"Command: `{command}`", ""]
    lines += ["| machine | |", "|---|---|"]
    for key in (
        "cpu_model",
        "nproc",
        "ram_gib",
        "kernel",
        "python",
        "duckdb",
        "costline",
        "git",
        "src_digest",
    ):
        lines.append(f"| {key} | {machine.get(key)} |")
    fc_env = machine.get("focus_converter_env")
    if fc_env:
        lines.append(
            "| focus-converter venv | " + ", ".join(f"{k} {v}" for k, v in fc_env.items()) + " |"
        )
    lines.append(f"| date (UTC) | {machine.get('date_utc')} |")
    if machine.get("warning"):
        lines += ["", f"**Warning:** {machine['warning']}."]
    lines += [
        "",
        "| dataset | tool | rows | runs | process wall s (min–max) | work s | rows/s "
        "| peak RSS MiB | tree RSS MiB | CPU s | others' CPU (max) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (ds, tool), s in summary.items():
        if not s["runs"]:
            lines.append(
                f"| {ds} | {tool} | {s['rows']:,} | 0 | failed: {s['error'][:80]} | | | | | | |"
            )
            continue
        lo, hi = s["wall_range"]
        lines.append(
            f"| {ds} | {tool} | {s['rows']:,} | {s['runs']} | {_fmt_s(s['wall_s'])} "
            f"({lo:.2f}–{hi:.2f}) | {_fmt_s(s['work_s'])} | {s['rows_per_s']:,.0f} "
            f"| {s['maxrss_mib']:,.0f} | {s['tree_rss_mib']:,.0f} | {s['cpu_s']:,.1f} "
            f"| {s['others_busy']:.0%} |"
        )
    lines += ["", "| target | measured | met |", "|---|---:|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else 'NO'} |" for t, m, ok in targets(summary)]
    return "\n".join(lines) + "\n"


# -- main -----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows-cur2", type=int, default=5_000_000)
    p.add_argument("--rows-legacy", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=1, help="runs per tool; the report gives medians")
    p.add_argument("--tools", default="costline,duckdb,focus-converter")
    p.add_argument("--datasets", default="cur2,legacy")
    p.add_argument("--data-dir", type=Path, default=generate.DEFAULT_DATA_DIR)
    p.add_argument("--work-dir", type=Path, default=None, help="scratch space (default: data dir)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    p.add_argument("--quiet", action="store_true", help="wait for idle CPUs before each run")
    p.add_argument("--quiet-max-busy", type=float, default=0.15, help="idle means below this")
    p.add_argument("--quiet-timeout", type=float, default=900.0, help="longest wait, seconds")
    p.add_argument(
        "--quiet-retries", type=int, default=3, help="with --quiet: reruns of a disturbed run"
    )
    p.add_argument(
        "--fc-cur2",
        action="store_true",
        help="also try focus-converter (provider aws) on the CUR 2.0 Parquet; it fails",
    )
    p.add_argument("--fc-cur2-timeout", type=float, default=120.0)
    p.add_argument("--json", type=Path, default=None, help="write every run as JSON here")
    p.add_argument("--markdown", type=Path, default=None, help="write the report here")
    p.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    p.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.file.resolve(), args.workdir)))
        return 0
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    args.work_dir = (args.work_dir or args.data_dir).resolve()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.fc_script = ensure_focus_converter() if "focus-converter" in tools else None
    machine = machine_info(args.fc_script)
    print(json.dumps(machine), flush=True)
    paths = ensure_data(args.rows_cur2, args.rows_legacy, args.data_dir)
    sizes = {"cur2": args.rows_cur2, "legacy": args.rows_legacy}
    runs: list[Run] = []
    for rep in range(args.repeat):
        print(f"repetition {rep + 1}/{args.repeat}", flush=True)
        for ds in datasets:
            for tool in tools:
                if tool == "focus-converter" and ds != "legacy" and not args.fc_cur2:
                    continue
                runs.append(run_one(tool, ds, paths[ds], sizes[ds], args))
    summary = summarize(runs)
    digests = sorted({r.src_digest for r in runs})
    machine["src_digest"] = ", ".join(digests)
    if len(digests) > 1:
        machine["warning"] = (
            f"costline's sources changed during the run ({', '.join(digests)}): "
            "the runs measured different code"
        )
    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report = markdown(summary, machine, command.strip())
    print("\n" + report)
    if args.markdown:
        args.markdown.write_text(report)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine, "runs": [asdict(r) for r in runs]}, indent=2)
        )
    return 0 if all(not r.error for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
