"""The costline exception tree.

Every error a user can cause derives from :class:`CostlineError` and carries the context
needed to act on it (file, row, column, key) plus a ``hint`` that says what to do next::

    CostlineError
    ├── ConfigError            costline.yaml / rules: file, line, key
    ├── WorkspaceError         no workspace found, database locked, ...
    ├── SourceError            an input file: file, row, column
    │   ├── UnknownFormatError
    │   ├── NotCostDataError   a known dataset that is not cost data: skipped
    │   └── BadInputError      unparsable value, missing column, mixed currency, ...
    ├── SchemaError            FOCUS schema violations in our own output
    ├── StorageError
    ├── QueryError             user SQL failed
    └── MissingDependencyError an optional extra is not installed

Retry code never parses messages: :class:`TransientError` marks errors worth retrying.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CostlineError(Exception):
    """Base of every costline error: a message plus an optional hint naming the fix."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message


class TransientError(CostlineError):
    """Mix-in: the operation may succeed if retried."""


class TerminalError(CostlineError):
    """Mix-in: retrying will not help."""


class ConfigError(TerminalError):
    """A configuration file is invalid."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f":{line}"
            where += ": "
        if key:
            where += f"{key}: "
        super().__init__(f"{where}{message}", hint=hint)
        self.path = path
        self.line = line
        self.key = key


class NotFoundError(ConfigError):
    """What a command or request names does not exist (the API answers 404)."""


class ConflictError(ConfigError):
    """What a command or request would create exists already (the API answers 409)."""


class WorkspaceError(TerminalError):
    """The workspace is missing, locked or inconsistent."""


@dataclass(frozen=True)
class Location:
    """Where in an input file a problem was found (1-based data row, raw column name)."""

    file: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def describe(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        text = ", ".join(parts)
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            text += f", value {shown!r}"
        return text


class SourceError(TerminalError):
    """An input file cannot be ingested. ``location`` says where, ``reason`` is a short code."""

    reason = "source-error"

    def __init__(self, message: str, *, location: Location, hint: str | None = None) -> None:
        super().__init__(f"{location.describe()}: {message}", hint=hint)
        self.location = location
        self.detail = message


class UnknownFormatError(SourceError):
    reason = "unknown-format"


class NotCostDataError(SourceError):
    """A recognised file that is not cost and usage data (e.g. a FOCUS ContractCommitment
    dataset): skipped, not quarantined."""

    reason = "not-cost-data"


class BadInputError(SourceError):
    """The file is of a known format but its content is invalid."""

    reason = "bad-input"

    def __init__(
        self, message: str, *, location: Location, reason: str, hint: str | None = None
    ) -> None:
        super().__init__(message, location=location, hint=hint)
        self.reason = reason


class SchemaError(TerminalError):
    """Data does not conform to the FOCUS schema where we promise it does."""


class StorageError(CostlineError):
    """The warehouse could not be read or written."""


class DatabaseLockedError(StorageError, TransientError):
    """Another process holds the warehouse file."""


class QueryError(TerminalError):
    """A user query failed."""


class MissingDependencyError(TerminalError):
    """An optional extra is needed. The hint is the exact pip line."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(
            f"{what} needs the optional extra [{extra}]",
            hint=f'pip install "costline[{extra}]"',
        )
        self.extra = extra
