"""The anomaly store: the ``anomalies`` and ``anomaly_feedback`` tables, how a run's flags open,
update and resolve anomalies (one per series episode), feedback, listing, and what to alert.

Plain SQL on the connection it is given (like allocation); it imports no storage code.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from costline.anomaly.rootcause import root_cause
from costline.anomaly.series import CENT, DetectReport, Flag, SeriesResult
from costline.config.anomalies import AnomaliesConfig, Monitor

# Impact (|actual − expected| over the anomaly's days) at or above which a severity applies.
SEVERITY = (("critical", Decimal(50_000)), ("high", Decimal(5_000)), ("medium", Decimal(500)))
SEVERITY_ORDER = ("low", "medium", "high", "critical")
# A dismissal raises the series' z threshold by this factor (feedback the detector learns from).
DISMISS_BOOST = 1.25

ANOMALIES_DDL = """CREATE TABLE IF NOT EXISTS anomalies (
  id VARCHAR, monitor VARCHAR, series_key VARCHAR, dims VARCHAR,
  currency VARCHAR, status VARCHAR, kind VARCHAR, severity VARCHAR,
  first_day DATE, last_day DATE, peak_day DATE,
  expected DECIMAL(38, 10), actual DECIMAL(38, 10), impact DECIMAL(38, 10), impact_pct DOUBLE,
  z DOUBLE, team VARCHAR, root_cause VARCHAR, days VARCHAR, revision INTEGER,
  created_at TIMESTAMP, updated_at TIMESTAMP, feedback VARCHAR, reason VARCHAR,
  estimated BOOLEAN)"""

FEEDBACK_DDL = """CREATE TABLE IF NOT EXISTS anomaly_feedback (
  series_key VARCHAR, anomaly_id VARCHAR, kind VARCHAR, reason VARCHAR, given_at TIMESTAMP,
  first_day DATE, last_day DATE)"""

FEEDBACK_KINDS = ("ack", "dismiss", "expected")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ANOMALIES_DDL)
    # NOTE: workspaces made before estimates lack the column; it goes last, as in the DDL
    con.execute("ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS estimated BOOLEAN")
    con.execute(FEEDBACK_DDL)


def boosts(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    rows = con.execute(
        "SELECT series_key, count(*) FROM anomaly_feedback WHERE kind = 'dismiss' GROUP BY 1"
    ).fetchall()
    return {k: DISMISS_BOOST**n for k, n in rows}


def masked_days(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[dt.date, dt.date]]]:
    out: dict[str, list[tuple[dt.date, dt.date]]] = {}
    for key, a, b in con.execute(
        "SELECT series_key, first_day, last_day FROM anomaly_feedback WHERE kind = 'expected'"
    ).fetchall():
        out.setdefault(key, []).append((a, b))
    return out


def day_of(value: dt.date) -> dt.date:
    """The day of a daily bucket (a date) or an hourly one (a datetime)."""
    return value.date() if isinstance(value, dt.datetime) else value


def parse_day(key: str) -> dt.date:
    """The day of a bucket key: ``2024-08-20`` (daily) or ``2024-08-20T13:00:00`` (hourly)."""
    return dt.datetime.fromisoformat(key).date()


def _episodes(flags: Sequence[Flag], gap: int) -> list[list[Flag]]:
    """Flags split where more than ``gap`` normal days separate them."""
    out: list[list[Flag]] = []
    for f in flags:
        if out and (f.day - out[-1][-1].day).days <= gap:
            out[-1].append(f)
        else:
            out.append([f])
    return out


@dataclass
class MonitorState:
    """A monitor's anomalies as the run starts: the open (or acknowledged) one per series, and
    the last day any closed one covered. Read once per monitor, kept current by
    :func:`upsert`, so a run over 10,000 quiet series asks the database nothing per series."""

    open: dict[str, dict[str, Any]] = field(default_factory=dict)
    covered: dict[str, dt.date] = field(default_factory=dict)


def load_state(con: duckdb.DuckDBPyConnection, monitor: str) -> MonitorState:
    state = MonitorState()
    for key, anomaly_id, last_day, days, revision, status in con.execute(
        "SELECT series_key, id, last_day, days, revision, status FROM anomalies "
        "WHERE monitor = ? AND status IN ('open', 'acked') ORDER BY first_day",
        [monitor],
    ).fetchall():
        state.open[key] = {
            "id": anomaly_id,
            "last_day": last_day,
            "days": json.loads(days),
            "revision": revision,
            "status": status,
        }
    for key, last_day in con.execute(
        "SELECT series_key, max(last_day) FROM anomalies "
        "WHERE monitor = ? AND status NOT IN ('open', 'acked') GROUP BY 1",
        [monitor],
    ).fetchall():
        state.covered[key] = last_day
    return state


def upsert(
    con: duckdb.DuckDBPyConnection,
    state: MonitorState,
    config: AnomaliesConfig,
    monitor: Monitor,
    res: SeriesResult,
    last: dt.date,
    stamp: dt.datetime,
    where: str,
    allocated: bool,
    report: DetectReport,
) -> None:
    """Open, update or resolve the series' anomaly from this run's flags (idempotent)."""
    gap = config.resolve_after_days
    covered = state.covered.get(res.key)
    for episode in _episodes(res.flags, gap):
        fresh = [f for f in episode if covered is None or day_of(f.day) > covered]
        if not fresh:
            continue
        current = state.open.get(res.key)
        if current and (day_of(fresh[0].day) - current["last_day"]).days <= gap:
            days = {**current["days"], **{f.day.isoformat(): _day(f) for f in fresh}}
            if days != current["days"]:
                revision = current["revision"] + 1
                _write(
                    con,
                    monitor,
                    res,
                    current["id"],
                    days,
                    revision,
                    stamp,
                    where,
                    allocated,
                    config,
                    current["status"],
                )
                current.update(
                    days=days,
                    revision=revision,
                    last_day=max(parse_day(d) for d in days),
                )
                report.updated.append(current["id"])
        else:
            if current:
                _resolve(con, state, res.key, stamp, report)
            stamp_fmt = "%Y%m%d%H" if isinstance(fresh[0].day, dt.datetime) else "%Y%m%d"
            new_id = f"an-{res.key[:8]}-{fresh[0].day.strftime(stamp_fmt)}"
            days = {f.day.isoformat(): _day(f) for f in fresh}
            _write(con, monitor, res, new_id, days, 1, stamp, where, allocated, config, "open")
            state.open[res.key] = {
                "id": new_id,
                "last_day": day_of(fresh[-1].day),
                "days": days,
                "revision": 1,
                "status": "open",
            }
            report.opened.append(new_id)
    current = state.open.get(res.key)
    if current and (day_of(res.horizon or last) - current["last_day"]).days >= gap:
        _resolve(con, state, res.key, stamp, report)


def _day(f: Flag) -> dict[str, Any]:
    day = {
        "kind": f.kind,
        "expected": round(f.expected, 2),
        "actual": round(f.actual, 2),
        "z": None if math.isinf(f.z) else round(f.z, 2),
    }
    if f.estimated:  # usage × price, not yet billed
        day["estimated"] = True
    return day


def _resolve(
    con: duckdb.DuckDBPyConnection,
    state: MonitorState,
    key: str,
    stamp: dt.datetime,
    report: DetectReport,
) -> None:
    current = state.open.pop(key)
    con.execute(
        "UPDATE anomalies SET status = 'resolved', updated_at = ? WHERE id = ?",
        [stamp, current["id"]],
    )
    state.covered[key] = max(state.covered.get(key, current["last_day"]), current["last_day"])
    report.resolved.append(current["id"])


def severity_of(impact: Decimal) -> str:
    for name, floor in SEVERITY:
        if abs(impact) >= floor:
            return name
    return "low"


def _write(
    con: duckdb.DuckDBPyConnection,
    monitor: Monitor,
    res: SeriesResult,
    anomaly_id: str,
    days: dict[str, dict[str, Any]],
    revision: int,
    stamp: dt.datetime,
    where: str,
    allocated: bool,
    config: AnomaliesConfig,
    status: str,
) -> None:
    ordered = sorted(days)
    expected = sum((Decimal(str(d["expected"])) for d in days.values()), Decimal(0))
    actual = sum((Decimal(str(d["actual"])) for d in days.values()), Decimal(0))
    impact = actual - expected
    peak = max(ordered, key=lambda k: abs(days[k]["actual"] - days[k]["expected"]))
    zs = [abs(d["z"]) for d in days.values() if d["z"] is not None]
    kinds = {d["kind"] for d in days.values()}
    kind = "new" if "new" in kinds else "spike" if "spike" in kinds else "drop"
    cause = root_cause(
        con,
        config,
        monitor,
        res,
        parse_day(peak),
        [parse_day(k) for k in ordered],
        where=where,
        allocated=allocated,
    )
    team = res.dims.get("team") or cause.get("owner")
    created = con.execute("SELECT created_at FROM anomalies WHERE id = ?", [anomaly_id]).fetchone()
    con.execute("DELETE FROM anomalies WHERE id = ?", [anomaly_id])
    con.execute(
        "INSERT INTO anomalies VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            anomaly_id,
            monitor.id,
            res.key,
            json.dumps(res.dims, sort_keys=True),
            res.currency,
            status,
            kind,
            severity_of(impact),
            parse_day(ordered[0]),
            parse_day(ordered[-1]),
            parse_day(peak),
            expected,
            actual,
            impact,
            float(impact / expected * 100) if expected else None,
            max(zs) if zs else None,
            team,
            json.dumps(cause, default=str),
            json.dumps(days),
            revision,
            created[0] if created else stamp,
            stamp,
            None,
            None,
            any(d.get("estimated") for d in days.values()),
        ],
    )


def give_feedback(
    con: duckdb.DuckDBPyConnection,
    anomaly_id: str,
    kind: str,
    reason: str | None,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Record ``ack``, ``dismiss`` or ``expected`` on an anomaly, and what the detector learns:

    * ``ack``: someone owns it; it stays open (updates are still recorded) and is not re-alerted;
    * ``dismiss``: a false alarm; the series' z threshold rises by ``DISMISS_BOOST`` for good;
    * ``expected``: a real but planned change (a load test); its days leave the series'
      history, so they neither alert again nor inflate the baseline after them.
    """
    from costline.core.errors import BadInputError, Location

    ensure_tables(con)
    if kind not in FEEDBACK_KINDS:
        raise BadInputError(
            f"unknown feedback {kind!r}",
            location=Location("anomalies"),
            reason="anomaly-feedback",
            hint=f"use one of {', '.join(FEEDBACK_KINDS)}",
        )
    row = con.execute(
        "SELECT series_key, first_day, last_day, status FROM anomalies WHERE id = ?", [anomaly_id]
    ).fetchone()
    if not row:
        known = [
            r[0]
            for r in con.execute(
                "SELECT id FROM anomalies ORDER BY updated_at DESC LIMIT 5"
            ).fetchall()
        ]
        raise BadInputError(
            f"no anomaly {anomaly_id!r}",
            location=Location("anomalies"),
            reason="anomaly-unknown",
            hint="see `costline anomalies list`"
            + (f"; recent ids: {', '.join(known)}" if known else ""),
        )
    key, first, last, _ = row
    stamp = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    status = {"ack": "acked", "dismiss": "dismissed", "expected": "expected"}[kind]
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "UPDATE anomalies SET status = ?, feedback = ?, reason = ?, updated_at = ? WHERE id = ?",
        [status, kind, reason, stamp, anomaly_id],
    )
    con.execute(
        "INSERT INTO anomaly_feedback VALUES (?, ?, ?, ?, ?, ?, ?)",
        [key, anomaly_id, kind, reason, stamp, first, last],
    )
    con.execute("COMMIT")
    return {"id": anomaly_id, "status": status, "series_key": key}


LIST_COLUMNS = (
    "id",
    "status",
    "severity",
    "kind",
    "monitor",
    "series",
    "team",
    "first_day",
    "last_day",
    "currency",
    "expected",
    "actual",
    "impact",
    "impact_pct",
    "root_cause",
)


def list_anomalies(
    con: duckdb.DuckDBPyConnection, *, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Anomalies, newest first, with a one-line series name and the top root cause."""
    ensure_tables(con)
    where = "TRUE" if status in (None, "all") else "status = ?"
    params: list[Any] = [] if status in (None, "all") else [status]
    rows = con.execute(
        "SELECT id, status, severity, kind || CASE WHEN estimated THEN ' (estimated)' ELSE '' "
        "END, monitor, dims, team, first_day, last_day, currency, "
        "expected, actual, impact, impact_pct, root_cause FROM anomalies "
        f"WHERE {where} ORDER BY last_day DESC, abs(impact) DESC LIMIT {int(limit)}",
        params,
    ).fetchall()
    out = []
    for r in rows:
        dims = json.loads(r[5])
        cause = json.loads(r[14]) if r[14] else {}
        out.append(
            dict(
                zip(
                    LIST_COLUMNS,
                    [
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        r[4],
                        ", ".join(f"{k}={v}" for k, v in dims.items()),
                        r[6],
                        r[7],
                        r[8],
                        r[9],
                        Decimal(r[10]).quantize(CENT),
                        Decimal(r[11]).quantize(CENT),
                        Decimal(r[12]).quantize(CENT),
                        None if r[13] is None else round(r[13], 1),
                        summarize_cause(cause),
                    ],
                    strict=True,
                )
            )
        )
    return out


def summarize_cause(cause: Mapping[str, Any]) -> str:
    """The biggest contributor of each child dimension, e.g. ``x_UsageType=Requests-Tier1 +$98 (91%)``."""
    parts = []
    for dim, top in (cause.get("dimensions") or {}).items():
        if top:
            t = top[0]
            share = f" ({t['share'] * 100:.0f}%)" if t.get("share") is not None else ""
            parts.append(
                f"{dim}={t['value']} {'+' if not t['delta'].startswith('-') else ''}{t['delta']}{share}"
            )
    res = cause.get("top_resources") or []
    if res:
        parts.append(f"resource {res[0]['value']} {res[0]['delta']}")
    return "; ".join(parts[:3])


def alertable(
    con: duckdb.DuckDBPyConnection,
    ids: Sequence[str],
    config: AnomaliesConfig,
    *,
    status: str = "open",
) -> list[dict[str, Any]]:
    """The anomalies among ``ids`` to alert on: in ``status`` (open: not acknowledged), at
    least ``alert_min_severity``, outside every suppression window; as plain dicts (one per row
    of ``anomalies``, JSON columns decoded) for the notify layer."""
    if not ids:
        return []
    floor = SEVERITY_ORDER.index(config.alert_min_severity)
    marks = ", ".join("?" for _ in ids)
    res = con.execute(f"SELECT * FROM anomalies WHERE id IN ({marks}) ORDER BY id", list(ids))
    cols = [d[0] for d in res.description]
    out = []
    for values in res.fetchall():
        row = dict(zip(cols, values, strict=True))
        if row["status"] != status or SEVERITY_ORDER.index(row["severity"]) < floor:
            continue
        if any(
            w.covers(row["monitor"], row["team"], row["first_day"], row["last_day"])
            for w in config.suppress
        ):
            continue
        row["dims"] = json.loads(row["dims"])
        row["root_cause"] = json.loads(row["root_cause"]) if row["root_cause"] else {}
        out.append(row)
    return out
