"""Where does a costline ingest spend its time? Three views of one file.

1. **Phases** of a real ``Ingestor.run`` (the code ``Workspace.ingest`` runs): sha256, format
   sniffing, DESCRIBE, detection, landing copy, and every SQL statement of the load
   transaction (the INSERT, the validation queries, the partition bookkeeping, COMMIT),
   timed by wrapping the warehouse connection. Nothing in costline is changed.
2. **The INSERT's anatomy**: the same mapping SELECT written to Parquet instead of the cost
   table, the plain ``SELECT *`` copy, and ``EXPLAIN ANALYZE`` of the INSERT (per operator).
3. **Per column** (``--columns``): on the first ``--sample-rows`` rows, already in memory,
   the time of each mapped column's expression against reading its raw columns alone.

Usage::

    .venv/bin/python benchmarks/profile_ingest.py benchmarks/data/cur2_5000000rows.parquet
    .venv/bin/python benchmarks/profile_ingest.py FILE --columns --sample-rows 1000000
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from run import src_digest

from costline.ingest import pipeline, plan
from costline.ingest.plan import lineage, select_sql
from costline.schema.focus import STORE_COLUMNS
from costline.sources import _files
from costline.sources._sql import lit, raw
from costline.sources.aws import tags as aws_tags
from costline.sources.base import RawColumns
from costline.sources.registry import detect_source
from costline.storage.duckdb import DuckDBWarehouse
from costline.workspace import Workspace

Log = list[list[Any]]


class TimedConnection:
    """Wraps a DuckDB connection; logs (label, seconds) per statement, fetches included."""

    def __init__(self, con: duckdb.DuckDBPyConnection, log: Log) -> None:
        self._con = con
        self._log = log

    def execute(self, sql: str, params: Any = None) -> TimedConnection:
        started = time.perf_counter()
        if params is None:
            self._con.execute(sql)
        else:
            self._con.execute(sql, params)
        self._log.append([_label(sql), time.perf_counter() - started])
        return self

    def executemany(self, sql: str, params: Any) -> TimedConnection:
        started = time.perf_counter()
        self._con.executemany(sql, params)
        self._log.append([_label(sql), time.perf_counter() - started])
        return self

    def _fetch(self, method: str) -> Any:
        started = time.perf_counter()
        result = getattr(self._con, method)()
        if self._log:
            self._log[-1][1] += time.perf_counter() - started
        return result

    def fetchone(self) -> Any:
        return self._fetch("fetchone")

    def fetchall(self) -> Any:
        return self._fetch("fetchall")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _label(sql: str) -> str:
    text = " ".join(sql.split())
    if text.startswith("INSERT INTO cost ("):
        return "INSERT INTO cost <mapping SELECT> (read + map + cast + write)"
    if "count(*) FILTER" in text:
        return "validate: count + NULLs in mandatory columns"
    if "count(DISTINCT BillingCurrency)" in text:
        return "validate: mixed billing currencies"
    if text.startswith("SELECT x_Provider, BillingAccountId, BillingPeriodStart, count(*)"):
        return "partitions: GROUP BY (provider, account, period)"
    return re.sub(r"\s+", " ", text)[:70]


def _timed(log: Log, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            log.append([label, time.perf_counter() - started])

    return wrapper


def phases(file: Path, workdir: Path) -> tuple[Log, float, int]:
    """Run a real ingest with every step timed; (log, total seconds, rows)."""
    log: Log = []
    ws = Workspace.init(workdir / "ws")
    patches = [
        (pipeline, "sha256_of", "sha256 of the file"),
        (_files, "sniff_format", "sniff container format"),
        (pipeline, "detect_source", "detect source kind"),
        (pipeline.Ingestor, "_describe", "DESCRIBE the reader"),
        (pipeline.Ingestor, "_land", "landing copy"),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, label in patches:
        setattr(obj, name, _timed(log, label, getattr(obj, name)))
    try:
        started = time.perf_counter()
        with ws.warehouse() as wh:
            wh.con = TimedConnection(wh.con, log)  # type: ignore[assignment]
            ingestor = pipeline.Ingestor(
                wh, landing_dir=ws.landing_dir, quarantine_dir=ws.quarantine_dir
            )
            report = ingestor.run([file])
        total = time.perf_counter() - started
    finally:
        for obj, name, original in saved:
            setattr(obj, name, original)
    bad = [o for o in report.outcomes if o.status != "loaded"]
    if bad:
        raise SystemExit(f"ingest failed: {bad[0].message}")
    return log, total, report.loaded_rows


def mapping_select(file: Path) -> tuple[str, str, RawColumns]:
    """(select_sql, reader_sql, raw columns) exactly as the pipeline builds them."""
    wh = DuckDBWarehouse(None)
    fmt = _files.sniff_format(file)
    reader = _files.reader_sql([file], fmt)
    cols = RawColumns.of(wh.describe(reader), fmt)
    spec, detection = detect_source(cols, file=str(file))
    if fmt == "csv" and spec.csv_options:
        reader = _files.reader_sql([file], fmt, options=spec.csv_options)
        cols = RawColumns.of(wh.describe(reader), fmt)
    mapping = spec.build_mapping(cols, detection)
    splits = spec.split_rows(cols, detection) if spec.split_rows is not None else []
    full = lineage(mapping, kind=detection.kind, files_expr=lit(str(file)), ingestion_id="prof")
    wh.close()
    return select_sql(full, reader, splits), reader, cols


def _fresh_warehouse(workdir: Path, name: str) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(workdir / f"{name}.duckdb", memory_limit="2GB", temp_directory=workdir)
    wh.ensure_schema()
    return wh


def anatomy(file: Path, workdir: Path) -> tuple[Log, str]:
    """Variants of the INSERT on fresh databases; plus EXPLAIN ANALYZE of the INSERT."""
    select, reader, _ = mapping_select(file)
    cols = ", ".join(f'"{c.name}"' for c in STORE_COLUMNS)
    log: Log = []
    variants = [
        ("COPY (SELECT * FROM reader) TO parquet", f"COPY (SELECT * FROM {reader}) TO "),
        ("COPY (<mapping SELECT>) TO parquet", f"COPY ({select}) TO "),
    ]
    for i, (label, sql) in enumerate(variants):
        wh = _fresh_warehouse(workdir, f"v{i}")
        started = time.perf_counter()
        wh.con.execute(sql + f"'{workdir}/v{i}.parquet' (FORMAT parquet)")
        log.append([label, time.perf_counter() - started])
        wh.close()
    wh = _fresh_warehouse(workdir, "insert")
    started = time.perf_counter()
    wh.con.execute("BEGIN TRANSACTION")
    wh.con.execute(f"INSERT INTO cost ({cols}) {select}")
    log.append(["INSERT INTO cost <mapping SELECT>", time.perf_counter() - started])
    started = time.perf_counter()
    wh.con.execute("COMMIT")
    log.append(["COMMIT of that INSERT", time.perf_counter() - started])
    wh.close()
    wh = _fresh_warehouse(workdir, "explain")
    wh.con.execute("PRAGMA enable_profiling = 'json'")
    plan = wh.con.execute(f"EXPLAIN ANALYZE INSERT INTO cost ({cols}) {select}").fetchall()
    wh.close()
    return log, _operators(json.loads(str(plan[0][-1])))


def _operators(profile: dict[str, Any]) -> str:
    """The operator tree of a DuckDB JSON profile: name, seconds, rows out."""
    lines = [f"query total {profile.get('latency', 0.0):.2f} s (CPU time per operator below)"]

    def walk(node: dict[str, Any], depth: int) -> None:
        name = node.get("operator_name") or node.get("name") or "?"
        seconds = node.get("operator_timing", node.get("timing", 0.0))
        rows = node.get("operator_cardinality", node.get("intermediate_rows", 0))
        if name not in ("RESULT_COLLECTOR", "EXPLAIN_ANALYZE"):
            lines.append(f"{'  ' * depth}{name.strip()}: {seconds:.2f} s, {rows:,} rows")
        for child in node.get("children", []):
            walk(child, depth + 1)

    for child in profile.get("children", profile.get("operator", [])):
        walk(child, 0)
    return "\n".join(lines)


def per_column(file: Path, sample_rows: int) -> list[tuple[str, float, float, str]]:
    """(column, expression seconds, raw-read seconds, raw columns) on an in-memory sample.

    Each column is built by the pipeline's own ``select_sql`` (so money conversions are
    hoisted the way the real INSERT does it) from a mapping holding only that column.
    """
    _, reader, cols = mapping_select(file)
    wh = DuckDBWarehouse(None)
    wh.con.execute(f"CREATE TEMP TABLE raw AS SELECT * FROM {reader} LIMIT {sample_rows}")
    spec, detection = detect_source(cols, file=str(file))
    mapping = spec.build_mapping(cols, detection)
    out: list[tuple[str, float, float, str]] = []
    for col in STORE_COLUMNS:
        field = mapping.get(col.name)
        if field is None or field.expr == "NULL":
            continue
        one = select_sql({col.name: field}, "raw")
        started = time.perf_counter()
        wh.con.execute(f'SELECT count("{col.name}") FROM ({one})').fetchone()
        expr_s = time.perf_counter() - started
        srcs = [s for s in field.sources if s in cols.types]
        base_s = 0.0
        if srcs:
            counts = ", ".join(f'count("{s}")' for s in srcs)
            started = time.perf_counter()
            wh.con.execute(f"SELECT {counts} FROM raw").fetchone()
            base_s = time.perf_counter() - started
        out.append((col.name, expr_s, base_s, ", ".join(srcs)))
    wh.close()
    return sorted(out, key=lambda r: r[1] - r[2], reverse=True)


def _cpu() -> float:
    """CPU seconds of this process, DuckDB's threads included (steadier than wall time on a
    machine shared with other sessions)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _general_tags(cols: RawColumns) -> str | None:
    """The Tags expression without the fast paths of ``costline.sources.aws.tags``."""
    col = cols.find("resource_tags")
    if col is not None and cols.type_of(col).startswith("MAP"):
        return aws_tags._renamed(f'costline_tags_from_map("{col}")')
    names = cols.with_prefix(aws_tags.CSV_PREFIX) or cols.with_prefix(aws_tags.ATHENA_PREFIX)
    if not names:
        return None
    keys = ", ".join(lit(aws_tags.tag_key(n)).expr for n in names)
    values = ", ".join(raw(cols, n) or "NULL" for n in names)
    return f"costline_tags_from_lists([{keys}], [{values}])"


def tag_variants(file: Path, sample_rows: int) -> list[tuple[str, float, float]]:
    """(label, wall s, CPU s) of the mapping's Tags and of the general path, on a sample."""
    _, reader, cols = mapping_select(file)
    general = _general_tags(cols)
    if general is None:
        return []
    spec, detection = detect_source(cols, file=str(file))
    current = spec.build_mapping(cols, detection)["Tags"].expr
    wh = DuckDBWarehouse(None)
    wh.con.execute(f"CREATE TEMP TABLE raw AS SELECT * FROM {reader} LIMIT {sample_rows}")
    variants = [
        ("read the raw tag columns only", ", ".join(f'count("{s}")' for s in _sources(cols))),
        ("Tags as mapped (fast paths, general path for other rows)", f"count({current})"),
        ("general path only (trim, rename, first key wins)", f"count({general})"),
    ]
    out: list[tuple[str, float, float]] = []
    for label, expr in variants:
        started, cpu = time.perf_counter(), _cpu()
        wh.con.execute(f"SELECT {expr} FROM raw").fetchone()
        out.append((label, time.perf_counter() - started, _cpu() - cpu))
    differ = wh.con.execute(
        f"SELECT count(*) FROM raw WHERE CAST({current} AS VARCHAR) "
        f"IS DISTINCT FROM CAST({general} AS VARCHAR)"
    ).fetchone()
    out.append((f"rows where the two differ: {differ[0] if differ else '?'}", 0.0, 0.0))
    wh.close()
    return out


def _sources(cols: RawColumns) -> list[str]:
    col = cols.find("resource_tags")
    if col is not None:
        return [col]
    return cols.with_prefix(aws_tags.CSV_PREFIX) or cols.with_prefix(aws_tags.ATHENA_PREFIX)


def _select_with(file: Path, **patches: Any) -> str:
    """The mapping SELECT with some of ``costline.ingest.plan``'s steps switched off."""
    saved = {name: getattr(plan, name) for name in patches}
    for name, value in patches.items():
        setattr(plan, name, value)
    try:
        return mapping_select(file)[0]
    finally:
        for name, value in saved.items():
            setattr(plan, name, value)


_NO_ORDER = "SET preserve_insertion_order = false"


def what_if(file: Path, workdir: Path, repeat: int = 1) -> Log:
    """The INSERT as the pipeline builds it, and without each of ``select_sql``'s steps
    (computing raw text once, sharing embedded columns), to show what each one saves."""
    no_text = re.compile(r"(?!)")  # matches nothing: every raw text value inline

    def no_share(*_: Any) -> list[dict[str, str]]:
        return []

    today = mapping_select(file)[0]
    variants: list[tuple[str, str, list[str]]] = [
        ("INSERT as today", today, []),
        ("raw text computed once also when read once", _select_with(file, _TEXT_MIN_USES=1), []),
        (
            "split numbers joined above the shared values",
            _select_with(file, _SPLITS_BELOW=False),
            [],
        ),
        (
            "both of the two above",
            _select_with(file, _TEXT_MIN_USES=1, _SPLITS_BELOW=False),
            [],
        ),
        ("without sharing and raw text", _select_with(file, _share=no_share, _TEXT=no_text), []),
        ("today, SET preserve_insertion_order = false", today, [_NO_ORDER]),
    ]
    names = ", ".join(f'"{c.name}"' for c in STORE_COLUMNS)
    log: Log = []
    baseline: Any = None
    runs = [(i, v) for _ in range(repeat) for i, v in enumerate(variants)]
    for n, (i, (label, sql, settings)) in enumerate(runs):
        wh = _fresh_warehouse(workdir, f"whatif{n}")
        for setting in settings:
            wh.con.execute(setting)
        started, cpu = time.perf_counter(), _cpu()
        wh.con.execute("BEGIN TRANSACTION")
        wh.con.execute(f"INSERT INTO cost ({names}) {sql}")
        wh.con.execute("COMMIT")
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu
        row = wh.con.execute("SELECT sum(hash(c)) FROM cost c").fetchone()
        wh.close()
        (workdir / f"whatif{n}.duckdb").unlink()
        baseline = row if baseline is None else baseline
        if i > 0:
            label += " (same rows)" if row == baseline else " (ROWS DIFFER)"
        log.append([label, seconds, cpu])
    return log


def _print_log(title: str, log: Log, total: float | None = None) -> None:
    merged: dict[str, list[float]] = {}
    for label, seconds in log:
        merged.setdefault(label, []).append(seconds)
    whole = total if total is not None else sum(sum(v) for v in merged.values())
    print(f"\n### {title}\n\n| step | calls | seconds | share |\n|---|---:|---:|---:|")
    for label, values in sorted(merged.items(), key=lambda kv: -sum(kv[1])):
        share = sum(values) / whole * 100 if whole else 0.0
        print(f"| {label} | {len(values)} | {sum(values):.2f} | {share:.0f}% |")
    if total is not None:
        print(f"| **total (Ingestor.run)** | | **{total:.2f}** | |")


def _print_what_if(log: Log) -> None:
    merged: dict[str, list[tuple[float, float]]] = {}
    for label, seconds, cpu in log:
        merged.setdefault(label, []).append((seconds, cpu))
    first = next(iter(merged.values()))
    base = statistics.median(w for w, _ in first), statistics.median(c for _, c in first)
    print("\n### what if: INSERT + COMMIT variants (fresh databases)\n")
    print(
        "| variant | runs | median wall s | min wall s | vs today | median CPU s | vs today |"
        "\n|---|---:|---:|---:|---:|---:|---:|"
    )
    for label, values in merged.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(
            f"| {label} | {len(values)} | {wall:.2f} | {min(w for w, _ in values):.2f} "
            f"| {wall / base[0]:.2f}× | {cpu:.2f} | {cpu / base[1]:.2f}× |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--columns", action="store_true", help="also time each column")
    parser.add_argument("--sample-rows", type=int, default=1_000_000)
    parser.add_argument("--tag-variants", action="store_true", help="time Tags alternatives")
    parser.add_argument("--what-if", action="store_true", help="time the proposed changes")
    parser.add_argument("--repeat", type=int, default=1, help="runs per --what-if variant")
    parser.add_argument("--skip-phases", action="store_true")
    parser.add_argument("--skip-anatomy", action="store_true")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).resolve().parent / "data")
    args = parser.parse_args(argv)
    file = args.file.resolve()
    workdir = Path(tempfile.mkdtemp(prefix="profile-", dir=args.work_dir))
    try:
        print(f"## {file.name} (costline sources {src_digest()})")
        if not args.skip_phases:
            log, total, rows = phases(file, workdir / "phases")
            _print_log(f"phases of Ingestor.run ({rows:,} rows)", log, total)
        if not args.skip_anatomy:
            (workdir / "anatomy").mkdir()
            log, plan = anatomy(file, workdir / "anatomy")
            _print_log("the INSERT and its variants (fresh databases)", log)
            print("\n### EXPLAIN ANALYZE INSERT\n\n```\n" + plan + "\n```")
        if args.columns:
            rows_out = per_column(file, args.sample_rows)
            print(f"\n### per column, {args.sample_rows:,} rows in memory (slowest first)\n")
            print("| column | expression s | raw read s | extra s | raw columns |")
            print("|---|---:|---:|---:|---|")
            for name, expr_s, base_s, srcs in rows_out:
                print(f"| {name} | {expr_s:.3f} | {base_s:.3f} | {expr_s - base_s:.3f} | {srcs} |")
        if args.what_if:
            (workdir / "whatif").mkdir()
            _print_what_if(what_if(file, workdir / "whatif", args.repeat))
        if args.tag_variants:
            print(f"\n### Tags expression variants, {args.sample_rows:,} rows in memory\n")
            print("| variant | wall s | CPU s |\n|---|---:|---:|")
            for label, seconds, cpu in tag_variants(file, args.sample_rows):
                print(f"| {label} | {seconds:.2f} | {cpu:.2f} |")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
