"""Connecting to the state store and migrating it: URL resolution, engine, Alembic in code.

The URL comes from ``service.state_url`` in costline.yaml, overridden by the environment
variable ``COSTLINE_STATE_URL``; without either the workspace uses ``sqlite:///<ws>/state.db``.
A PostgreSQL URL without a password takes it from ``COSTLINE_STATE_PASSWORD``, so the secret
need not sit in a file. ``postgresql://`` means the psycopg 3 driver.

Migrations are packaged next to this module (``migrations/``) and run with a Config built
here; no ``alembic.ini`` is needed at runtime.

Example:
    >>> url = resolve_url("postgresql://app@db/costline", env={"COSTLINE_STATE_PASSWORD": "s3"})
    >>> url.render_as_string(hide_password=True), url.password == "s3"
    ('postgresql+psycopg://app:***@db/costline', True)
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from costline.core.errors import ConfigError, MissingDependencyError, StorageError
from costline.storage.state.models import Base

ENV_URL = "COSTLINE_STATE_URL"
ENV_PASSWORD = "COSTLINE_STATE_PASSWORD"
VERSION_TABLE = "costline_state_version"
LOGGING_NAME = "costline_state"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BACKENDS = ("sqlite", "postgresql")
# NOTE: seconds a SQLite writer waits for another (e.g. the CLI while `serve` runs).
SQLITE_BUSY_TIMEOUT_S = 30


def resolve_url(
    configured: str | URL | None,
    *,
    default: str | None = None,
    env: Mapping[str, str] | None = None,
) -> URL:
    """The state store URL: ``COSTLINE_STATE_URL``, else ``configured``, else ``default``;
    a PostgreSQL URL without a password gets ``COSTLINE_STATE_PASSWORD``. ``env`` defaults
    to :data:`os.environ`.

    Raises:
        ConfigError: no URL at all, an unparsable one, or an engine other than SQLite or
            PostgreSQL (the message never shows a password).
    """
    env = os.environ if env is None else env
    chosen = env.get(ENV_URL) or configured or default
    if not chosen:
        raise ConfigError(
            "no state store URL", key="service.state_url", hint=f"set it or {ENV_URL}"
        )
    try:
        url = make_url(chosen)
    except ArgumentError:
        raise ConfigError(
            "the state store URL is not a database URL",
            key="service.state_url",
            hint="write e.g. sqlite:///state.db or postgresql://user@host:5432/costline",
        ) from None
    if url.get_backend_name() == "postgres":
        url = url.set(drivername="postgresql")
    backend = url.get_backend_name()
    if backend not in BACKENDS:
        raise ConfigError(
            f"the state store does not support {backend!r} "
            f"({url.render_as_string(hide_password=True)})",
            key="service.state_url",
            hint="use sqlite:///path/state.db or postgresql://user@host:5432/db",
        )
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        if url.password is None and env.get(ENV_PASSWORD):
            url = url.set(password=env[ENV_PASSWORD])
    return url


def _sqlite_pragmas(engine: Engine) -> None:
    """Foreign keys on, WAL (readers do not wait for the writer), and write transactions that
    take the write lock up front (BEGIN IMMEDIATE) so two writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # NOTE: pysqlite's own transaction handling would BEGIN late and deferred; we BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _quiet_sql_logger() -> None:
    """Keep the store's SQL out of DEBUG/INFO logs, whatever the root logger's level: SQLAlchemy
    logs result rows at DEBUG, and ours hold password hashes and CSRF tokens."""
    logger = logging.getLogger(f"sqlalchemy.engine.Engine.{LOGGING_NAME}")
    if logger.level < logging.WARNING:  # NOTSET (0) included
        logger.setLevel(logging.WARNING)


def create_state_engine(url: URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` that never logs statement parameters or rows (they hold hashes).

    Raises:
        MissingDependencyError: a PostgreSQL URL without psycopg (the ``service`` extra).
    """
    if url.get_backend_name() == "postgresql" and importlib.util.find_spec("psycopg") is None:
        raise MissingDependencyError("a PostgreSQL state store (psycopg)", "service")
    _quiet_sql_logger()
    options: dict[str, Any] = {
        "hide_parameters": True,
        "logging_name": LOGGING_NAME,
        "pool_logging_name": LOGGING_NAME,
        **kwargs,
    }
    if url.get_backend_name() == "sqlite":
        options.setdefault("connect_args", {})["timeout"] = SQLITE_BUSY_TIMEOUT_S
        if url.database in (None, "", ":memory:"):
            options["connect_args"]["check_same_thread"] = False
            options["poolclass"] = StaticPool
        engine = create_engine(url, **options)
        _sqlite_pragmas(engine)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, **options)


def alembic_config() -> Config:
    """The Alembic configuration of the packaged migrations (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the state store to ``revision`` (default: the newest).

    Raises:
        StorageError: the database cannot be reached or migrated; the message names the URL
            without its password.
    """
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StorageError(
            f"cannot open the state store at {engine.url.render_as_string(hide_password=True)}: "
            f"{_first_line(exc)}",
            hint=f"check service.state_url / {ENV_URL} and that the database server is up "
            "and reachable",
        ) from None


def schema_diff(engine: Engine) -> list[Any]:
    """What differs between the models and the database (empty after :func:`upgrade`)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))


def _first_line(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
