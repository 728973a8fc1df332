"""Conditions on cost rows: the tests allocation rules and anomaly monitors share.

Kept apart from :mod:`costline.config.allocation` so that reading the workspace config
(anomaly monitors use conditions) does not build every allocation model.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- conditions -----------------------------------------------------------------------------
class Condition(_Model):
    """A test on one column, tag or virtual tag of a cost row.

    Exactly one subject (``column``, ``tag`` or ``vtag``) and one operator. ``all`` / ``any`` /
    ``not`` combine conditions.
    """

    column: str | None = None
    tag: str | None = None
    vtag: str | None = None
    equals: str | None = None
    in_: list[str] | None = Field(None, alias="in")
    prefix: str | None = None
    regex: str | None = None
    missing: bool | None = None
    present: bool | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(None, alias="not")

    @property
    def operator(self) -> str:
        for op in ("equals", "in_", "prefix", "regex", "missing", "present"):
            if getattr(self, op) is not None:
                return op.rstrip("_")
        for op in ("all", "any", "not_"):
            if getattr(self, op) is not None:
                return op.rstrip("_")
        raise AssertionError("validated")

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        combinators = [n for n in ("all", "any", "not_") if getattr(self, n) is not None]
        subjects = [n for n in ("column", "tag", "vtag") if getattr(self, n) is not None]
        ops = [
            n
            for n in ("equals", "in_", "prefix", "regex", "missing", "present")
            if getattr(self, n) is not None
        ]
        if combinators:
            if subjects or ops or len(combinators) > 1:
                raise ValueError("use one of all / any / not alone, without column/tag/operator")
            return self
        if len(subjects) != 1:
            raise ValueError("name exactly one of column, tag or vtag")
        if len(ops) != 1:
            raise ValueError("give exactly one of equals, in, prefix, regex, missing, present")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from exc
        return self
