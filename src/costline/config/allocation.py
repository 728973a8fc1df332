"""Models of the allocation inputs: the ownership registry and the rule set.

``owners.yaml`` says who exists (business unit → department → team → cost center, with
contacts); ``rules/*.yaml`` says how every dollar reaches one of them (tag hygiene, virtual tags,
shared-cost pools). Both forbid unknown keys; :mod:`costline.config.rules_loader` turns any
problem into an error naming the file, the line and the fix.

Example:
    >>> Condition.model_validate({"tag": "team", "in": ["a", "b"]}).operator
    'in'
    >>> Pool.model_validate({"id": "support", "select": {"column": "ServiceName",
    ...     "equals": "Support"}, "method": "even", "to": ["a", "b"]}).method
    'even'
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from costline.config.conditions import Condition as Condition  # re-exported
from costline.config.conditions import _Model

UNALLOCATED = "unallocated"
POOL_PREFIX = "pool:"
# Tags a kubernetes pool's rules read from the container sample itself (besides its labels).
K8S_TAG_KEYS = ("k8s:cluster", "k8s:namespace", "k8s:node", "k8s:pod", "k8s:container")
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


# -- ownership registry ---------------------------------------------------------------------
class Contacts(_Model):
    email: str | None = Field(None, description="Team mailbox for statements and alerts.")
    slack: str | None = Field(None, description="Slack channel, e.g. #payments-costs.")
    jira: str | None = Field(None, description="Jira project key for tickets, e.g. PAY.")


class Team(_Model):
    id: str = Field(pattern=_ID, description="Team id used in tags and rules.")
    name: str | None = Field(None, description="Display name.")
    cost_center: str = Field(description="Cost center id the team's spend is charged to.")
    contacts: Contacts = Field(default_factory=Contacts)


class Department(_Model):
    name: str
    teams: list[Team] = Field(default_factory=list)


class BusinessUnit(_Model):
    name: str
    departments: list[Department] = Field(default_factory=list)


class CostCenter(_Model):
    id: str = Field(pattern=_ID)
    name: str | None = None
    owner: str | None = Field(None, description="Budget owner (person or mailbox).")


class OwnersRegistry(_Model):
    """The whole ``owners.yaml``."""

    version: Literal[1] = 1
    cost_centers: list[CostCenter] = Field(default_factory=list)
    business_units: list[BusinessUnit] = Field(default_factory=list)

    def teams(self) -> dict[str, TeamInfo]:
        out: dict[str, TeamInfo] = {}
        for bu in self.business_units:
            for dept in bu.departments:
                for team in dept.teams:
                    out[team.id] = TeamInfo(team, dept.name, bu.name)
        return out

    @model_validator(mode="after")
    def _unique(self) -> OwnersRegistry:
        seen: set[str] = set()
        for bu in self.business_units:
            for dept in bu.departments:
                for team in dept.teams:
                    if team.id in seen:
                        raise ValueError(f"team {team.id!r} is listed twice")
                    if team.id == UNALLOCATED or team.id.startswith(POOL_PREFIX):
                        raise ValueError(f"{team.id!r} is reserved; choose another team id")
                    seen.add(team.id)
        return self


class TeamInfo:
    """A team with its place in the hierarchy."""

    __slots__ = ("business_unit", "department", "team")

    def __init__(self, team: Team, department: str, business_unit: str) -> None:
        self.team = team
        self.department = department
        self.business_unit = business_unit


# -- tag hygiene ----------------------------------------------------------------------------
class TagKey(_Model):
    """One canonical tag key and the raw spellings that mean it."""

    key: str = Field(description="Canonical key, e.g. team.")
    aliases: list[str] = Field(
        default_factory=list,
        description="Other keys that mean the same (after case/whitespace folding), e.g. owner.",
    )
    values: dict[str, str] = Field(
        default_factory=dict,
        description="Value aliases: raw value (folded) → canonical value.",
    )
    fold_values: bool = Field(True, description="Compare values lower-cased and trimmed.")


class Inherit(_Model):
    """Tags that rows inherit from the account, subscription, project or resource group.

    A row's own tag wins; the first matching entry supplies a missing key.
    """

    column: str = Field(description="Row column holding the scope id, e.g. SubAccountId.")
    values: dict[str, dict[str, str]] = Field(
        description="Scope id → tags every row of that scope inherits."
    )


class TagRules(_Model):
    fold_keys: bool = Field(True, description="Match keys case- and whitespace-insensitively.")
    keys: list[TagKey] = Field(default_factory=list)
    inherit: list[Inherit] = Field(default_factory=list)


# -- virtual tags ---------------------------------------------------------------------------
class ValueFrom(_Model):
    column: str | None = None
    tag: str | None = None
    vtag: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ValueFrom:
        if sum(x is not None for x in (self.column, self.tag, self.vtag)) != 1:
            raise ValueError("value_from names exactly one of column, tag or vtag")
        return self


class VirtualTagRule(_Model):
    id: str = Field(pattern=_ID)
    when: Condition | None = Field(None, description="Omit to match every row.")
    value: str | None = None
    value_from: ValueFrom | None = None

    @model_validator(mode="after")
    def _value(self) -> VirtualTagRule:
        if (self.value is None) == (self.value_from is None):
            raise ValueError("give exactly one of value or value_from")
        return self


class VirtualTag(_Model):
    key: str = Field(pattern=_ID)
    rules: list[VirtualTagRule]
    default: str = UNALLOCATED


# -- shared-cost pools ----------------------------------------------------------------------
class Driver(_Model):
    """What a pool is split by."""

    cost_column: str = Field("EffectiveCost", description="For proportional: direct cost column.")
    metric: str | None = Field(None, description="For metric: metric name in the metrics table.")


# -- Kubernetes pools (method: kubernetes; see costline.allocation.kubernetes) --------------
K8S_COST_COLUMNS = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")


class KubernetesWeights(_Model):
    """How a node's cost is divided between its CPU, memory and GPUs.

    ``aws`` (default) uses AWS split cost allocation's relative unit weights: 9 per vCPU-hour
    and 1 per GiB-hour on nodes without GPUs; 9 per GPU-hour, 0.9 per vCPU-hour and 0.1 per
    GiB-hour on nodes with GPUs. ``prices`` uses the relative base prices given here
    (OpenCost's normalisation: each resource keeps its price ratio, scaled to the node cost);
    ``opencost`` uses OpenCost's default base prices (configs/default.json: CPU 0.031611 per
    core-hour, RAM 0.004237 per GiB-hour, GPU 0.95 per GPU-hour).
    """

    preset: Literal["aws", "prices", "opencost"] = "aws"
    cpu: float | None = Field(None, ge=0, description="prices: base price per core-hour.")
    memory: float | None = Field(None, ge=0, description="prices: base price per GiB-hour.")
    gpu: float | None = Field(None, ge=0, description="prices: base price per GPU-hour.")

    @model_validator(mode="after")
    def _prices(self) -> KubernetesWeights:
        given = [n for n in ("cpu", "memory", "gpu") if getattr(self, n) is not None]
        if self.preset != "prices" and given:
            raise ValueError(f"cpu/memory/gpu prices apply to preset: prices, not {self.preset}")
        if self.preset == "prices" and (self.cpu is None or self.memory is None):
            raise ValueError("preset prices needs at least cpu and memory base prices")
        return self


class KubernetesIdle(_Model):
    """Node capacity no container used: kept as ``idle:<cluster>`` or shared."""

    mode: Literal["keep", "share"] = "keep"
    scope: Literal["node", "cluster"] = Field("node", description="share: within what.")
    split: Literal["weighted", "even"] = Field("weighted", description="share: how.")


class KubernetesShared(_Model):
    """Namespaces that serve everyone (kube-system, monitoring): their cost is shared."""

    namespaces: list[str] = Field(default_factory=list)
    split: Literal["weighted", "even"] = "weighted"


class KubernetesOverhead(_Model):
    """Pool rows that are not nodes (e.g. the EKS cluster fee): shared to the workloads."""

    split: Literal["weighted", "even"] = "weighted"


class KubernetesSettings(_Model):
    """Settings of a ``method: kubernetes`` pool (one pool per cluster is the usual shape)."""

    cluster: str | None = Field(None, description="Cluster name in the samples; omit: all.")
    cost_column: Literal["EffectiveCost", "BilledCost", "ListCost", "ContractedCost"] = (
        "EffectiveCost"
    )
    granularity: Literal["hourly", "daily", "monthly"] = Field(
        "daily", description="Bucket the node cost is split in (hourly needs an hourly bill)."
    )
    weights: KubernetesWeights = Field(default_factory=KubernetesWeights)
    idle: KubernetesIdle = Field(default_factory=KubernetesIdle)
    shared: KubernetesShared = Field(default_factory=KubernetesShared)
    overhead: KubernetesOverhead = Field(default_factory=KubernetesOverhead)
    teams: list[VirtualTagRule] | None = Field(
        None,
        description="Rules mapping a container to a team (first match wins); omit to use the "
        "rule set's owner virtual tag.",
    )

    @field_validator("teams")
    @classmethod
    def _no_vtags(cls, v: list[VirtualTagRule] | None) -> list[VirtualTagRule] | None:
        def uses_vtag(c: Condition | None) -> bool:
            if c is None:
                return False
            subs = (c.all or []) + (c.any or []) + ([c.not_] if c.not_ else [])
            return c.vtag is not None or any(uses_vtag(x) for x in subs)

        for rule in v or []:
            if uses_vtag(rule.when) or (rule.value_from and rule.value_from.vtag):
                raise ValueError(
                    f"kubernetes.teams rule {rule.id!r} reads a vtag: these rules test the "
                    "container's labels and k8s:* tags only"
                )
        return v


# -- GPU pools (method: gpu; see costline.allocation.gpu) -----------------------------------
class GpuIdle(_Model):
    """GPU-hours of a node that no job used: kept (as ``idle:<pool id>`` or by the team ``to``
    names) or shared to the node's jobs."""

    mode: Literal["keep", "share"] = Field(
        "keep",
        description="keep: idle GPU-hours go to the idle recipient; share: to the jobs of the "
        "same node and bucket, by their GPU-hours (a bucket without jobs stays idle).",
    )
    to: str | None = Field(
        None,
        pattern=_ID,
        description="The idle recipient: a team id from owners.yaml; omit for idle:<pool id>.",
    )


class GpuSettings(_Model):
    """Settings of a ``method: gpu`` pool: GPU node rows split by the jobs' GPU-hours."""

    granularity: Literal["hourly", "daily"] = Field(
        "hourly",
        description="Bucket a node's cost is split in: hourly (each charge period of the bill, "
        "at least an hour) or daily (the day of ChargePeriodStart).",
    )
    node_hours: Literal["bucket", "jobs"] = Field(
        "bucket",
        description="Hours a node is counted as up in a bucket (capacity = GPUs x hours): the "
        "whole bucket, or from its first job's start to its last job's end in the bucket.",
    )
    idle: GpuIdle = Field(default_factory=GpuIdle)
    owner: str = Field(
        "team", min_length=1, description="Jobs-file column (or extra column) naming the team."
    )
    model: str = Field(
        "model", min_length=1, description="Jobs-file column (or extra column) naming the model."
    )


class Pool(_Model):
    id: str = Field(pattern=_ID)
    select: Condition = Field(description="Rows that form the pool.")
    method: Literal["even", "fixed", "proportional", "metric", "kubernetes", "gpu"]
    to: list[str] | Literal["all"] = Field(
        "all",
        description="Recipients: team ids and pool:<id>; all = every team with direct cost.",
    )
    shares: dict[str, Decimal] | None = Field(None, description="fixed: recipient → percent.")
    driver: Driver = Field(default_factory=Driver)
    exclude: list[str] = Field(default_factory=list, description="Recipients never charged.")
    partition: list[str] = Field(
        default_factory=lambda: ["x_Provider"],
        description="Columns the split is computed within (besides the billing period).",
    )
    granularity: Literal["monthly", "daily"] = "monthly"
    kubernetes: KubernetesSettings | None = Field(
        None, description="method kubernetes: cluster, weights, idle, shared namespaces."
    )
    gpu: GpuSettings | None = Field(
        None, description="method gpu: granularity, node hours, idle, owner and model columns."
    )

    @model_validator(mode="after")
    def _method(self) -> Pool:
        if self.method == "kubernetes":
            return self._kubernetes()
        if self.method == "gpu":
            return self._gpu()
        if self.gpu is not None:
            raise ValueError(f"gpu settings only apply to method gpu, not {self.method}")
        if self.kubernetes is not None:
            raise ValueError(
                f"kubernetes settings only apply to method kubernetes, not {self.method}"
            )
        if self.method == "fixed":
            if not self.shares:
                raise ValueError("method fixed needs shares: {recipient: percent, ...}")
            total = sum(self.shares.values(), Decimal(0))
            if total != Decimal(100):
                raise ValueError(f"fixed shares must sum to 100, they sum to {total}")
            if any(v < 0 for v in self.shares.values()):
                raise ValueError("fixed shares must not be negative")
        elif self.shares is not None:
            raise ValueError(f"shares only apply to method fixed, not {self.method}")
        if self.method == "metric" and not self.driver.metric:
            raise ValueError("method metric needs driver: {metric: <name>}")
        return self

    def _kubernetes(self) -> Pool:
        if self.kubernetes is None:
            raise ValueError("method kubernetes needs kubernetes: {cluster: ..., ...}")
        unused = [
            f for f in ("to", "shares", "exclude", "granularity") if f in self.model_fields_set
        ]
        if unused:
            raise ValueError(
                f"{unused[0]} is not used by method kubernetes (recipients come from the "
                "containers' teams; set kubernetes.granularity for the bucket)"
            )
        return self

    def _gpu(self) -> Pool:
        if self.kubernetes is not None:
            raise ValueError("kubernetes settings only apply to method kubernetes, not gpu")
        unused = [
            f for f in ("to", "shares", "exclude", "granularity") if f in self.model_fields_set
        ]
        if unused:
            raise ValueError(
                f"{unused[0]} is not used by method gpu (recipients are the jobs' teams; set "
                "gpu.granularity for the bucket)"
            )
        return self

    def recipients(self) -> list[str] | None:
        """Listed recipients (None: every team with direct cost)."""
        if self.method == "fixed":
            assert self.shares is not None
            return list(self.shares)
        return None if self.to == "all" else list(self.to)


class Owner(_Model):
    """Which virtual tag names the owning team."""

    vtag: str = Field("team", description="Virtual tag whose value is a team id.")


class RuleSet(_Model):
    """One rules file, or several merged (``rules/*.yaml`` in name order)."""

    version: Literal[1] = 1
    tags: TagRules = Field(default_factory=TagRules)
    virtual_tags: list[VirtualTag] = Field(default_factory=list)
    owner: Owner = Field(default_factory=Owner)
    pools: list[Pool] = Field(default_factory=list)

    @field_validator("virtual_tags")
    @classmethod
    def _unique_vtags(cls, v: list[VirtualTag]) -> list[VirtualTag]:
        keys = [t.key for t in v]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"virtual tag {sorted(dup)[0]!r} is defined twice")
        ids = [r.id for t in v for r in t.rules]
        dup = {k for k in ids if ids.count(k) > 1}
        if dup:
            raise ValueError(f"rule id {sorted(dup)[0]!r} is used twice")
        return v

    @field_validator("pools")
    @classmethod
    def _unique_pools(cls, v: list[Pool]) -> list[Pool]:
        ids = [p.id for p in v]
        dup = {k for k in ids if ids.count(k) > 1}
        if dup:
            raise ValueError(f"pool id {sorted(dup)[0]!r} is used twice")
        return v


def merge_rule_documents(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several rules files → one document: lists concatenate in file order, tags merge."""
    out: dict[str, Any] = {"version": 1}
    for doc in docs:
        for key, value in doc.items():
            if key == "version":
                continue
            if key in ("virtual_tags", "pools"):
                out.setdefault(key, []).extend(value or [])
            elif key == "tags":
                tags = out.setdefault("tags", {})
                for tkey, tval in (value or {}).items():
                    if isinstance(tval, list):
                        tags.setdefault(tkey, []).extend(tval)
                    else:
                        tags[tkey] = tval
            else:
                out[key] = value
    return out
