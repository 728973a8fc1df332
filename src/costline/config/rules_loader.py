"""Load ``owners.yaml`` and ``rules/*.yaml`` with errors that name the file, the line and the fix.

Two passes: each file is parsed and validated on its own (shape errors point at the exact key),
then the merged rule set is checked against the owners and the cost table's columns (unknown
column, tag, team or pool; pools that feed each other in a cycle), pointing at the rule or pool
that is wrong. Nothing touches data until both passes are clean.
"""

from __future__ import annotations

import difflib
import graphlib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from costline.config.allocation import (
    K8S_TAG_KEYS,
    POOL_PREFIX,
    UNALLOCATED,
    Condition,
    OwnersRegistry,
    Pool,
    RuleSet,
    ValueFrom,
)
from costline.config.loader import line_of
from costline.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from exc
    try:
        node = yaml.compose(text) if text.strip() else None
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            path=path,
            line=mark.line + 1 if mark else None,
            hint="check indentation and quoting at that line",
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", path=path, line=1)
    return data, node


def _validate(model: type[M], data: dict[str, Any], node: yaml.Node | None, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        hint = "see docs/reference/rules.md"
        if err["type"] == "extra_forbidden":
            hint = f"remove or rename {loc[-1]!r}; see docs/reference/rules.md"
        raise ConfigError(
            msg,
            path=path,
            line=line_of(node, loc),
            key=".".join(str(p) for p in loc),
            hint=hint,
        ) from exc


def load_owners(path: Path) -> OwnersRegistry:
    """Read and validate an ``owners.yaml``."""
    data, node = _read_yaml(path)
    owners = _validate(OwnersRegistry, data, node, path)
    known_cc = {cc.id for cc in owners.cost_centers}
    if known_cc:
        for i, bu in enumerate(owners.business_units):
            for j, dept in enumerate(bu.departments):
                for k, team in enumerate(dept.teams):
                    if team.cost_center not in known_cc:
                        loc = ("business_units", i, "departments", j, "teams", k, "cost_center")
                        raise ConfigError(
                            f"team {team.id!r} names unknown cost center {team.cost_center!r}",
                            path=path,
                            line=line_of(node, loc),
                            key=".".join(str(p) for p in loc),
                            hint=_close("cost center", team.cost_center, known_cc),
                        )
    return owners


@dataclass
class LoadedRules:
    """A validated rule set, where each of its parts was written, and its version hash."""

    rules: RuleSet
    files: list[Path]
    version: str
    where: dict[str, tuple[Path, int | None]] = field(default_factory=dict)

    def locate(self, key: str) -> tuple[Path | None, int | None]:
        path, line = self.where.get(key, (self.files[0] if self.files else None, None))
        return path, line


def rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path]


def load_rules(path: Path) -> LoadedRules:
    """Read one rules file or every ``*.yaml`` of a folder (name order) into one rule set."""
    files = rule_files(path)
    if not files or not all(f.is_file() for f in files):
        raise ConfigError(
            f"no rules found at {path}",
            path=path,
            hint="write rules/allocation.yaml (see docs/how-to/write-allocation-rules.md)",
        )
    merged: dict[str, list[Any]] = {"virtual_tags": [], "pools": []}
    tag_parts: list[Any] = []
    owner: Any = None
    where: dict[str, tuple[Path, int | None]] = {}
    canonical: list[Any] = []
    for f in files:
        data, node = _read_yaml(f)
        part = _validate(RuleSet, data, node, f)
        canonical.append(part.model_dump(mode="json", by_alias=True))
        for i, vt in enumerate(part.virtual_tags):
            where[f"vtag:{vt.key}"] = (f, line_of(node, ("virtual_tags", i)))
            for j, rule in enumerate(vt.rules):
                where[f"rule:{rule.id}"] = (f, line_of(node, ("virtual_tags", i, "rules", j)))
        for i, pool in enumerate(part.pools):
            where[f"pool:{pool.id}"] = (f, line_of(node, ("pools", i)))
            for j, rule in enumerate((pool.kubernetes.teams or []) if pool.kubernetes else []):
                at = ("pools", i, "kubernetes", "teams", j)
                where[f"pool:{pool.id}:kubernetes.teams:{rule.id}"] = (f, line_of(node, at))
            if pool.gpu is not None and pool.gpu.idle.to is not None:
                idle_at = ("pools", i, "gpu", "idle", "to")
                where[f"pool:{pool.id}:gpu.idle.to"] = (f, line_of(node, idle_at))
        for i, _ in enumerate(part.tags.keys):
            where.setdefault(f"tagkey:{part.tags.keys[i].key}", (f, line_of(node, ("tags",))))
        if "tags" in data:
            where.setdefault("tags", (f, line_of(node, ("tags",))))
            tag_parts.append(part.tags)
        if "owner" in data:
            owner = part.owner
            where["owner"] = (f, line_of(node, ("owner",)))
        merged["virtual_tags"].extend(part.virtual_tags)
        merged["pools"].extend(part.pools)
    tags: dict[str, Any] = {"keys": [], "inherit": []}
    for t in tag_parts:
        tags["keys"].extend(t.keys)
        tags["inherit"].extend(t.inherit)
        tags["fold_keys"] = t.fold_keys
    try:
        rules = RuleSet.model_validate(
            {
                "virtual_tags": merged["virtual_tags"],
                "pools": merged["pools"],
                "tags": tags,
                **({"owner": owner} if owner is not None else {}),
            }
        )
    except ValidationError as exc:
        raise ConfigError(
            str(exc.errors()[0]["msg"]).removeprefix("Value error, "),
            path=files[0].parent if len(files) > 1 else files[0],
            hint="ids must be unique across all rules files",
        ) from exc
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:12]
    return LoadedRules(rules, files, digest, where)


# -- semantic checks ------------------------------------------------------------------------
def _close(what: str, value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"no such {what}; add it to owners.yaml or fix the name"


def _conditions(cond: Condition) -> Iterable[Condition]:
    yield cond
    for sub in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
        yield from _conditions(sub)


def check_rules(loaded: LoadedRules, owners: OwnersRegistry, columns: Iterable[str]) -> None:
    """Reject a rule set that cannot run: unknown column, vtag, team or pool; a pool cycle.

    Raises:
        ConfigError: naming the rules file and line of the offending rule or pool.
    """
    rules = loaded.rules
    cols = set(columns)
    teams = set(owners.teams())
    pools = {p.id for p in rules.pools}

    def fail(key: str, message: str, hint: str) -> None:
        path, line = loaded.locate(key)
        raise ConfigError(message, path=path, line=line, hint=hint)

    def check_subject(key: str, column: str | None, vtag: str | None, seen: set[str]) -> None:
        if column is not None and column not in cols:
            fail(key, f"unknown column {column!r}", _close("column", column, cols))
        if vtag is not None and vtag not in seen:
            hint = (
                f"virtual tag {vtag!r} is defined later; move it above this rule"
                if vtag in {v.key for v in rules.virtual_tags}
                else _close("virtual tag", vtag, seen)
            )
            fail(key, f"unknown virtual tag {vtag!r}", hint)

    def check_condition(key: str, cond: Condition | None, seen: set[str]) -> None:
        if cond is None:
            return
        for c in _conditions(cond):
            check_subject(key, c.column, c.vtag, seen)

    def check_team(key: str, value: str, *, allow_pool: bool) -> None:
        if value.startswith(POOL_PREFIX):
            if not allow_pool:
                fail(key, f"{value!r}: a pool cannot be named here", "name a team id")
            if value[len(POOL_PREFIX) :] not in pools:
                fail(
                    key, f"unknown pool {value!r}", _close("pool", value[len(POOL_PREFIX) :], pools)
                )
            return
        if value != UNALLOCATED and value not in teams:
            fail(key, f"unknown team {value!r}", _close("team", value, teams))

    seen_vtags: set[str] = set()
    for vt in rules.virtual_tags:
        for rule in vt.rules:
            key = f"rule:{rule.id}"
            check_condition(key, rule.when, seen_vtags)
            if rule.value_from is not None:
                vf: ValueFrom = rule.value_from
                check_subject(key, vf.column, vf.vtag, seen_vtags)
            if vt.key == rules.owner.vtag and rule.value is not None:
                check_team(key, rule.value, allow_pool=False)
        if vt.key == rules.owner.vtag and vt.default != UNALLOCATED:
            check_team(f"vtag:{vt.key}", vt.default, allow_pool=False)
        seen_vtags.add(vt.key)
    if rules.virtual_tags and rules.owner.vtag not in seen_vtags:
        fail(
            "owner",
            f"owner.vtag {rules.owner.vtag!r} is not a virtual tag",
            _close("virtual tag", rules.owner.vtag, seen_vtags),
        )

    graph: dict[str, set[str]] = {}
    for pool in rules.pools:
        key = f"pool:{pool.id}"
        check_condition(key, pool.select, seen_vtags)
        for col in pool.partition:
            check_subject(key, col, None, seen_vtags)
        if pool.method == "proportional":
            check_subject(key, pool.driver.cost_column, None, seen_vtags)
        for r in (pool.recipients() or []) + pool.exclude:
            check_team(key, r, allow_pool=True)
        graph[pool.id] = {
            r[len(POOL_PREFIX) :] for r in (pool.recipients() or []) if r.startswith(POOL_PREFIX)
        }
        if pool.id in graph[pool.id]:
            fail(key, f"pool {pool.id!r} sends cost to itself", "remove it from its own `to`")
        idle_to = pool.gpu.idle.to if pool.gpu is not None else None  # -- gpu pools
        if idle_to is not None and idle_to != UNALLOCATED and idle_to not in teams:
            fail(
                f"{key}:gpu.idle.to" if f"{key}:gpu.idle.to" in loaded.where else key,
                f"gpu.idle.to {idle_to!r} of pool {pool.id!r} is not a team in owners.yaml",
                _close("team", idle_to, teams) + " (or omit idle.to for idle:" + pool.id + ")",
            )
        _check_k8s_teams(loaded, pool, teams)
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        fail(
            f"pool:{cycle[0]}",
            "pools feed each other in a cycle: " + " → ".join(cycle),
            "a pool may pass cost only to pools that do not, directly or not, pass it back",
        )


def _check_k8s_teams(loaded: LoadedRules, pool: Pool, teams: set[str]) -> None:
    """A kubernetes pool's own ``teams`` rules: known teams, labels or ``k8s:*`` keys only."""
    for rule in (pool.kubernetes.teams or []) if pool.kubernetes else []:
        key = f"pool:{pool.id}:kubernetes.teams:{rule.id}"
        path, line = loaded.locate(key if key in loaded.where else f"pool:{pool.id}")
        what = f"kubernetes.teams rule {rule.id!r} of pool {pool.id!r}"
        conds = list(_conditions(rule.when)) if rule.when is not None else []
        vf = rule.value_from
        for column in [c.column for c in conds] + [vf.column if vf else None]:
            if column is not None:
                raise ConfigError(
                    f"{what} reads column {column!r}: a container has no bill columns",
                    path=path,
                    line=line,
                    hint="test a pod label (tag: team) or one of " + ", ".join(K8S_TAG_KEYS),
                )
        for tag in [c.tag for c in conds] + [vf.tag if vf else None]:
            if tag is not None and tag.startswith("k8s:") and tag not in K8S_TAG_KEYS:
                raise ConfigError(
                    f"{what} reads unknown tag {tag!r}",
                    path=path,
                    line=line,
                    hint=next(
                        (
                            f"did you mean {c!r}?"
                            for c in difflib.get_close_matches(tag, K8S_TAG_KEYS, n=1)
                        ),
                        "use one of " + ", ".join(K8S_TAG_KEYS),
                    ),
                )
        if rule.value is not None and rule.value != UNALLOCATED and rule.value not in teams:
            raise ConfigError(
                f"{what} names unknown team {rule.value!r}",
                path=path,
                line=line,
                hint=_close("team", rule.value, teams),
            )


def pool_order(pools: list[Pool]) -> list[Pool]:
    """Pools in waterfall order: a pool comes after every pool that feeds it."""
    by_id = {p.id: p for p in pools}
    # A pool's predecessors are the pools that send cost to it.
    graph: dict[str, set[str]] = {p.id: set() for p in pools}
    for p in pools:
        for r in p.recipients() or []:
            if r.startswith(POOL_PREFIX):
                graph[r[len(POOL_PREFIX) :]].add(p.id)
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=[p.id for p in pools].index)
        order.extend(ready)
        sorter.done(*ready)
    return [by_id[i] for i in order]
