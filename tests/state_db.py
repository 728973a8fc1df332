"""State store databases for tests: a SQLite file, or a private schema in the real PostgreSQL.

Every PostgreSQL user of this module gets its own schema ``test_<random>`` (the URL's
``search_path`` points at it) and drops it afterwards, so parallel xdist workers never see each
other's tables. PostgreSQL must be up: an unreachable server FAILS the test with the command
that starts it (``.ci/run`` does so in CI); nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

PG_URL = os.environ.get("COSTLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def postgres_schema() -> Iterator[URL]:
    """A URL on a fresh, private schema of the test PostgreSQL (dropped on exit)."""
    admin = sa.create_engine(PG_URL)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as con:
            con.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is unreachable at {make_url(PG_URL).render_as_string()}: "
            f"{str(exc.orig).strip().splitlines()[0]}\n"
            "start it (as .ci/run does): pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql | head -n 1) main start; or point COSTLINE_TEST_PG_URL at one",
            pytrace=False,
        )
    try:
        yield make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as con:
            con.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def state_database(backend: str, tmp_path: Path) -> Iterator[URL]:
    """A URL for an empty state store on ``backend`` (sqlite or postgresql)."""
    if backend == "sqlite":
        yield make_url(f"sqlite:///{tmp_path / 'state.db'}")
        return
    with postgres_schema() as url:
        yield url
