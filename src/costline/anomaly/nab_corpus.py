"""Read a NAB corpus folder: ``data/<group>/<file>.csv`` plus ``labels/combined_windows.json``.

This is the I/O shell around :mod:`costline.anomaly.nab`, which only scores. The layout is
numenta/NAB's: each data file has the columns ``timestamp,value`` (one row per time step) and
the label file maps ``"group/file.csv"`` to a list of ``[start, end]`` window
timestamps (NAB writes them with a ``.000000`` suffix) that must equal rows of the file.

Example:
    >>> from pathlib import Path
    >>> files = load_corpus(Path("../shared/reference-data/nab"))  # doctest: +SKIP
    >>> len(files), sum(len(f.windows) for f in files)  # doctest: +SKIP
    (30, 55)
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from costline.anomaly.nab import NabFile
from costline.core.errors import BadInputError, Location

__all__ = ["load_corpus", "read_series"]


def _parse_time(text: str, where: Location, fix: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInputError(
            "not a timestamp", location=where, reason="nab-bad-timestamp", hint=fix
        ) from None


def read_series(
    path: Path, name: str | None = None
) -> tuple[tuple[datetime, ...], tuple[float, ...]]:
    """Read a NAB ``timestamp,value`` CSV, rows kept in file order.

    NAB scores rows by position; timestamps only locate window edges. The corpus has repeated
    timestamps (daylight-saving changes) and one step back in time, so order is not checked.

    Raises:
        BadInputError: wrong header, or an unparsable row (file, row and column named).
    """
    label = name or str(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        if header != ["timestamp", "value"]:
            raise BadInputError(
                f"header is {header!r}",
                location=Location(label),
                reason="nab-bad-header",
                hint="a NAB data file starts with 'timestamp,value'",
            )
        times: list[datetime] = []
        values: list[float] = []
        for row, record in enumerate(reader, start=1):
            if len(record) != 2:
                raise BadInputError(
                    f"{len(record)} fields instead of 2",
                    location=Location(label, row=row),
                    reason="nab-bad-row",
                    hint="each row is 'timestamp,value'",
                )
            at = Location(label, row=row, column="timestamp", value=record[0])
            time = _parse_time(record[0], at, "write timestamps as 'YYYY-MM-DD HH:MM:SS'")
            times.append(time)
            values.append(_parse_value(record[1], Location(label, row, "value", record[1])))
    return tuple(times), tuple(values)


def _parse_value(text: str, where: Location) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadInputError(
            "not a finite number",
            location=where,
            reason="nab-bad-value",
            hint="write the value as a plain decimal number",
        )
    return value


def _read_labels(path: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    fix = 'the file maps "group/file.csv" to a list of ["start", "end"] timestamp pairs'
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(
            "window labels not found",
            location=Location(str(path)),
            reason="nab-no-labels",
            hint="pass the NAB folder that holds labels/ and data/",
        ) from None
    except json.JSONDecodeError as exc:
        raise BadInputError(
            f"invalid JSON: {exc.msg}",
            location=Location(str(path), row=exc.lineno),
            reason="nab-bad-labels",
            hint=fix,
        ) from None
    if not isinstance(raw, dict):
        raise BadInputError(
            "not a JSON object", location=Location(str(path)), reason="nab-bad-labels", hint=fix
        )
    labels = {}
    for name, pairs in raw.items():
        where = Location(str(path), column=name, value=json.dumps(pairs)[:60])
        if not isinstance(pairs, list) or any(
            not (isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p))
            for p in pairs
        ):
            raise BadInputError(
                "windows are not [start, end] pairs",
                location=where,
                reason="nab-bad-labels",
                hint=fix,
            )
        labels[name] = [(_parse_time(a, where, fix), _parse_time(b, where, fix)) for a, b in pairs]
    return labels


def _window_rows(
    name: str, times: Sequence[datetime], windows: Sequence[tuple[datetime, datetime]]
) -> tuple[tuple[int, int], ...]:
    index: dict[datetime, int] = {}
    for row, time in enumerate(times):
        index.setdefault(time, row)  # NOTE: first row with the timestamp, as NAB's list.index
    rows = []
    for start, end in windows:
        for edge in (start, end):
            if edge not in index:
                raise BadInputError(
                    f"window edge {edge} is not a timestamp of the file",
                    location=Location(name, column="timestamp", value=str(edge)),
                    reason="nab-window-edge",
                    hint="window timestamps in labels/combined_windows.json must equal CSV rows",
                )
        rows.append((index[start], index[end]))
    return tuple(rows)


def load_corpus(folder: Path) -> tuple[NabFile, ...]:
    """Load a NAB folder: every CSV under ``data/`` with its windows from ``labels/``.

    Label entries for files that are not present are ignored (a subset of NAB is normal);
    a CSV without a label entry is an error, since its anomalies would be unknown.

    Raises:
        BadInputError: missing or invalid labels, a bad CSV, an unlabelled CSV, a window edge
            that is not a row of its file, or no data file at all.
    """
    labels = _read_labels(folder / "labels" / "combined_windows.json")
    data = folder / "data"
    present = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.csv"))
    unlabelled = [name for name in present if name not in labels]
    if unlabelled:
        raise BadInputError(
            "data file has no entry in labels/combined_windows.json",
            location=Location(str(data / unlabelled[0])),
            reason="nab-unlabelled",
            hint=f'add "{unlabelled[0]}": [] (no anomalies) or its windows to the labels',
        )
    if not present:
        raise BadInputError(
            "no CSV data files",
            location=Location(str(data)),
            reason="nab-empty",
            hint="pass the NAB folder that holds data/",
        )
    files = []
    for name in present:
        times, values = read_series(data / name, name)
        files.append(NabFile(name, times, values, _window_rows(name, times, labels[name])))
    return tuple(files)
