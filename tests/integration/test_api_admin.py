"""User, token and audit administration through the API, on SQLite and the real PostgreSQL:
only an admin may, every change is audited, a new token is shown once and works, a disabled
user or a revoked token stops working at once, and errors have the one shape."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from costline.server import build
from costline.workspace import Workspace
from tests.state_db import BACKENDS, state_database


@pytest.fixture(params=BACKENDS)
def api(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    with state_database(request.param, tmp_path) as url:
        monkeypatch.setenv("COSTLINE_STATE_URL", url.render_as_string(hide_password=False))
        ws = Workspace.init(tmp_path / "acme")
        with build(ws, secure_cookies=False) as svc:
            _, admin = svc.store.add_user("root", "admin", [])
            _, fin = svc.store.add_user("fin", "finance", [])
            with TestClient(svc.app) as client:
                yield {"client": client, "store": svc.store, "admin": admin, "finance": fin}


def call(api: dict[str, Any], token: str, method: str, path: str, **kw: Any) -> Any:
    return api["client"].request(
        method, "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, **kw
    )


def is_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    err: dict[str, Any] = resp.json()["error"]
    assert (err["status"], err["code"]) == (status, code)
    assert err["message"] and err["request_id"] == resp.headers["x-request-id"]
    return err


ADMIN_CALLS = (
    ("GET", "/users", None),
    ("POST", "/users", {"name": "x", "role": "finance"}),
    ("GET", "/users/fin", None),
    ("POST", "/users/fin/disable", None),
    ("GET", "/users/fin/tokens", None),
    ("POST", "/users/fin/tokens", {"name": "ci"}),
    ("POST", "/tokens/abcdefgh/revoke", None),
    ("GET", "/audit", None),
)


def test_only_an_admin_may_administer(api: dict[str, Any]) -> None:
    for method, path, body in ADMIN_CALLS:
        is_error(api["client"].request(method, "/api/v1" + path, json=body), 401, "unauthorized")
        is_error(call(api, api["finance"], method, path, json=body), 403, "forbidden")
    assert api["store"].get_user("fin").active  # nothing happened


def test_a_user_made_through_the_api_signs_in_with_the_token_shown_once(
    api: dict[str, Any],
) -> None:
    made = call(
        api,
        api["admin"],
        "POST",
        "/users",
        json={"name": "webby", "role": "team", "teams": ["web"]},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    token = body["token"]
    assert body["user"]["name"] == "webby" and body["user"]["teams"] == ["web"]
    me = call(api, token, "GET", "/me").json()
    assert (me["name"], me["role"], me["teams"]) == ("webby", "team", ["web"])
    listed = call(api, api["admin"], "GET", "/users")
    assert {u["name"] for u in listed.json()["rows"]} == {"root", "fin", "webby"}
    tokens = call(api, api["admin"], "GET", "/users/webby/tokens")
    assert tokens.status_code == 200
    (row,) = tokens.json()["rows"]
    assert row["status"] == "active" and token.startswith(f"cl_{row['prefix']}_")
    secret = token.split("_", 2)[2]
    assert secret not in tokens.text and secret not in listed.text  # never shown again
    # as CSV too (every list is downloadable)
    got = call(api, api["admin"], "GET", "/users", params={"format": "csv"})
    names = [r["name"] for r in csv.DictReader(io.StringIO(got.text))]
    assert sorted(names) == ["fin", "root", "webby"]


def test_bad_requests_have_the_one_error_shape(api: dict[str, Any]) -> None:
    admin = api["admin"]
    err = is_error(
        call(api, admin, "POST", "/users", json={"name": "fin", "role": "finance"}), 409, "conflict"
    )
    assert "fin" in err["message"]
    is_error(
        call(api, admin, "POST", "/users", json={"name": "x", "role": "god"}), 400, "bad_request"
    )
    is_error(
        call(
            api, admin, "POST", "/users", json={"name": "x", "role": "team", "teams": ["no such"]}
        ),
        400,
        "bad_request",
    )
    is_error(call(api, admin, "POST", "/users", json={"role": "admin"}), 422, "validation")
    for method, path in (
        ("GET", "/users/nobody"),
        ("POST", "/users/nobody/disable"),
        ("GET", "/users/nobody/tokens"),
        ("POST", "/users/nobody/tokens"),
    ):
        is_error(call(api, admin, method, path), 404, "not_found")
    is_error(call(api, admin, "POST", "/tokens/zzzzzzzz/revoke"), 404, "not_found")
    is_error(call(api, admin, "POST", "/users/root/disable"), 400, "bad_request")


def test_a_disabled_user_and_a_revoked_token_stop_working_at_once(api: dict[str, Any]) -> None:
    admin, fin = api["admin"], api["finance"]
    assert call(api, fin, "GET", "/me").status_code == 200  # now trusted for 30 s
    extra = call(api, admin, "POST", "/users/fin/tokens", json={"name": "ci"})
    assert extra.status_code == 201
    second = extra.json()["token"]
    assert call(api, second, "GET", "/me").status_code == 200
    revoked = call(api, admin, "POST", f"/tokens/{extra.json()['prefix']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    is_error(call(api, second, "GET", "/me"), 401, "unauthorized")
    assert call(api, fin, "GET", "/me").status_code == 200  # the other token still works
    disabled = call(api, admin, "POST", "/users/fin/disable")
    assert disabled.status_code == 200 and disabled.json()["disabled_at"]
    is_error(call(api, fin, "GET", "/me"), 401, "unauthorized")


def test_every_change_is_in_the_audit_log(api: dict[str, Any]) -> None:
    admin = api["admin"]
    call(api, admin, "POST", "/users", json={"name": "ana", "role": "finance"})
    made = call(api, admin, "POST", "/users/ana/tokens", json={"name": "ci"}).json()
    call(api, admin, "POST", f"/tokens/{made['prefix']}/revoke")
    call(api, admin, "POST", "/users/ana/disable")
    rows = call(api, admin, "GET", "/audit", params={"user": "root"}).json()["rows"]
    mine = [(r["action"], r["target"]) for r in rows if r["target"] == "ana"]
    assert mine == [
        ("user.disable", "ana"),
        ("token.revoke", "ana"),
        ("token.create", "ana"),
        ("token.create", "ana"),  # the first token comes with the user
        ("user.add", "ana"),
    ]
    assert all(r["remote"] for r in rows if r["target"] == "ana")
    only = call(api, admin, "GET", "/audit", params={"action": "user.add"}).json()["rows"]
    assert {r["target"] for r in only} >= {"ana"} and {r["action"] for r in only} == {"user.add"}


def test_metrics_are_open_unless_a_token_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTLINE_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    ws = Workspace.init(tmp_path / "open")
    with build(ws, secure_cookies=False) as svc, TestClient(svc.app) as client:
        assert client.get("/metrics").status_code == 200
    closed = Workspace.init(tmp_path / "closed")
    cfg = closed.root / "costline.yaml"
    cfg.write_text(cfg.read_text() + "\nservice:\n  metrics_token_env: SCRAPE_TOKEN\n")
    closed = Workspace.find(closed.root)
    with build(closed, secure_cookies=False) as svc, TestClient(svc.app) as client:
        # configured but unset in the environment: closed, never open by accident
        is_error(client.get("/metrics"), 401, "unauthorized")
        monkeypatch.setenv("SCRAPE_TOKEN", "s3cret-scrape")
        is_error(client.get("/metrics"), 401, "unauthorized")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        is_error(wrong, 401, "unauthorized")
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
        assert ok.status_code == 200 and "costline_http_requests_total" in ok.text
