"""Checks of what callers pass the state store: user names, roles, team ids, passwords,
audit actions. Pure functions; each raises ConfigError naming the fix.

Example:
    >>> check_teams("team", ["payments", "payments"])
    ['payments']
    >>> check_name("Alice")
    Traceback (most recent call last):
    ...
    costline.core.errors.ConfigError: name: user name 'Alice' is not allowed
      fix: 2-63 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. alice or ci-bot)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import cast

from costline.core.errors import ConfigError
from costline.storage.state.credentials import MIN_PASSWORD
from costline.storage.state.models import ROLES, RUN_STATUSES, TRIGGERS
from costline.storage.state.records import Role

USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
TEAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def check_choice(value: str, allowed: tuple[str, ...], *, what: str, key: str = "status") -> str:
    """``value`` if it is one of ``allowed``, else ConfigError naming them (and the closest).

    Example:
        >>> check_choice("open", ("open", "closed"), what="status")
        'open'
    """
    if value not in allowed:
        close = difflib.get_close_matches(value, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown {what} {value[:60]!r}",
            key=key,
            hint=hint + f"use one of: {', '.join(allowed)}",
        )
    return value


def suggest_user(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "see `costline users list`, or add one with `costline users add`"


def check_name(name: str) -> None:
    if not USER_NAME.match(name):
        raise ConfigError(
            f"user name {name[:70]!r} is not allowed",
            key="name",
            hint="2-63 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. alice or ci-bot)",
        )


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}", key="role", hint="use admin, finance or team")
    return cast(Role, role)


def check_teams(role: Role, teams: Sequence[str]) -> list[str]:
    unique = sorted(set(teams))
    if role == "team" and not unique:
        raise ConfigError(
            "a team member needs at least one team", hint="pass --team TEAM (repeatable)"
        )
    if role != "team" and unique:
        raise ConfigError(
            f"role {role} sees every team; --team is only for role team",
            hint="drop --team, or use --role team",
        )
    for team in unique:
        if not TEAM_ID.match(team):
            raise ConfigError(f"team id {team[:70]!r} is not a valid team id", key="team")
    return unique


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(
            f"the password is too short (at least {MIN_PASSWORD} characters)",
            hint="pick a longer one; a passphrase of a few words works well",
        )


def check_action(action: str) -> None:
    if not ACTION.match(action):
        raise ConfigError(
            f"audit action {action!r} is not dotted lowercase", hint="e.g. anomaly.ack"
        )


def check_trigger(trigger: str) -> None:
    if trigger not in TRIGGERS:
        raise ConfigError(f"unknown trigger {trigger!r}", hint="use schedule, manual or retry")


def check_final_status(status: str) -> None:
    if status not in RUN_STATUSES or status == "running":
        raise ConfigError(f"a run finishes as succeeded or failed, not {status!r}")
