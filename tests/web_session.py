"""Signing in to the web UI of a TestClient app, as a browser would (login form with its CSRF
token)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def sign_in(client: TestClient, name: str, password: str) -> None:
    """Post the login form for ``name``; the client then holds the session cookie."""
    form = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, form.text
    done = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": found.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code in (302, 303), done.text
