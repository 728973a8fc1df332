"""``costline users add|list|disable|password|token|revoke``: who may use ``costline serve``.

Users live in the workspace's state store (``service.state_url``; default ``state.db``). A new
API token is printed once, to stdout, and only its hash is kept. Listings show token prefixes
and when each was last used, never a token or a hash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli.output import OutputFormat, info, render

if TYPE_CHECKING:
    from costline.storage.state import ApiToken, StateStore, User
    from costline.workspace import Workspace

users_app = typer.Typer(
    help="Users and API tokens of `costline serve` (roles admin, finance, team).",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
ONCE = "This token is shown once; store it now (costline keeps only its hash)."


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@contextmanager
def _state(ws: Workspace | None = None) -> Iterator[StateStore]:
    """The workspace's state store, closed (its connections too) when the command ends."""
    store = (ws or _workspace()).state()
    try:
        yield store
    finally:
        store.close()


def _show_token(token: str) -> None:
    typer.echo(token)
    info(ONCE)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Login name: lowercase letters, digits, . _ -.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="admin (everything, users too), finance (every cost center) or team (only "
            "the teams given with --team).",
        ),
    ],
    team: Annotated[
        list[str] | None,
        typer.Option("--team", help="Team id from owners.yaml a team member sees (repeatable)."),
    ] = None,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown in the UI.")
    ] = None,
) -> None:
    """Add a user and print its first API token (shown once).

    Give it a UI login password with `costline users password NAME`.
    """
    ws = _workspace()
    teams = team or []
    ws.check_team_ids(teams)
    with _state(ws) as store:
        user, token = store.add_user(name, role, teams, display_name=display_name)
    info(f"added {user.name} ({user.role}{': ' + ', '.join(user.teams) if user.teams else ''})")
    _show_token(token)


@users_app.command("list")
def list_(
    tokens: Annotated[
        bool, typer.Option("--tokens", help="One row per API token instead of per user.")
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Users with their roles, teams and token prefixes (never tokens or hashes)."""
    with _state() as store:
        all_tokens, all_users = store.list_tokens(), store.list_users()
    now = dt.datetime.now(dt.UTC)
    if tokens:
        cols = ["user", "prefix", "name", "status", "created_at", "last_used_at", "expires_at"]
        render(cols, [_token_row(t, now) for t in all_tokens], fmt, title="API tokens")
        return
    cols = ["name", "role", "teams", "display_name", "status", "password", "tokens", "last_used"]
    rows = [_user_row(u, [t for t in all_tokens if t.user == u.name], now) for u in all_users]
    render(cols, rows, fmt, title="users")


def _user_row(user: User, tokens: list[ApiToken], now: dt.datetime) -> tuple[object, ...]:
    live = [t for t in tokens if t.status(now) == "active"]
    used = [t.last_used_at for t in tokens if t.last_used_at is not None]
    return (
        user.name,
        user.role,
        ", ".join(user.teams),
        user.display_name,
        "active" if user.active else "disabled",
        "yes" if user.has_password else "no",
        ", ".join(f"cl_{t.prefix}" for t in live),
        max(used) if used else None,
    )


def _token_row(token: ApiToken, now: dt.datetime) -> tuple[object, ...]:
    return (
        token.user,
        f"cl_{token.prefix}",
        token.name,
        token.status(now),
        token.created_at,
        token.last_used_at,
        token.expires_at,
    )


@users_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="User to disable.")]) -> None:
    """Disable a user: its API tokens stop working and its UI sessions end."""
    with _state() as store:
        store.disable_user(name)
    info(f"disabled {name}")


@users_app.command("password")
def password(name: Annotated[str, typer.Argument(help="User to set the password of.")]) -> None:
    """Set a user's UI login password (asked twice, not echoed)."""
    with _state() as store:
        store.get_user(name)  # fail before asking for a password
        secret = typer.prompt(f"New password for {name}", hide_input=True, confirmation_prompt=True)
        store.set_password(name, secret)
    info(f"password set for {name}; their open UI sessions ended")


@users_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="User the token is for.")],
    token_name: Annotated[
        str, typer.Option("--name", help="Label of the token, e.g. the tool using it.")
    ] = "default",
    expires_days: Annotated[
        int | None,
        typer.Option("--expires-days", min=1, help="Expire after this many days (default: never)."),
    ] = None,
) -> None:
    """Make a new API token for a user and print it (shown once)."""
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days) if expires_days else None
    with _state() as store:
        value = store.create_token(name, token_name, expires_at=expires)
    if expires is not None:
        info(f"expires {expires:%Y-%m-%d %H:%M} UTC")
    _show_token(value)


@users_app.command("revoke")
def revoke(
    prefix: Annotated[
        str, typer.Argument(help="Token prefix as `users list` shows it (cl_ab12cd34) or its id.")
    ],
) -> None:
    """Revoke an API token: it stops working at once."""
    with _state() as store:
        found = store.revoke_token(prefix)
    info(f"revoked cl_{found.prefix} ({found.name}) of {found.user}")


def register(app: typer.Typer) -> None:
    """Add ``users`` to the main app."""
    app.add_typer(users_app, name="users")
