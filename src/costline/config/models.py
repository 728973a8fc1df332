"""The ``costline.yaml`` models. Every model forbids unknown keys, so a typo is an error.

Example:
    >>> CostlineConfig.model_validate({"name": "acme"}).storage.database
    'costline.duckdb'
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from costline.config.anomalies import AnomaliesConfig
from costline.core.errors import ConfigError


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(ConfigModel):
    """Where and how the cost store lives."""

    engine: Literal["duckdb"] = Field("duckdb", description="Warehouse engine.")
    database: str = Field("costline.duckdb", description="DuckDB file, relative to the workspace.")
    memory_limit: str | None = Field(
        "1536MB",
        description="DuckDB memory limit; larger work spills to temp files (the process peaks "
        "about 250 MiB above it).",
    )
    threads: int | None = Field(None, ge=1, description="DuckDB threads (default: all cores).")


class IngestConfig(ConfigModel):
    """How raw files are received."""

    landing: Literal["copy", "none"] = Field(
        "copy",
        description="Keep an immutable copy of each raw file under landing/ (copy), "
        "or only record its checksum (none).",
    )


class SourceConfig(ConfigModel):
    """A named place `costline ingest` (with no paths) reads exports from."""

    name: str = Field(description="Label shown in reports.")
    paths: list[str] = Field(description="Files, directories or globs (relative to the workspace).")
    kind: str = Field("auto", description="Source kind, or auto to detect from the columns.")


class AllocationConfig(ConfigModel):
    """Where the ownership registry and the allocation rules live, and the default basis."""

    owners: str = Field("owners.yaml", description="Ownership registry, relative to the workspace.")
    rules: str = Field("rules", description="Rules file or folder of *.yaml (name order).")
    basis: Literal["EffectiveCost", "BilledCost"] = Field(
        "EffectiveCost",
        description="Cost column reports use: EffectiveCost (amortized) or BilledCost.",
    )


# -- alerts ---------------------------------------------------------------------------------
_CHANNEL_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
DEFAULT_ROUTE = "default"


def _check_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    try:
        _ = parts.port  # raises on a port that is not a number in 0-65535
    except ValueError as exc:
        raise ValueError(f"{value!r} has a bad port: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host, e.g. https://host/path")
    return value


class _Channel(ConfigModel):
    id: str = Field(pattern=_CHANNEL_ID, description="Channel id that routes refer to.")


class _UrlChannel(_Channel):
    url: str | None = Field(None, description="Endpoint URL (a secret: prefer url_env).")
    url_env: str | None = Field(
        None, pattern=_ENV_NAME, description="Environment variable holding the URL."
    )

    _url = field_validator("url")(_check_url)

    @model_validator(mode="after")
    def _one_url(self) -> _UrlChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError(f"channel {self.id!r}: set exactly one of url or url_env")
        return self


class SlackChannel(_UrlChannel):
    """A Slack incoming webhook."""

    type: Literal["slack"] = Field(description="Channel type.")


class WebhookChannel(_UrlChannel):
    """A generic JSON webhook (POST, ``Idempotency-Key`` header)."""

    type: Literal["webhook"] = Field(description="Channel type.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers with literal (non-secret) values."
    )
    headers_env: dict[str, Annotated[str, Field(pattern=_ENV_NAME)]] = Field(
        default_factory=dict, description="Extra headers whose value is read from an env var."
    )


class EmailChannel(_Channel):
    """Email through an SMTP server."""

    type: Literal["email"] = Field(description="Channel type.")
    host: str = Field(description="SMTP server host.")
    port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS.")
    username_env: str | None = Field(None, pattern=_ENV_NAME, description="Env var: SMTP user.")
    password_env: str | None = Field(None, pattern=_ENV_NAME, description="Env var: SMTP password.")
    from_: str = Field(alias="from", description="Sender address.")
    to: list[str] = Field(
        default_factory=list, description="Recipients; empty: the team's contacts.email."
    )

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _login_pair(self) -> EmailChannel:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError(
                f"channel {self.id!r}: set both username_env and password_env, or neither"
            )
        return self


class JiraChannel(_Channel):
    """Jira issues through the REST API v2 (one issue per series, updated)."""

    type: Literal["jira"] = Field(description="Channel type.")
    url: str = Field(description="Jira base URL, e.g. https://acme.atlassian.net.")
    user_env: str | None = Field(
        None, pattern=_ENV_NAME, description="Env var: user (basic auth); unset: bearer token."
    )
    token_env: str = Field(pattern=_ENV_NAME, description="Env var: API token.")
    project: str | None = Field(None, description="Project key; None: the team's contacts.jira.")
    issue_type: str = Field("Task", description="Issue type of created issues.")

    _url = field_validator("url")(_check_url)


ChannelConfig = Annotated[
    SlackChannel | WebhookChannel | EmailChannel | JiraChannel, Field(discriminator="type")
]


class RetryConfig(ConfigModel):
    """How a failing channel is retried within one delivery run."""

    attempts: int = Field(5, ge=1, description="Attempts per alert and channel in one run.")
    backoff_seconds: float = Field(1.0, ge=0, description="First backoff; doubles per attempt.")
    max_backoff_seconds: float = Field(60.0, ge=0, description="Cap of one backoff.")
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one network call.")


class AlertsConfig(ConfigModel):
    """Where anomaly alerts go: channels, routes per team, retries."""

    link: str | None = Field(None, description="Base URL of links in alerts.")
    channels: list[ChannelConfig] = Field(default_factory=list)
    routes: dict[str, list[str]] = Field(
        default_factory=dict, description="Team id (or default) to channel ids."
    )
    retry: RetryConfig = Field(default_factory=RetryConfig)

    _link = field_validator("link")(_check_url)

    @field_validator("channels")
    @classmethod
    def _unique_ids(cls, channels: list[ChannelConfig]) -> list[ChannelConfig]:
        seen: set[str] = set()
        for channel in channels:
            if channel.id in seen:
                raise ValueError(f"channel id {channel.id!r} is listed twice")
            seen.add(channel.id)
        return channels

    @field_validator("routes")
    @classmethod
    def _known_channels(
        cls, routes: dict[str, list[str]], info: ValidationInfo
    ) -> dict[str, list[str]]:
        known = [c.id for c in info.data.get("channels", [])]
        for team, ids in routes.items():
            for channel_id in ids:
                if channel_id not in known:
                    close = difflib.get_close_matches(channel_id, known, n=1)
                    tip = (
                        f"did you mean {close[0]!r}?"
                        if close
                        else f"channels: {', '.join(known) or 'none'}"
                    )
                    raise ValueError(f"route {team!r} names unknown channel {channel_id!r}; {tip}")
        return routes

    def channel(
        self, channel_id: str
    ) -> SlackChannel | WebhookChannel | EmailChannel | JiraChannel | None:
        """The channel with this id, or None."""
        return next((c for c in self.channels if c.id == channel_id), None)


class TicketCommitment(ConfigModel):
    """The commitment ``costline tickets sync`` sizes each night (kind ``commitment``), as
    ``costline commitments plan --term --payment --offering --lookback`` would."""

    enabled: bool = Field(True, description="False: the nightly recommends no commitment.")
    term: Literal["1y", "3y"] = Field("1y", description="Commitment term.")
    payment: Literal["no-upfront", "partial-upfront", "all-upfront"] = Field(
        "no-upfront", description="Payment option."
    )
    offering: Literal["convertible", "standard"] = Field(
        "convertible",
        description="convertible: Compute Savings Plan / convertible RIs; standard: standard RIs.",
    )
    lookback_days: int = Field(30, ge=1, description="Days of uncovered usage it is sized on.")


class TicketsConfig(ConfigModel):
    """Where ``costline tickets sync`` opens tickets for recommendations (issue #5)."""

    channel: str | None = Field(
        None, description="Id of an alerts.channels entry of type jira or webhook."
    )
    threshold: Decimal = Field(
        Decimal(200), ge=0, description="Monthly savings a recommendation needs for a ticket."
    )
    commitment: TicketCommitment = Field(
        default_factory=TicketCommitment, description="The commitment the nightly sizes."
    )


class SavingsConfig(ConfigModel):
    """The monthly savings digest (``costline savings digest --send``, issue #5)."""

    digest_channel: str | None = Field(
        None, description="Id of an alerts.channels entry of type email."
    )


SERVICE_JOBS = ("ingest", "allocate", "anomalies", "recommendations", "digest", "marts")


def check_cron(expr: str, *, job: str = "") -> str:
    """A valid 5-field cron expression (UTC), or ConfigError naming the job and the fix.

    Example:
        >>> check_cron("*/15 * * * *")
        '*/15 * * * *'
    """
    from croniter import croniter

    if len(expr.split()) != 5 or not croniter.is_valid(expr):
        raise ConfigError(
            f"schedule {expr!r}{f' of job {job}' if job else ''} is not a cron expression",
            hint="write five fields: minute hour day-of-month month day-of-week, "
            "e.g. '*/15 * * * *' or '0 6 * * *' (UTC)",
        )
    return expr


class ServiceConfig(ConfigModel):
    """``costline serve`` (issue #6): where its state store lives (users, tokens, runs, audit)."""

    state_url: str | None = Field(
        None,
        description="State store database URL: sqlite:///path/state.db or "
        "postgresql://user@host:5432/db (password from COSTLINE_STATE_PASSWORD); "
        "None: sqlite state.db in the workspace. COSTLINE_STATE_URL overrides it.",
    )

    schedules: dict[str, str] = Field(
        default_factory=dict,
        description="Job (ingest, allocate, anomalies, recommendations, digest, marts) to a "
        "5-field cron expression in UTC that `costline serve` runs it on, e.g. "
        "{ingest: '*/30 * * * *', recommendations: '0 6 * * *'}.",
    )
    retry_minutes: float = Field(
        15.0, gt=0, description="Minutes before a failed scheduled job is tried again."
    )
    max_attempts: int = Field(
        3, ge=1, description="Attempts of one scheduled run (the first one included)."
    )
    metrics_token_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding a bearer token that /metrics then requires "
        "(Prometheus: authorization.credentials); None: /metrics is open.",
    )

    @field_validator("schedules")
    @classmethod
    def _schedules(cls, value: dict[str, str]) -> dict[str, str]:
        for job, expr in value.items():
            if job not in SERVICE_JOBS:
                close = difflib.get_close_matches(job, SERVICE_JOBS, n=1)
                tip = f"did you mean {close[0]!r}?" if close else f"jobs: {', '.join(SERVICE_JOBS)}"
                raise ValueError(f"unknown job {job!r} in service.schedules; {tip}")
            try:
                check_cron(expr, job=job)
            except ConfigError as exc:
                raise ValueError(f"{exc.message}; {exc.hint}") from None
        return value

    @field_validator("state_url")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).password is not None:
            # NOTE: the message must not echo the URL: it holds the password.
            raise ValueError(
                "state_url holds a password; remove it from the file and set the environment "
                "variable COSTLINE_STATE_PASSWORD instead"
            )
        return value


class CostlineConfig(ConfigModel):
    """The whole ``costline.yaml``."""

    version: Literal[1] = Field(1, description="Config format version.")
    name: str = Field("costline", description="Workspace name shown in reports.")
    storage: StorageConfig = Field(default_factory=StorageConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    allocation: AllocationConfig = Field(default_factory=AllocationConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    anomalies: AnomaliesConfig = Field(default_factory=AnomaliesConfig)
    tickets: TicketsConfig = Field(default_factory=TicketsConfig)
    savings: SavingsConfig = Field(default_factory=SavingsConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)

    @model_validator(mode="after")
    def _ticket_channel(self) -> CostlineConfig:
        wanted = self.tickets.channel
        if wanted is None:
            return self
        channel = self.alerts.channel(wanted)
        if channel is None or channel.type not in ("jira", "webhook"):
            usable = [c.id for c in self.alerts.channels if c.type in ("jira", "webhook")]
            raise ValueError(
                f"tickets.channel {wanted!r} is not a jira or webhook channel under "
                f"alerts.channels; usable: {', '.join(usable) or 'none'}"
            )
        return self

    @model_validator(mode="after")
    def _digest_channel(self) -> CostlineConfig:
        wanted = self.savings.digest_channel
        if wanted is None:
            return self
        channel = self.alerts.channel(wanted)
        if channel is None or channel.type != "email":
            usable = [c.id for c in self.alerts.channels if c.type == "email"]
            raise ValueError(
                f"savings.digest_channel {wanted!r} is not an email channel under "
                f"alerts.channels; usable: {', '.join(usable) or 'none'}"
            )
        return self
