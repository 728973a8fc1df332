"""Ingest files into the cost store.

For each input file: checksum (a file seen before is a no-op), recognise the container format
and the export kind, keep an immutable landing copy, then load it in one transaction that
replaces every (provider, billing account, billing period) partition the file covers. A bad
file is copied to ``landing/quarantine/`` with a ``.reason.json`` beside it and the rest of the
batch still loads.

Example:
    >>> from costline.storage.duckdb import DuckDBWarehouse
    >>> wh = DuckDBWarehouse(None); wh.ensure_schema()
    >>> Ingestor(wh, landing_dir=None, quarantine_dir=None).run([]).loaded_rows
    0
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb

from costline.core.errors import (
    BadInputError,
    CostlineError,
    Location,
    NotCostDataError,
    SourceError,
)
from costline.core.progress import NoProgress, Progress
from costline.core.time import utcnow
from costline.ingest import diagnose, manifests
from costline.ingest.plan import check_required, lineage, select_sql
from costline.schema.focus import REQUIRED_NOT_NULL
from costline.sources import _files
from costline.sources._sql import lit
from costline.sources.base import Detection, Field, RawColumns, SourceSpec
from costline.sources.registry import detect_source
from costline.storage.base import EngineAdapter, LoadPlan, LoadResult

Status = Literal[
    "loaded", "unchanged", "duplicate", "skipped", "manifest", "quarantined", "missing"
]
# Part numbers of one export: CUR "-00001.", BigQuery extract shards "-000000000000.", Azure
# partitioned exports "part_0_0001.". Dates (8 digits) are not parts: two dated month-to-date
# exports of one period must not be added together.
_PART = re.compile(r"(?i)(?:[-_]part[-_]?\d+|[-_](?:\d{5}|\d{12})(?=\.)|_\d+_\d+(?=\.))")


@dataclass
class FileOutcome:
    """What happened to one input file."""

    file: str
    status: Status
    kind: str | None = None
    rows: int = 0
    message: str = ""
    ingestion_id: str | None = None
    seconds: float = 0.0
    error: CostlineError | None = None
    quarantined_to: str | None = None  # the quarantined copy, for a quarantined file


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    loads: list[LoadResult] = field(default_factory=list)

    @property
    def loaded_rows(self) -> int:
        return sum(load.rows for load in self.loads)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status in ("quarantined", "missing")]


@dataclass
class _Prepared:
    path: Path
    sha256: str
    fmt: str
    cols: RawColumns
    spec: SourceSpec
    detection: Detection
    previous: str | None = None


def expand_inputs(
    inputs: Iterable[str | Path], *, skip: Sequence[Path] = ()
) -> tuple[list[Path], list[str]]:
    """Files named by paths, directories (recursive) and globs; also the inputs that matched nothing."""
    found: dict[Path, None] = {}
    missing: list[str] = []
    skip_resolved = [s.resolve() for s in skip]
    for item in inputs:
        text = str(item)
        if any(ch in text for ch in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))]
        else:
            matches = [Path(text)]
        hits = 0
        for match in matches:
            if match.is_dir():
                files = sorted(
                    p
                    for p in match.rglob("*")
                    if p.is_file() and not _hidden(p, match) and _is_data_name(p)
                )
            elif match.is_file():
                files = [match]
            else:
                files = []
            for f in files:
                r = f.resolve()
                if any(r.is_relative_to(s) for s in skip_resolved):
                    continue
                found.setdefault(r, None)
                hits += 1
        if hits == 0:
            missing.append(text)
    return list(found), missing


DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".gz", ".json", ".ndjson", ".jsonl", ".tsv")


def _is_data_name(path: Path) -> bool:
    """Inside a folder only export-like names are read (a README or LICENSE is not an export)."""
    return path.name.lower().endswith(DATA_SUFFIXES)


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def sha256_of(path: Path) -> str:
    # file_digest reads into one reused buffer (no new 4 MiB bytes object per chunk).
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class Ingestor:
    """Runs one ingest batch against a warehouse."""

    def __init__(
        self,
        warehouse: EngineAdapter,
        *,
        landing_dir: Path | None,
        quarantine_dir: Path | None,
        progress: Progress | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.landing_dir = landing_dir
        self.quarantine_dir = quarantine_dir
        self.progress = progress or NoProgress()
        self._kind: str | None = None

    # -- public -----------------------------------------------------------------------------
    def run(self, inputs: Iterable[str | Path], *, kind: str | None = None) -> IngestReport:
        """Ingest files, folders and globs; ``kind`` forces one source instead of detection."""
        self._kind = kind
        skip = [d for d in (self.landing_dir, self.quarantine_dir) if d is not None]
        files, missing = expand_inputs(inputs, skip=skip)
        report = IngestReport()
        for text in missing:
            report.outcomes.append(
                FileOutcome(text, "missing", message="no such file, directory or glob match")
            )
        files, units_by_file = self._apply_manifests(files, report)
        multi = _multi_file_units(files, units_by_file)
        prepared: list[_Prepared] = []
        seen: dict[str, Path] = {}
        for path in files:
            outcome = self._prepare(path, seen, prepared, in_multi_unit=path in multi)
            if outcome is not None:
                report.outcomes.append(outcome)
        for unit in _group_parts(prepared, units_by_file):
            self._load_unit(unit, report)
        return report

    def _apply_manifests(
        self, files: list[Path], report: IngestReport
    ) -> tuple[list[Path], dict[Path, str]]:
        """Use CUR manifests: load only current assemblies, each as one unit; refuse partial ones."""
        found = [
            m
            for f in files
            if manifests.is_manifest_name(f)
            if (m := manifests.read_manifest(f)) is not None
        ]
        if not found:
            return files, {}
        paths = {m.path for m in found}
        data = [f for f in files if f not in paths]
        outer = [
            m
            for m in found
            if not any(
                o is not m and m.path.parent.is_relative_to(o.scope) and m.path.parent != o.scope
                for o in found
            )
        ]
        units: dict[Path, str] = {}
        dropped: set[Path] = set()
        for m in found:
            if m not in outer:
                report.outcomes.append(
                    FileOutcome(
                        str(m.path),
                        "skipped",
                        message=(
                            "inner assembly manifest; the billing period's top manifest decides"
                        ),
                    )
                )
                continue
            named, absent = manifests.resolve(m, data)
            scope_dirs = {m.scope, *(f.parent for f in named)}
            for f in data:
                if (
                    f not in named
                    and f not in units
                    and (f.is_relative_to(m.scope) or f.parent in scope_dirs)
                ):
                    dropped.add(f)
                    report.outcomes.append(
                        FileOutcome(
                            str(f),
                            "skipped",
                            message=(
                                f"superseded: not in the current manifest {m.path.name} "
                                f"(assembly {m.assembly}); an older export run"
                            ),
                        )
                    )
            if absent:
                dropped.update(named)
                exc = BadInputError(
                    f"incomplete export: the manifest lists {len(m.keys)} data file(s) and "
                    f"{len(absent)} are missing (e.g. {absent[0]}); none of it was loaded",
                    location=Location(str(m.path)),
                    reason="incomplete-export",
                    hint="download every file the manifest names, then ingest the folder again",
                )
                copy = self._quarantine(m.path, None, exc)
                report.outcomes.append(
                    FileOutcome(
                        str(m.path), "quarantined", message=str(exc), error=exc, quarantined_to=copy
                    )
                )
                continue
            for f in named:
                units[f] = str(m.path)
            report.outcomes.append(
                FileOutcome(
                    str(m.path),
                    "manifest",
                    message=(
                        f"CUR manifest (assembly {m.assembly}): {len(named)} data file(s) load as one export"
                    ),
                )
            )
        return [f for f in data if f not in dropped], units

    # -- steps ------------------------------------------------------------------------------
    def _prepare(
        self, path: Path, seen: dict[str, Path], out: list[_Prepared], *, in_multi_unit: bool
    ) -> FileOutcome | None:
        sha: str | None = None
        try:
            sha = sha256_of(path)
            if sha in seen:
                return FileOutcome(
                    str(path),
                    "duplicate",
                    message=f"same content as {seen[sha]} in this batch; skipped",
                )
            seen[sha] = path
            previous = self.warehouse.known_sha256(sha)
            # A part of a multi-file export is checked with its unit: if any part is new, the
            # whole unit reloads (loading only the new part would replace the partition with it).
            if previous is not None and not in_multi_unit:
                return FileOutcome(
                    str(path),
                    "unchanged",
                    ingestion_id=previous,
                    message=f"already ingested (ingestion {previous}); nothing to do",
                )
            fmt = _files.sniff_format(path)
            cols = self._describe(path, fmt)
            spec, detection = detect_source(cols, file=str(path), kind=self._kind)
            if "not_cost" in detection.details:
                raise NotCostDataError(
                    detection.details["not_cost"],
                    location=Location(str(path)),
                    hint="costline stores Cost and Usage data; pass that export",
                )
            if fmt == "csv" and spec.csv_options:
                cols = self._describe(path, fmt, spec.csv_options)
            out.append(_Prepared(path, sha, fmt, cols, spec, detection, previous))
            return None
        except NotCostDataError as exc:
            return FileOutcome(str(path), "skipped", message=str(exc), error=exc)
        except SourceError as exc:
            copy = self._quarantine(path, sha, exc)
            return FileOutcome(
                str(path), "quarantined", message=str(exc), error=exc, quarantined_to=copy
            )

    def _describe(self, path: Path, fmt: str, options: Any = None) -> RawColumns:
        reader = _files.reader_sql([path], fmt, options=options)  # type: ignore[arg-type]
        try:
            types = self.warehouse.describe(reader)
        except duckdb.Error as exc:
            raise BadInputError(
                f"cannot read the file as {fmt}: {_duck_message(exc)}",
                location=Location(str(path)),
                reason=f"unreadable-{fmt}",
                hint="the file is damaged or not a billing export; fetch it again",
            ) from exc
        return RawColumns.of(types, fmt)  # type: ignore[arg-type]

    def _load_unit(self, unit: list[_Prepared], report: IngestReport) -> None:
        first = unit[0]
        if all(p.previous is not None for p in unit):
            for p in unit:
                report.outcomes.append(
                    FileOutcome(
                        str(p.path),
                        "unchanged",
                        p.detection.kind,
                        ingestion_id=p.previous,
                        message=f"already ingested (ingestion {p.previous}); nothing to do",
                    )
                )
            return
        names = [str(p.path) for p in unit]
        label = first.path.name + (f" (+{len(unit) - 1} parts)" if len(unit) > 1 else "")
        size = sum(p.path.stat().st_size for p in unit)
        self.progress.start(f"ingest {label}", total=size)
        ingestion_id = f"ing_{utcnow():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"
        options = first.spec.csv_options if first.fmt == "csv" else None
        reader = _files.reader_sql(
            [p.path for p in unit],
            first.fmt,  # type: ignore[arg-type]
            options={**(options or {}), **({"filename": True} if len(unit) > 1 else {})},
        )
        try:
            mapping = first.spec.build_mapping(first.cols, first.detection)
            check_required(mapping, file=names[0], kind=first.detection.kind)
            split_fn = first.spec.split_rows
            splits = split_fn(first.cols, first.detection) if split_fn is not None else []
            files_expr = Field("filename") if len(unit) > 1 else lit(names[0])
            full = lineage(
                mapping, kind=first.detection.kind, files_expr=files_expr, ingestion_id=ingestion_id
            )
            plan = LoadPlan(
                ingestion_id=ingestion_id,
                select_sql=select_sql(full, reader, splits),
                files=tuple(names),
                sha256=tuple(p.sha256 for p in unit),
                bytes=size,
                source_kind=first.detection.kind,
                replace_scope=first.spec.replace_scope,
                provider=first.detection.provider,
                validate=lambda con: _validate(
                    con, ingestion_id, mapping, first.cols, reader, names[0]
                ),
            )
            for p in unit:
                self._land(p)
            result = self._load(plan, mapping, first.cols, reader, names[0])
        except SourceError as exc:
            for p in unit:
                copy = self._quarantine(p.path, p.sha256, exc)
                report.outcomes.append(
                    FileOutcome(
                        str(p.path),
                        "quarantined",
                        first.detection.kind,
                        message=str(exc),
                        error=exc,
                        quarantined_to=copy,
                    )
                )
            self.progress.warn(str(exc))
            return
        report.loads.append(result)
        rate = result.rows / result.seconds if result.seconds else 0.0
        msg = (
            f"{result.rows:,} rows, {len(result.partitions)} partition(s)"
            + (f", replaced {result.replaced_rows:,} older rows" if result.replaced_rows else "")
            + f", {rate:,.0f} rows/s"
            + "".join(f"; note: {n}" for n in first.detection.notes)
        )
        for p in unit:
            report.outcomes.append(
                FileOutcome(
                    str(p.path),
                    "loaded",
                    first.detection.kind,
                    rows=result.rows if p is first else 0,
                    message=msg,
                    ingestion_id=ingestion_id,
                    seconds=result.seconds,
                )
            )
        self.progress.finish(f"{label}: {first.detection.kind}, {msg}")

    def _load(
        self, plan: LoadPlan, mapping: dict[str, Field], cols: RawColumns, reader: str, file: str
    ) -> LoadResult:
        try:
            size = plan.bytes
            return self.warehouse.load(
                plan, on_progress=lambda pct: self.progress.update(completed=size * pct / 100)
            )
        except duckdb.Error as exc:
            con = getattr(self.warehouse, "con", None)
            found = None
            if con is not None:
                try:
                    found = diagnose.find_bad_value(
                        con, mapping=mapping, cols=cols, reader=reader, file=file
                    )
                except duckdb.Error:
                    found = None
            if found is not None:
                raise found from exc
            raise BadInputError(
                f"the file could not be loaded: {_duck_message(exc)}",
                location=Location(file),
                reason="unreadable",
                hint="fix the row DuckDB names above, or re-export the file",
            ) from exc

    # -- landing and quarantine -------------------------------------------------------------
    def _land(self, prepared: _Prepared) -> None:
        if self.landing_dir is None:
            return
        target = (
            self.landing_dir
            / prepared.detection.provider
            / f"{prepared.sha256[:16]}-{prepared.path.name}"
        )
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(prepared.path, tmp)
        tmp.replace(target)
        target.chmod(0o444)

    def _quarantine(self, path: Path, sha: str | None, exc: SourceError) -> str | None:
        """Copy a bad file to quarantine with its ``.reason.json``; returns the copy's path
        (None without a quarantine folder)."""
        if self.quarantine_dir is None:
            return None
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        # Named by content: the same bad file sent again updates its reason, not a new copy.
        target = self.quarantine_dir / f"{(sha or 'unread')[:16]}-{path.name}"
        if path.exists() and not target.exists():
            shutil.copyfile(path, target)
        loc = exc.location
        reason = {
            "file": str(path),
            "sha256": sha,
            "reason": exc.reason,
            "message": exc.message,
            "hint": exc.hint,
            "row": loc.row,
            "column": loc.column,
            "value": loc.value,
            "quarantined_at": f"{utcnow():%Y-%m-%dT%H:%M:%SZ}",
        }
        target.with_name(target.name + ".reason.json").write_text(
            json.dumps(reason, indent=2) + "\n"
        )
        return str(target)


def _validate(
    con: Any, ingestion_id: str, mapping: dict[str, Field], cols: RawColumns, reader: str, file: str
) -> None:
    """Checks on the rows just inserted, inside the load transaction (a failure rolls back)."""
    nulls = ", ".join(f'count(*) FILTER (WHERE "{c}" IS NULL)' for c in REQUIRED_NOT_NULL)
    row = con.execute(
        f"SELECT count(*), {nulls} FROM cost WHERE x_IngestionId = ?", [ingestion_id]
    ).fetchone()
    if not row or row[0] == 0:
        raise BadInputError(
            "the file has a header but no data rows",
            location=Location(file),
            reason="no-rows",
            hint="re-export the period; an export of a billed "
            "period always has at least one line item",
        )
    if any(row[1:]):
        found = diagnose.find_null_required(
            con, mapping=mapping, cols=cols, reader=reader, file=file, names=REQUIRED_NOT_NULL
        )
        bad = [c for c, n in zip(REQUIRED_NOT_NULL, row[1:], strict=True) if n]
        raise found or BadInputError(
            f"empty mandatory values in {', '.join(bad)}",
            location=Location(file),
            reason="missing-value",
        )
    mixed = con.execute(
        """SELECT x_Provider, BillingAccountId, BillingPeriodStart, list(DISTINCT BillingCurrency ORDER BY BillingCurrency)
           FROM cost WHERE x_IngestionId = ? GROUP BY ALL HAVING count(DISTINCT BillingCurrency) > 1
           LIMIT 1""",
        [ingestion_id],
    ).fetchone()
    if mixed:
        raise BadInputError(
            f"mixed billing currencies {', '.join(mixed[3])} for billing account {mixed[1]} in "
            f"period {mixed[2]:%Y-%m}",
            location=Location(file, column="BillingCurrency"),
            reason="mixed-currency",
            hint="a billing account is invoiced in one currency per period; split the export "
            "per currency or fix the rows that differ",
        )


def _multi_file_units(files: list[Path], units_by_file: dict[Path, str]) -> set[Path]:
    """Files that belong to a unit of several files (by manifest or by part naming)."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for f in files:
        stem = _PART.sub("#", f.name)
        if f in units_by_file:
            groups.setdefault((units_by_file[f], ""), []).append(f)
        elif stem != f.name:
            groups.setdefault((str(f.parent), stem), []).append(f)
    return {f for members in groups.values() if len(members) > 1 for f in members}


def _group_parts(
    prepared: list[_Prepared], units_by_file: dict[Path, str]
) -> list[list[_Prepared]]:
    """Files one manifest names, and multi-part exports (``-00001.csv.gz``, ``part_0_0001.csv``)
    in one folder, load as one unit."""
    groups: dict[tuple[str, str, str, str], list[_Prepared]] = {}
    for p in prepared:
        stem = _PART.sub("#", p.path.name)
        if p.path in units_by_file:
            key = (units_by_file[p.path], p.detection.kind, p.fmt, "manifest")
        elif stem != p.path.name:
            key = (str(p.path.parent), p.detection.kind, p.fmt, stem)
        else:
            key = (str(p.path), p.detection.kind, p.fmt, "")
        groups.setdefault(key, []).append(p)
    units = list(groups.values())
    units.sort(key=lambda u: (min(p.path.stat().st_mtime for p in u), str(u[0].path)))
    return units


def _duck_message(exc: BaseException) -> str:
    """DuckDB's message without the echoed SQL (``LINE 1: ...`` and the caret line)."""
    lines = []
    for line in str(exc).strip().splitlines():
        if line.startswith("LINE ") or not line.strip():
            break
        lines.append(line.strip())
    return " ".join(lines)[:500] if lines else type(exc).__name__
