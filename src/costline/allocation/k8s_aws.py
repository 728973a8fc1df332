"""AWS split cost allocation rows (EKS) beside costline's own Kubernetes split.

With split cost allocation data enabled, AWS writes one CUR row per pod, hour and resource:
``line_item_resource_id`` is the pod ARN (``arn:aws:eks:<region>:<account>:pod/<cluster>/
<namespace>/<pod>/<uid>``), ``split_line_item_parent_resource_id`` the EC2 instance,
``split_line_item_split_cost`` the pod's allocated cost and ``split_line_item_unused_cost`` its
share of the instance's unused cost. costline's AWS mapping does not read these columns (the cost
table keeps the instance rows, which a ``kubernetes`` pool splits); :func:`load_aws_split` loads
them into ``k8s_aws_split`` and :func:`compare_aws_split` reports, per namespace or pod, how
costline's split differs from AWS's.

Example:
    >>> AWS_SPLIT_COLUMNS["parent"][0]
    'split_line_item_parent_resource_id'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from costline.allocation.k8s_inputs import (
    check_values,
    ensure_k8s_tables,
    in_transaction,
    missing_column,
    utc,
)
from costline.allocation.kubernetes import pod_costs_sql, settings_of
from costline.allocation.sql import ident, lit
from costline.config.allocation import Pool, RuleSet
from costline.core.inputs import need_file, read_header, reader_sql

HINT_CUR = "give the CUR line items file itself (CUR 2.0 or legacy CSV)"


def _arn_part(i: int) -> str:
    """Part ``i`` of an EKS pod ARN split on ``/`` (2 cluster, 3 namespace, 4 pod)."""
    return f"NULLIF(split_part(resource_id, '/', {i}), '')"


# canonical → (CUR 2.0 / Athena name, legacy CUR CSV name)
AWS_SPLIT_COLUMNS: Mapping[str, tuple[str, str]] = {
    "usage_start": ("line_item_usage_start_date", "lineitem/usagestartdate"),
    "resource_id": ("line_item_resource_id", "lineitem/resourceid"),
    "usage_type": ("line_item_usage_type", "lineitem/usagetype"),
    "currency": ("line_item_currency_code", "lineitem/currencycode"),
    "parent": ("split_line_item_parent_resource_id", "splitlineitem/parentresourceid"),
    "split_cost": ("split_line_item_split_cost", "splitlineitem/splitcost"),
    "unused_cost": ("split_line_item_unused_cost", "splitlineitem/unusedcost"),
}


def load_aws_split(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Load the EKS split cost allocation rows of a CUR file (CUR 2.0 Parquet/CSV or legacy CSV).

    Only rows with a parent resource id (the EC2 instance) and a pod ARN are kept (ECS tasks'
    split rows are skipped). The pod's cluster,
    namespace and name come from its ARN ``arn:aws:eks:<region>:<account>:pod/<cluster>/
    <namespace>/<pod>/<uid>``. Returns the number of split rows loaded.

    Raises:
        BadInputError: the file has no split cost allocation columns, or a bad number.
    """
    need_file(path)
    ensure_k8s_tables(con)
    source = reader_sql(path)
    header = read_header(
        con, path, source, "give a CUR file exported with split cost allocation data"
    )
    folded = {h.strip().lower(): h for h in header}
    found = {
        name: folded[s]
        for name, spellings in AWS_SPLIT_COLUMNS.items()
        for s in spellings
        if s in folded
    }
    enable = (
        "enable INCLUDE_SPLIT_COST_ALLOCATION_DATA on the export (CUR 2.0) or "
        "'split cost allocation data' on the legacy CUR"
    )
    for need in ("parent", "split_cost", "unused_cost", "usage_start", "resource_id"):
        if need not in found:
            hint = enable if need in ("parent", "split_cost", "unused_cost") else HINT_CUR
            raise missing_column(path, AWS_SPLIT_COLUMNS[need][0], hint)

    def raw(name: str) -> str:
        return f"CAST({ident(found[name])} AS VARCHAR)" if name in found else "NULL"

    con.execute(
        "CREATE OR REPLACE TEMP TABLE _k8s_a AS SELECT * FROM (SELECT row_number() OVER () AS _row, "
        + ", ".join(f"{raw(n)} AS {n}" for n in AWS_SPLIT_COLUMNS)
        + f" FROM {source}) WHERE parent IS NOT NULL AND trim(parent) <> '' "
        # EKS pods only (ECS tasks have split rows too, with task ARNs)
        + "AND resource_id LIKE 'arn:%:eks:%:pod/%'"
    )
    tests = [
        (
            "usage_start",
            "usage_start",
            "try_cast(usage_start AS TIMESTAMPTZ) IS NULL",
            "line_item_usage_start_date must be a timestamp",
        ),
        *(
            (
                AWS_SPLIT_COLUMNS[c][0],
                c,
                f"{c} IS NOT NULL AND trim({c}) <> '' AND try_cast({c} AS DECIMAL(38, 10)) IS NULL",
                "split costs must be numbers",
            )
            for c in ("split_cost", "unused_cost")
        ),
    ]
    check_values(con, path, "_k8s_a", tests)
    select = (
        f"SELECT {utc('usage_start')}, {_arn_part(2)}, {_arn_part(3)}, {_arn_part(4)}, trim(parent), "
        "usage_type, COALESCE(CAST(NULLIF(trim(split_cost), '') AS DECIMAL(38, 10)), 0), "
        "COALESCE(CAST(NULLIF(trim(unused_cost), '') AS DECIMAL(38, 10)), 0), currency, "
        f"{lit(str(path))} FROM _k8s_a"
    )
    in_transaction(
        con,
        [
            "DELETE FROM k8s_aws_split s USING (SELECT DISTINCT trim(parent) AS p, "
            f"{utc('usage_start')} AS u FROM _k8s_a) r "
            "WHERE s.node_resource_id = r.p AND s.usage_start = r.u",
            f"INSERT INTO k8s_aws_split {select}",
        ],
    )
    return int(con.execute("SELECT count(*) FROM _k8s_a").fetchone()[0])  # type: ignore[index]


def compare_aws_split(
    con: duckdb.DuckDBPyConnection,
    pool: Pool,
    period: dt.date,
    *,
    rules: RuleSet | None = None,
    by: Sequence[str] = ("namespace", "pod"),
) -> list[dict[str, Any]]:
    """Per namespace (and pod): costline's split vs AWS's split cost allocation rows.

    costline's side is :func:`pod_costs_sql` (direct + idle shared per node); AWS's side is
    ``split_line_item_split_cost`` + ``split_line_item_unused_cost`` of the period's rows in
    ``k8s_aws_split`` (:func:`load_aws_split`). Amounts are rounded to 10 decimals.
    """
    ensure_k8s_tables(con)
    allowed = ("cluster", "namespace", "pod", "node_resource_id")
    keys = [k for k in by if k in allowed] or ["namespace"]
    cols = ", ".join(keys)
    nxt = dt.date(period.year + period.month // 12, period.month % 12 + 1, 1)
    settings = settings_of(pool)
    cluster = f" AND cluster = {lit(settings.cluster)}" if settings.cluster is not None else ""
    mine = (
        f"SELECT {cols}, CAST(SUM(direct) AS DECIMAL(38, 10)) AS direct, "
        f"CAST(SUM(idle) AS DECIMAL(38, 10)) AS idle FROM ({pod_costs_sql(pool, period, rules=rules)}) "
        f"p GROUP BY {cols}"
    )
    aws = (
        f"SELECT {cols}, SUM(split_cost) AS split_cost, SUM(unused_cost) AS unused_cost "
        f"FROM k8s_aws_split WHERE usage_start >= TIMESTAMP '{period.isoformat()}' "
        f"AND usage_start < TIMESTAMP '{nxt.isoformat()}'{cluster} GROUP BY {cols}"
    )
    zero = "CAST(0 AS DECIMAL(38, 10))"
    sql = (
        f"SELECT {cols}, COALESCE(m.direct, {zero}), COALESCE(m.idle, {zero}), "
        f"COALESCE(a.split_cost, {zero}), COALESCE(a.unused_cost, {zero}) "
        f"FROM ({mine}) m FULL JOIN ({aws}) a USING ({cols}) ORDER BY {cols}"
    )
    out = []
    for row in con.execute(sql).fetchall():
        d, i, s, u = (Decimal(x) for x in row[len(keys) :])
        rec = dict(zip(keys, row[: len(keys)], strict=True))
        rec.update(
            costline_direct=d,
            costline_idle=i,
            costline_total=d + i,
            aws_split=s,
            aws_unused=u,
            aws_total=s + u,
            difference=(d + i) - (s + u),
        )
        out.append(rec)
    return out


__all__ = ["AWS_SPLIT_COLUMNS", "compare_aws_split", "load_aws_split"]
