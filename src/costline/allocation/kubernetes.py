"""Kubernetes allocation, OpenCost-compatible: node cost → containers → teams (pure SQL).

A ``method: kubernetes`` pool selects a cluster's node rows from the bill (and, optionally,
its overhead rows such as the EKS cluster fee). Per node and bucket (hour, day or month):

1. The node's cost ``C`` is divided into CPU, memory and GPU by relative unit weights ``w``
   times capacity ``cap``: ``s_r = w_r·cap_r / Σ w·cap`` (AWS split cost allocation's 9:1
   per vCPU-hour : GiB-hour by default; OpenCost-style base prices as an option).
2. A container gets ``C · Σ_r s_r · a_r / max(K_r, A_r)`` where ``a_r = max(request, usage) ×
   hours`` of resource ``r``, ``K_r = cap_r × node hours`` and ``A_r`` the sum of ``a_r`` on
   the node (so allocations are scaled down only when they exceed capacity).
3. Idle = ``C · Σ_r s_r · max(K_r − A_r, 0) / K_r`` (what no container was allocated): kept
   as ``idle:<cluster>`` or shared to the workloads (weighted per resource, or even; within
   the node or the cluster).
4. Containers of shared namespaces (kube-system, monitoring) are re-shared to the other
   workloads of the cluster; pool rows that are not nodes (cluster overhead) likewise.

Containers map to teams through virtual-tag rules whose tags read the pod's labels and the
``k8s:*`` keys of :data:`K8S_TAGS`. The result is a weight table ``(k0, k1, k2, recipient,
res_id, res_name, w)`` keyed by the bill row's ``BillingPeriodStart``, ``ResourceId`` and
bucket, which the engine (:mod:`costline.allocation.plan`) turns into exact, conserving splits:
one part per team and namespace (``res_id`` = ``k8s://<cluster>/<namespace>``, the part's
``AllocatedResourceId``; idle: ``k8s://<cluster>/__idle__``; shared namespaces and overhead: the
receiving namespace).

The SQL keeps to constructs sqlglot carries to Spark SQL (no lambdas, no ``GROUP BY ALL``, no
``IN (subquery)`` outside ``WHERE``).

Example:
    >>> from costline.config.allocation import Pool
    >>> pool = Pool.model_validate({"id": "eks", "method": "kubernetes",
    ...     "select": {"column": "ServiceName", "equals": "Amazon EC2"},
    ...     "kubernetes": {"cluster": "prod"}})
    >>> key_exprs(pool)
    ['BillingPeriodStart', '"ResourceId"', 'CAST(ChargePeriodStart AS DATE)']
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from costline.allocation.k8s_inputs import (
    GIB,
    ensure_k8s_tables,
    load_nodes,
    load_opencost,
    load_samples,
)
from costline.allocation.sql import Context, condition_sql, fold, ident, lit, value_sql
from costline.config.allocation import (
    K8S_TAG_KEYS,
    POOL_PREFIX,
    UNALLOCATED,
    Condition,
    KubernetesSettings,
    Pool,
    RuleSet,
    TagKey,
    TagRules,
    ValueFrom,
    VirtualTag,
)

# Tag names a rule can test on a container besides its labels (→ the samples column).
K8S_TAGS: dict[str, str] = {k: k.removeprefix("k8s:") for k in K8S_TAG_KEYS}
IDLE_PREFIX = "idle:"
# AllocatedResourceName of a part that is a cluster's idle capacity (its id: k8s://<cluster>/__idle__)
IDLE_NAMESPACE = "__idle__"
WEIGHT_UNITS = 1e12  # weights are integers: units of 1e-12 of a node row's cost
RESOURCES = ("cpu", "mem", "gpu")
# AWS split cost allocation data: relative weight per unit-hour (vCPU, GiB, GPU).
AWS_WEIGHTS = {"cpu": 9.0, "mem": 1.0, "gpu": 0.0}
AWS_GPU_NODE_WEIGHTS = {"cpu": 0.9, "mem": 0.1, "gpu": 9.0}
# OpenCost's default base prices (configs/default.json): per core-hour, GiB-hour, GPU-hour.
OPENCOST_PRICES = {"cpu": 0.031611, "mem": 0.004237, "gpu": 0.95}


def settings_of(pool: Pool) -> KubernetesSettings:
    if pool.kubernetes is None:
        raise ValueError(f"pool {pool.id!r} is not a kubernetes pool")
    return pool.kubernetes


@dataclass(frozen=True)
class _Bucket:
    key: str  # SQL over a bill row: the engine's third key (k2)
    row: str  # SQL over a bill row: the bucket as a TIMESTAMP, to meet the samples
    sample: str  # SQL over a sample row: its bucket as a TIMESTAMP
    hours: float  # the bucket's length


def _bucket(settings: KubernetesSettings, period: dt.date) -> _Bucket:
    if settings.granularity == "hourly":
        # NOTE: an hourly bill's ChargePeriodStart is the hour itself, so it is the key.
        return _Bucket(
            "ChargePeriodStart",
            "date_trunc('hour', ChargePeriodStart)",
            "date_trunc('hour', window_start)",
            1.0,
        )
    if settings.granularity == "daily":
        return _Bucket(
            "CAST(ChargePeriodStart AS DATE)",
            "date_trunc('day', ChargePeriodStart)",
            "date_trunc('day', window_start)",
            24.0,
        )
    days = calendar.monthrange(period.year, period.month)[1]
    return _Bucket(
        "BillingPeriodStart", "BillingPeriodStart", f"TIMESTAMP '{period.isoformat()}'", 24.0 * days
    )


def key_exprs(pool: Pool) -> list[str]:
    """The engine's split keys for a kubernetes pool: period, resource id, bucket."""
    bucket = _bucket(settings_of(pool), dt.date(2000, 1, 1))
    return ["BillingPeriodStart", ident("ResourceId"), bucket.key]


# -- containers → teams ---------------------------------------------------------------------
@dataclass(frozen=True)
class ContainerOwner:
    """The virtual tags computed for each container, the last naming its team."""

    vtags: tuple[VirtualTag, ...]
    tags: TagRules


def container_owner(pool: Pool, rules: RuleSet | None) -> ContainerOwner:
    """The pool's own ``teams`` rules, else the rule set's virtual tags up to the owner tag."""
    settings = settings_of(pool)
    tags = rules.tags if rules is not None else TagRules()
    if settings.teams is not None:
        return ContainerOwner((VirtualTag(key="team", rules=settings.teams),), tags)
    if rules is None:
        return ContainerOwner((), tags)
    keys = [vt.key for vt in rules.virtual_tags]
    if rules.owner.vtag not in keys:
        return ContainerOwner((), tags)
    return ContainerOwner(tuple(rules.virtual_tags[: keys.index(rules.owner.vtag) + 1]), tags)


@dataclass(frozen=True)
class _ContainerContext(Context):
    """Tags are labels or ``k8s:*`` keys; bill columns do not exist on a container (NULL)."""

    def subject(self, *, column: str | None, tag: str | None, vtag: str | None) -> str:
        if column is not None:
            return "CAST(NULL AS VARCHAR)"
        return super().subject(column=None, tag=tag, vtag=vtag)


def _walk(cond: Condition | None, out: dict[str, None]) -> None:
    if cond is None:
        return
    if cond.tag is not None:
        out.setdefault(cond.tag)
    for sub in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
        _walk(sub, out)


def _referenced(owner: ContainerOwner) -> list[str]:
    seen: dict[str, None] = {}
    for vt in owner.vtags:
        for rule in vt.rules:
            _walk(rule.when, seen)
            vf: ValueFrom | None = rule.value_from
            if vf is not None and vf.tag is not None:
                seen.setdefault(vf.tag)
    return list(seen)


def _label_value(name: str, tags: TagRules) -> tuple[str, str | None]:
    """(value SQL, alias CASE over ``{col}``) of one tag on a container row."""
    spec = {k.key: k for k in tags.keys}.get(name, TagKey(key=name))
    spellings: list[str] = []
    for s in (name, *spec.aliases):
        for v in (s, s.lower()) if tags.fold_keys else (s,):
            if v not in spellings:
                spellings.append(v)
    parts = [
        f"NULLIF(CAST({K8S_TAGS[s]} AS VARCHAR), '')"
        if s in K8S_TAGS
        else f"NULLIF(labels[{lit(s)}], '')"
        for s in spellings
    ]
    raw = parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"
    value = f"NULLIF(lower(trim({raw})), '')" if spec.fold_values else raw
    alias = None
    if spec.values:
        whens = " ".join(
            f"WHEN {lit(fold(src) if spec.fold_values else src)} THEN {lit(dst)}"
            for src, dst in sorted(spec.values.items())
        )
        alias = f"(CASE {{col}} {whens} ELSE {{col}} END)"
    return value, alias


def _owner_ctes(owner: ContainerOwner, source: str) -> tuple[list[str], str, str]:
    """CTEs computing tags and virtual tags of each container: (ctes, last name, owner SQL)."""
    names = _referenced(owner)
    exprs = {n: _label_value(n, owner.tags) for n in names}
    cols = {n: ident(f"_t:{n}") for n in names}
    ctes = [
        "ow0 AS (SELECT *"
        + "".join(f", {v} AS {ident(f'_traw:{n}')}" for n, (v, _) in exprs.items())
        + f" FROM {source})",
        "ow1 AS (SELECT *"
        + "".join(
            f", {(a or '{col}').format(col=ident(f'_traw:{n}'))} AS {cols[n]}"
            for n, (_, a) in exprs.items()
        )
        + " FROM ow0)",
    ]
    vcols = {vt.key: ident(f"_v:{vt.key}") for vt in owner.vtags}
    ctx = _ContainerContext(tag_exprs=cols, vtag_cols=vcols)
    prev = "ow1"
    for i, vt in enumerate(owner.vtags):
        whens = " ".join(
            f"WHEN {condition_sql(r.when, ctx) if r.when else 'TRUE'} THEN "
            f"{lit(r.value) if r.value is not None else value_sql(r.value_from, ctx)}"  # type: ignore[arg-type]
            for r in vt.rules
        )
        ctes.append(
            f"ov{i} AS (SELECT *, COALESCE(NULLIF(CASE {whens} END, ''), {lit(vt.default)}) "
            f"AS {vcols[vt.key]} FROM {prev})"
        )
        prev = f"ov{i}"
    team = vcols[owner.vtags[-1].key] if owner.vtags else "CAST(NULL AS VARCHAR)"
    return ctes, prev, team


# -- the model ------------------------------------------------------------------------------
def _unit_weights(settings: KubernetesSettings) -> dict[str, str]:
    """SQL per resource over ``k8s_nodes n``: the relative weight of one unit-hour."""
    w = settings.weights
    if w.preset == "opencost":
        return {r: repr(OPENCOST_PRICES[r]) for r in RESOURCES}
    if w.preset == "prices":
        return {
            "cpu": repr(float(w.cpu or 0)),
            "mem": repr(float(w.memory or 0)),
            "gpu": repr(float(w.gpu or 0)),
        }
    return {
        r: f"CASE WHEN n.gpus > 0 THEN {AWS_GPU_NODE_WEIGHTS[r]!r} ELSE {AWS_WEIGHTS[r]!r} END"
        for r in RESOURCES
    }


def _sum3(fmt: str) -> str:
    return " + ".join(fmt.format(r=r) for r in RESOURCES)


def _res(cluster: str, namespace: str) -> str:
    """``res_id, res_name`` of a part: the namespace (SQL) of the cluster (SQL) it went to."""
    return f"'k8s://' || {cluster} || '/' || {namespace} AS res_id, {namespace} AS res_name"


def _idle_res(cluster: str) -> str:
    return _res(cluster, lit(IDLE_NAMESPACE))


def _model_ctes(
    settings: KubernetesSettings,
    period: dt.date,
    *,
    rows: str,
    owner: ContainerOwner,
    teams_table: str | None,
) -> list[str]:
    """CTEs from the node rows and samples to container fractions (``cf``) and node idle (``nf``).

    ``rows`` is a FROM/WHERE clause over bill rows (``_a_rows`` in a run, ``cost`` outside).
    """
    b = _bucket(settings, period)
    nxt = dt.date(period.year + period.month // 12, period.month % 12 + 1, 1)
    cluster = f" AND cluster = {lit(settings.cluster)}" if settings.cluster is not None else ""
    cost = f"CAST({ident(settings.cost_column)} AS DOUBLE)"
    ctes = [
        f"kr AS (SELECT BillingPeriodStart AS k0, {ident('ResourceId')} AS k1, {b.key} AS k2, "
        f"{b.row} AS b, SUM({cost}) AS cost FROM {rows} "
        f"GROUP BY BillingPeriodStart, {ident('ResourceId')}, {b.key}, {b.row})",
        f"sm AS (SELECT {b.sample} AS b, cluster, node, node_resource_id AS rid, namespace, pod, "
        "container, labels, window_start, window_hours, "
        "GREATEST(COALESCE(cpu_request, 0), COALESCE(cpu_usage, 0)) * window_hours AS a_cpu, "
        "GREATEST(COALESCE(memory_request, 0), COALESCE(memory_usage, 0)) "
        f"/ {float(GIB)!r} * window_hours AS a_mem, "
        "GREATEST(COALESCE(gpu_request, 0), COALESCE(gpu_usage, 0)) * window_hours AS a_gpu "
        f"FROM k8s_samples WHERE window_start >= TIMESTAMP '{period.isoformat()}' "
        f"AND window_start < TIMESTAMP '{nxt.isoformat()}'{cluster})",
    ]
    owner_ctes, last, team = _owner_ctes(owner, "sm")
    ctes += owner_ctes
    shared = settings.shared.namespaces
    is_shared = (
        f"CASE WHEN namespace IN ({', '.join(lit(n) for n in shared)}) THEN 1 ELSE 0 END"
        if shared
        else "0"
    )
    if teams_table:
        recipient = f"CASE WHEN tm.team IS NOT NULL THEN tm.team ELSE {lit(UNALLOCATED)} END"
        join = f" LEFT JOIN {teams_table} tm ON tm.team = ct.owner"
    else:
        recipient, join = f"COALESCE(ct.owner, {lit(UNALLOCATED)})", ""
    group = "b, cluster, rid, namespace, pod, recipient, shared"
    ctes += [
        f"ct AS (SELECT b, cluster, rid, namespace, pod, {team} AS owner, {is_shared} AS shared, "
        f"a_cpu, a_mem, a_gpu FROM {last})",
        f"cn AS (SELECT {group}, SUM(a_cpu) AS a_cpu, SUM(a_mem) AS a_mem, "
        f"SUM(a_gpu) AS a_gpu FROM (SELECT ct.*, {recipient} AS recipient FROM ct{join}) x "
        f"GROUP BY {group})",
        # node hours: per window start the longest-running container, at most the bucket
        f"nh AS (SELECT b, rid, LEAST(SUM(h), {b.hours!r}) AS hours FROM (SELECT b, rid, "
        "window_start, MAX(window_hours) AS h FROM sm GROUP BY b, rid, window_start) x "
        "GROUP BY b, rid)",
        "na AS (SELECT b, rid, SUM(a_cpu) AS a_cpu, SUM(a_mem) AS a_mem, SUM(a_gpu) AS a_gpu "
        "FROM cn GROUP BY b, rid)",
        "act AS (SELECT DISTINCT b, cluster FROM sm)",
        "nc AS (SELECT rid, MIN(cluster) AS cluster FROM sm GROUP BY rid)",
        _nodes_cte(settings),
        _node_keys_cte(b.hours),
        "nf AS (SELECT *, "
        + ", ".join(
            f"CASE WHEN k_{r} > 0 THEN s_{r} * GREATEST(k_{r} - n_{r}, 0) / k_{r} ELSE 0.0 END "
            f"AS i_{r}, GREATEST(k_{r}, n_{r}) AS d_{r}"
            for r in RESOURCES
        )
        + " FROM nk)",
        "cf AS (SELECT nf.k0, nf.k1, nf.k2, nf.b, nf.cluster, nf.cost_pos, cn.namespace, "
        "cn.pod, cn.recipient, cn.shared, "
        + ", ".join(
            f"CASE WHEN nf.d_{r} > 0 THEN nf.s_{r} * cn.a_{r} / nf.d_{r} ELSE 0.0 END AS f_{r}"
            for r in RESOURCES
        )
        + " FROM cn JOIN nf ON nf.b = cn.b AND nf.k1 = cn.rid)",
    ]
    return ctes


def _nodes_cte(settings: KubernetesSettings) -> str:
    w = _unit_weights(settings)
    where = (
        f" WHERE COALESCE(n.cluster, nc.cluster) = {lit(settings.cluster)}"
        if settings.cluster is not None
        else ""
    )
    return (
        "nd AS (SELECT n.node_resource_id AS rid, COALESCE(n.cluster, nc.cluster, '') AS cluster, "
        f"n.cpu_cores AS c_cpu, n.memory_bytes / {float(GIB)!r} AS c_mem, n.gpus AS c_gpu, "
        f"({w['cpu']}) * n.cpu_cores AS x_cpu, "
        f"({w['mem']}) * n.memory_bytes / {float(GIB)!r} AS x_mem, "
        f"({w['gpu']}) * n.gpus AS x_gpu "
        f"FROM k8s_nodes n LEFT JOIN nc ON nc.rid = n.node_resource_id{where})"
    )


def _node_keys_cte(bucket_hours: float) -> str:
    """Node rows of active buckets: resource shares ``s``, capacity-hours ``k``, allocated ``n``."""
    total = "(nd.x_cpu + nd.x_mem + nd.x_gpu)"
    return (
        "nk AS (SELECT kr.k0, kr.k1, kr.k2, kr.b, nd.cluster, GREATEST(kr.cost, 0.0) AS cost_pos, "
        + ", ".join(f"nd.x_{r} / {total} AS s_{r}" for r in RESOURCES)
        + ", "
        + ", ".join(f"nd.c_{r} * COALESCE(nh.hours, {bucket_hours!r}) AS k_{r}" for r in RESOURCES)
        + ", "
        + ", ".join(f"COALESCE(na.a_{r}, 0.0) AS n_{r}" for r in RESOURCES)
        + " FROM kr JOIN nd ON nd.rid = kr.k1 JOIN act ON act.b = kr.b AND act.cluster = nd.cluster "
        "LEFT JOIN nh ON nh.b = kr.b AND nh.rid = kr.k1 "
        f"LEFT JOIN na ON na.b = kr.b AND na.rid = kr.k1 WHERE {total} > 0)"
    )


def _share_ctes() -> list[str]:
    """Recipient aggregates and the shares used to re-share idle, shared and overhead cost."""
    f_all = _sum3("f_{r}")
    keys = "k0, k1, k2, b, cluster"
    node = "PARTITION BY k0, k1, k2"
    clus = "PARTITION BY b, cluster"
    return [
        f"dr AS (SELECT {keys}, recipient, "
        + ", ".join(f"SUM(f_{r}) AS f_{r}, SUM(cost_pos * f_{r}) AS d_{r}" for r in RESOURCES)
        + f", SUM({f_all}) AS f, SUM(cost_pos * ({f_all})) AS d FROM cf WHERE shared = 0 "
        f"GROUP BY {keys}, recipient HAVING SUM({f_all}) > 0)",
        # the same per namespace: the parts' resources (AllocatedResourceId)
        f"drn AS (SELECT {keys}, recipient, namespace, SUM({f_all}) AS f, "
        f"SUM(cost_pos * ({f_all})) AS d FROM cf WHERE shared = 0 "
        f"GROUP BY {keys}, recipient, namespace HAVING SUM({f_all}) > 0)",
        f"sr AS (SELECT {keys}, recipient, namespace, SUM({f_all}) AS f FROM cf WHERE shared = 1 "
        f"GROUP BY {keys}, recipient, namespace HAVING SUM({f_all}) > 0)",
        "cr AS (SELECT b, cluster, recipient, SUM(d) AS d, "
        + ", ".join(f"SUM(d_{r}) AS d_{r}" for r in RESOURCES)
        + " FROM dr GROUP BY b, cluster, recipient)",
        # shares within a node key (idle scope node) ...
        "nq AS (SELECT k0, k1, k2, recipient, "
        f"f / SUM(f) OVER ({node}) AS q_w, 1.0 / COUNT(*) OVER ({node}) AS q_e, "
        + ", ".join(
            f"CASE WHEN SUM(f_{r}) OVER ({node}) > 0 THEN f_{r} / SUM(f_{r}) OVER ({node}) "
            f"ELSE f / SUM(f) OVER ({node}) END AS q_{r}"
            for r in RESOURCES
        )
        + " FROM dr)",
        # ... and within a cluster bucket (idle scope cluster, shared namespaces)
        "cq0 AS (SELECT b, cluster, recipient, d, "
        + ", ".join(f"d_{r}" for r in RESOURCES)
        + f", SUM(d) OVER ({clus}) AS t, COUNT(*) OVER ({clus}) AS n, "
        + ", ".join(f"SUM(d_{r}) OVER ({clus}) AS t_{r}" for r in RESOURCES)
        + " FROM cr)",
        "cq1 AS (SELECT b, cluster, recipient, 1.0 / n AS q_e, "
        "CASE WHEN t > 0 THEN d / t ELSE 1.0 / n END AS q_w"
        + "".join(f", d_{r}, t_{r}" for r in RESOURCES)
        + " FROM cq0)",
        "cq AS (SELECT b, cluster, recipient, q_e, q_w, "
        + ", ".join(
            f"CASE WHEN t_{r} > 0 THEN d_{r} / t_{r} ELSE q_w END AS q_{r}" for r in RESOURCES
        )
        + " FROM cq1)",
        "ca AS (SELECT DISTINCT b, cluster FROM cq)",
        # A recipient's share of the cluster (cq) or of all clusters (overhead) goes to its
        # namespaces by their direct cost (evenly if they have none): z sums to 1 per recipient.
        "crn AS (SELECT b, cluster, recipient, namespace, SUM(d) AS d FROM drn "
        "GROUP BY b, cluster, recipient, namespace)",
        "cqn AS (SELECT q.b, q.cluster, q.recipient, z.namespace, q.q_e * z.z AS q_e, "
        "q.q_w * z.z AS q_w FROM cq q JOIN (" + _ns_share("b, cluster, recipient") + ") z "
        "ON z.b = q.b AND z.cluster = q.cluster AND z.recipient = q.recipient)",
    ]


def _ns_share(within: str) -> str:
    """Per row of ``crn``: its namespace's share ``z`` of the recipient's cost ``within``."""
    over = f"OVER (PARTITION BY {within})"
    return (
        f"SELECT b, cluster, recipient, namespace, CASE WHEN SUM(d) {over} > 0 THEN d / SUM(d) "
        f"{over} ELSE 1.0 / COUNT(*) {over} END AS z FROM crn"
    )


def _idle_branch(settings: KubernetesSettings) -> list[str]:
    """SELECTs of (k0, k1, k2, recipient, w) for each node's idle fraction.

    Shared idle goes to the workloads of the node (``nq``) or of the cluster bucket (``cq``);
    where there are none, it stays ``idle:<cluster>``.
    """
    idle = settings.idle
    keep = f"{lit(IDLE_PREFIX)} || nf.cluster"
    total = _sum3("nf.i_{r}")
    res = _idle_res("nf.cluster")
    if idle.mode == "keep":
        return [f"SELECT nf.k0, nf.k1, nf.k2, {keep} AS recipient, {res}, {total} AS w FROM nf"]
    if idle.scope == "node":
        q, on = "nq", "q.k0 = nf.k0 AND q.k1 = nf.k1 AND q.k2 = nf.k2"
        holders = "(SELECT DISTINCT k0, k1, k2 FROM nq)"
        found, probe = "h.k0 = nf.k0 AND h.k1 = nf.k1 AND h.k2 = nf.k2", "h.k0"
    else:
        q, on = "cq", "q.b = nf.b AND q.cluster = nf.cluster"
        holders, found, probe = "ca", "h.b = nf.b AND h.cluster = nf.cluster", "h.b"
    share = _sum3("nf.i_{r} * q.q_{r}") if idle.split == "weighted" else f"({total}) * q.q_e"
    return [
        f"SELECT nf.k0, nf.k1, nf.k2, q.recipient, {res}, {share} AS w FROM nf JOIN {q} q ON {on}",
        f"SELECT nf.k0, nf.k1, nf.k2, {keep} AS recipient, {res}, {total} AS w FROM nf "
        f"LEFT JOIN {holders} h ON {found} WHERE {probe} IS NULL",
    ]


def _shared_branch(settings: KubernetesSettings) -> list[str]:
    """Shared namespaces' fractions → the cluster's other workloads (else kept by their team)."""
    q = "q.q_w" if settings.shared.split == "weighted" else "q.q_e"
    return [
        f"SELECT s.k0, s.k1, s.k2, q.recipient, {_res('q.cluster', 'q.namespace')}, s.f * {q} "
        "AS w FROM (SELECT k0, k1, k2, b, cluster, SUM(f) AS f FROM sr "
        "GROUP BY k0, k1, k2, b, cluster) s JOIN cqn q ON q.b = s.b AND q.cluster = s.cluster",
        f"SELECT sr.k0, sr.k1, sr.k2, sr.recipient, {_res('sr.cluster', 'sr.namespace')}, "
        "sr.f AS w FROM sr LEFT JOIN ca h ON h.b = sr.b AND h.cluster = sr.cluster "
        "WHERE h.b IS NULL",
    ]


def _overhead_branch(settings: KubernetesSettings) -> list[str]:
    """Pool rows that are not nodes → the workloads of every cluster in scope, per bucket."""
    q = "q_w" if settings.overhead.split == "weighted" else "q_e"
    return [
        f"SELECT o.k0, o.k1, o.k2, q.recipient, {_res('z.cluster', 'z.namespace')}, "
        f"q.{q} * z.z AS w FROM (SELECT kr.k0, kr.k1, kr.k2, "
        "kr.b FROM kr LEFT JOIN nd ON nd.rid = kr.k1 LEFT JOIN (SELECT DISTINCT rid FROM sm) sx "
        "ON sx.rid = kr.k1 WHERE nd.rid IS NULL AND sx.rid IS NULL) o JOIN (SELECT b, recipient, "
        "1.0 / COUNT(*) OVER (PARTITION BY b) AS q_e, CASE WHEN SUM(d) OVER (PARTITION BY b) > 0 "
        "THEN d / SUM(d) OVER (PARTITION BY b) ELSE 1.0 / COUNT(*) OVER (PARTITION BY b) END "
        "AS q_w FROM (SELECT b, recipient, SUM(d) AS d FROM cr GROUP BY b, recipient) x) q "
        f"ON q.b = o.b JOIN ({_ns_share('b, recipient')}) z ON z.b = q.b "
        "AND z.recipient = q.recipient"
    ]


def weights_sql(pool: Pool, period: dt.date, *, rules: RuleSet | None = None) -> str:
    """``SELECT k0, k1, k2, recipient, res_id, res_name, w`` for a kubernetes pool.

    Runs inside an allocation.

    Reads ``_a_rows`` (the pool's rows), ``_a_teams`` and the ``k8s_samples``/``k8s_nodes``
    tables. Per node key the weights are the (recipient, namespace) fractions of the node's cost, in
    integer units of 1e-12 (``DECIMAL(38, 0)``; they sum to 10^12 up to rounding); rows of
    a bucket without samples, or of a node without known capacity, get no weights (the engine
    sends them to ``unallocated:<pool>`` and reports them).
    """
    settings = settings_of(pool)
    rows = f"_a_rows WHERE _pool = {lit(POOL_PREFIX + pool.id)}"
    ctes = _model_ctes(
        settings, period, rows=rows, owner=container_owner(pool, rules), teams_table="_a_teams"
    )
    ctes += _share_ctes()
    branches = [
        f"SELECT k0, k1, k2, recipient, {_res('cluster', 'namespace')}, f AS w FROM drn",
        *_shared_branch(settings),
        *_idle_branch(settings),
        *_overhead_branch(settings),
    ]
    # NOTE: the engine sums weights exactly (DECIMAL) so that DuckDB and Spark agree; the
    # fractions become integers in units of 1e-12 of the node row (an integer needs no
    # engine-specific DOUBLE→DECIMAL conversion), and shares below that unit are dropped.
    units = f"FLOOR(SUM(w) * CAST({WEIGHT_UNITS!r} AS DOUBLE) + 0.5)"
    return (
        "WITH "
        + ",\n".join(ctes)
        + "\nSELECT k0, k1, k2, recipient, res_id, res_name, "
        + f"CAST(CAST({units} AS BIGINT) AS DECIMAL(38, 0)) AS w FROM (\n"
        + "\nUNION ALL\n".join(branches)
        + f"\n) u GROUP BY k0, k1, k2, recipient, res_id, res_name HAVING {units} > 0"
    )


# -- per-pod costs and the AWS split comparison ---------------------------------------------
def pod_costs_sql(pool: Pool, period: dt.date, *, rules: RuleSet | None = None) -> str:
    """Per bucket, node and pod: costline's direct cost and share of the node's idle cost.

    Reads the ``cost`` table (the node rows of the period), not a run: it answers "what does
    each pod cost" the way AWS split cost allocation does, whatever the pool shares further.
    Idle is shared within the node per resource, weighted by each pod's allocation.
    """
    settings = settings_of(pool)
    nxt = dt.date(period.year + period.month // 12, period.month % 12 + 1, 1)
    rows = (
        f"cost WHERE BillingPeriodStart >= TIMESTAMP '{period.isoformat()}' "
        f"AND BillingPeriodStart < TIMESTAMP '{nxt.isoformat()}' "
        f"AND {ident('ResourceId')} IN (SELECT node_resource_id FROM k8s_nodes)"
    )
    ctes = _model_ctes(
        settings, period, rows=rows, owner=container_owner(pool, rules), teams_table=None
    )
    node = "PARTITION BY cf.k0, cf.k1, cf.k2"
    idle = " + ".join(
        f"CASE WHEN SUM(cf.f_{r}) OVER ({node}) > 0 THEN nf.i_{r} * cf.f_{r} "
        f"/ SUM(cf.f_{r}) OVER ({node}) ELSE 0.0 END"
        for r in RESOURCES
    )
    return (
        "WITH "
        + ",\n".join(ctes)
        + ",\npc AS (SELECT cf.b, cf.cluster, cf.k1 AS node_resource_id, cf.namespace, cf.pod, "
        f"cf.recipient AS team, cf.cost_pos * ({_sum3('cf.f_{r}')}) AS direct, "
        f"cf.cost_pos * ({idle}) AS idle FROM cf JOIN nf ON nf.k0 = cf.k0 AND nf.k1 = cf.k1 "
        "AND nf.k2 = cf.k2)\n"
        "SELECT b, cluster, node_resource_id, namespace, pod, team, SUM(direct) AS direct, "
        "SUM(idle) AS idle FROM pc GROUP BY b, cluster, node_resource_id, namespace, pod, team"
    )


__all__ = [
    "K8S_TAGS",
    "ContainerOwner",
    "container_owner",
    "ensure_k8s_tables",
    "key_exprs",
    "load_nodes",
    "load_opencost",
    "load_samples",
    "pod_costs_sql",
    "weights_sql",
]
