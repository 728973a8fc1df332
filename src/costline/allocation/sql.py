"""Rule pieces → SQL expressions (DuckDB dialect, kept to what sqlglot carries to Spark SQL).

Tags are read with plain map subscripts (``Tags['Team']``): the spellings of a canonical key
found in the period's data are resolved in Python first, so the SQL has no lambdas and each
row pays one lookup per spelling.

Example:
    >>> from costline.config.allocation import Condition
    >>> ctx = Context(tag_exprs={"team": "\\"_t:team\\""}, vtag_cols={})
    >>> print(condition_sql(Condition.model_validate({"tag": "team", "in": ["a", "b"]}), ctx))
    ("_t:team" IN ('a', 'b'))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from costline.config.allocation import Condition, TagKey, TagRules, ValueFrom


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def fold(key: str) -> str:
    """How keys (and folded values) compare: case and surrounding/inner whitespace ignored."""
    return re.sub(r"\s+", " ", key.strip().lower())


@dataclass(frozen=True)
class Context:
    """Where a condition finds tags and virtual tags: SQL expressions by canonical name."""

    tag_exprs: Mapping[str, str]
    vtag_cols: Mapping[str, str]

    def subject(self, *, column: str | None, tag: str | None, vtag: str | None) -> str:
        if column is not None:
            return ident(column)
        if tag is not None:
            return self.tag_exprs.get(tag, "CAST(NULL AS VARCHAR)")
        assert vtag is not None
        return self.vtag_cols[vtag]


def condition_sql(cond: Condition, ctx: Context) -> str:
    """A boolean SQL expression that is never NULL (NULL subjects are simply not matched)."""
    if cond.all is not None:
        return "(" + " AND ".join(condition_sql(c, ctx) for c in cond.all) + ")"
    if cond.any is not None:
        return "(" + " OR ".join(condition_sql(c, ctx) for c in cond.any) + ")"
    if cond.not_ is not None:
        return f"(NOT {condition_sql(cond.not_, ctx)})"
    subject = ctx.subject(column=cond.column, tag=cond.tag, vtag=cond.vtag)
    text = f"CAST({subject} AS VARCHAR)" if cond.column is not None else subject
    if cond.missing is not None or cond.present is not None:
        is_missing = cond.missing if cond.missing is not None else not cond.present
        test = f"({text} IS NULL OR {text} = '')"
        return test if is_missing else f"(NOT {test})"
    if cond.equals is not None:
        return f"COALESCE({text} = {lit(cond.equals)}, FALSE)"
    if cond.in_ is not None:
        if not cond.in_:
            return "FALSE"
        return f"({text} IN ({', '.join(lit(v) for v in cond.in_)}))"
    if cond.prefix is not None:
        return f"COALESCE(starts_with({text}, {lit(cond.prefix)}), FALSE)"
    assert cond.regex is not None
    return f"COALESCE(regexp_matches({text}, {lit(cond.regex)}), FALSE)"


def value_sql(vf: ValueFrom, ctx: Context) -> str:
    text = ctx.subject(column=vf.column, tag=vf.tag, vtag=vf.vtag)
    return f"CAST({text} AS VARCHAR)" if vf.column is not None else text


def _spellings(
    canonical: str, aliases: Iterable[str], raw_keys: Iterable[str], folding: bool
) -> list[str]:
    """The raw keys of the data that mean ``canonical``: exact key first, then by name."""
    wanted = [canonical, *aliases]
    if not folding:
        return [k for k in wanted if k in set(raw_keys)]
    targets = {fold(w): i for i, w in enumerate(wanted)}
    found = [(targets[fold(k)], k != canonical, k) for k in raw_keys if fold(k) in targets]
    return [k for _, _, k in sorted(found)]


@dataclass(frozen=True)
class TagSql:
    """How a canonical tag is read from a cost row.

    ``raw`` is the row's own tag under any spelling, else the first inherited one; ``fold``
    lower-cases and trims it; ``aliases`` maps values (a CASE over ``{col}``).
    """

    raw: str
    fold: bool = False
    aliases: str | None = None

    def folded(self, col: str) -> str:
        """``col`` (holding ``raw``) folded as the key asks."""
        return f"NULLIF(lower(trim({col})), '')" if self.fold else col

    def aliased(self, col: str) -> str:
        """``col`` (holding the folded value) with value aliases applied."""
        return self.aliases.format(col=col) if self.aliases else col

    def canonical(self, col: str) -> str:
        """The canonical value from ``col`` holding ``raw``, in one expression."""
        return self.aliased(self.folded(col))


def tag_exprs(
    rules: TagRules, referenced: Iterable[str], raw_keys: Iterable[str]
) -> dict[str, TagSql]:
    """How each referenced canonical tag is read (see :class:`TagSql`)."""
    keys = list(raw_keys)
    spec: dict[str, TagKey] = {k.key: k for k in rules.keys}
    out: dict[str, TagSql] = {}
    for name in referenced:
        key = spec.get(name, TagKey(key=name))
        parts = [
            f"NULLIF(Tags[{lit(k)}], '')"
            for k in _spellings(name, key.aliases, keys, rules.fold_keys)
        ]
        for inh in rules.inherit:
            whens = " ".join(
                f"WHEN {lit(scope)} THEN {lit(tags[name])}"
                for scope, tags in sorted(inh.values.items())
                if name in tags
            )
            if whens:
                parts.append(f"(CASE CAST({ident(inh.column)} AS VARCHAR) {whens} END)")
        if not parts:
            out[name] = TagSql("CAST(NULL AS VARCHAR)")
            continue
        raw = parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"
        alias = None
        if key.values:
            whens = " ".join(
                f"WHEN {lit(fold(src) if key.fold_values else src)} THEN {lit(dst)}"
                for src, dst in sorted(key.values.items())
            )
            alias = f"(CASE {{col}} {whens} ELSE {{col}} END)"
        out[name] = TagSql(raw, key.fold_values, alias)
    return out


def referenced_tags(
    rules_conditions: Iterable[Condition], value_froms: Iterable[ValueFrom]
) -> list[str]:
    """Every tag name the conditions and value sources read, in first-use order."""
    seen: dict[str, None] = {}

    def walk(c: Condition) -> None:
        if c.tag is not None:
            seen.setdefault(c.tag)
        for sub in (c.all or []) + (c.any or []) + ([c.not_] if c.not_ else []):
            walk(sub)

    for cond in rules_conditions:
        walk(cond)
    for vf in value_froms:
        if vf.tag is not None:
            seen.setdefault(vf.tag)
    return list(seen)
