"""Real servers on 127.0.0.1 for the alert delivery tests.

* :class:`HookServer`: an HTTP server that records every request (Slack-format and generic
  webhooks) and answers from a script: ``[(500, "boom"), (200, "ok")]`` then 200 forever;
  an entry with ``delay`` sleeps first (a timeout for a client with a shorter one).
* :class:`JiraServer`: a Jira-compatible REST fake: ``POST /rest/api/2/issue``,
  ``GET /rest/api/2/search`` (``labels = "..."`` in the JQL), ``PUT /rest/api/2/issue/KEY``,
  ``POST /rest/api/2/issue/KEY/comment``, ``GET``/``POST /rest/api/2/issue/KEY/transitions``
  (one transition, ``Done``; ``transitions=False`` answers 404 like a server without it; a
  Done issue is left out of a search whose JQL says ``statusCategory != Done``); it checks
  the Authorization header.
* :class:`SmtpServer`: aiosmtpd on a free port, keeping every received message.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from costline.workspace import Workspace


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """A threaded HTTP server whose handler calls ``self.handle(request) -> Reply``."""

    def __init__(self, port: int = 0) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                reply = owner.handle(req)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    data = reply.body.encode()
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, req: Request) -> Reply:
        raise NotImplementedError

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class HookServer(_Server):
    """Records requests; answers from ``script`` in order, then 200 ``ok``."""

    def __init__(self, script: list[Reply] | None = None, port: int = 0) -> None:
        super().__init__(port)
        self.script = list(script or [])

    def handle(self, req: Request) -> Reply:
        with self.lock:
            self.requests.append(req)
            return self.script.pop(0) if self.script else Reply()


class JiraServer(_Server):
    """Just enough of Jira's REST API v2 for issue create, label search and update."""

    def __init__(
        self,
        *,
        auth: str,
        fail_next: list[Reply] | None = None,
        transitions: bool = True,
        projects: tuple[str, ...] = ("PAY",),
    ) -> None:
        super().__init__()
        self.auth = auth
        self.projects = projects
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[str]] = {}
        self.status: dict[str, str] = {}
        self.transitions = transitions
        self.fail_next = list(fail_next or [])

    def handle(self, req: Request) -> Reply:
        with self.lock:
            self.requests.append(req)
            if req.headers.get("authorization") != self.auth:
                return Reply(401, '{"errorMessages":["not authenticated"]}')
            if self.fail_next:
                return self.fail_next.pop(0)
            return self._route(req)

    def _route(self, req: Request) -> Reply:
        path = req.path.split("?")[0]
        if req.method == "GET" and path == "/rest/api/2/search":
            return self._search(req)
        if req.method == "POST" and path == "/rest/api/2/issue":
            fields = req.json()["fields"]
            project = fields["project"]["key"]
            if project not in self.projects:
                return Reply(400, '{"errors":{"project":"valid project is required"}}')
            key = f"{project}-{len(self.issues) + 1}"
            self.issues[key] = fields
            self.comments[key] = []
            return Reply(201, json.dumps({"id": str(len(self.issues)), "key": key}))
        match = re.fullmatch(r"/rest/api/2/issue/([A-Z]+-\d+)/transitions", path)
        if match and match[1] in self.issues and self.transitions:
            if req.method == "GET":
                done = {"id": "31", "name": "Done", "to": {"statusCategory": {"key": "done"}}}
                return Reply(200, json.dumps({"transitions": [done]}))
            if req.method == "POST" and req.json()["transition"]["id"] == "31":
                self.status[match[1]] = "Done"
                return Reply(204, "")
        match = re.fullmatch(r"/rest/api/2/issue/([A-Z]+-\d+)(/comment)?", path)
        if match and match[1] in self.issues:
            if req.method == "PUT" and not match[2]:
                self.issues[match[1]].update(req.json()["fields"])
                return Reply(204, "")
            if req.method == "POST" and match[2]:
                self.comments[match[1]].append(req.json()["body"])
                return Reply(201, "{}")
        return Reply(404, '{"errorMessages":["Issue does not exist"]}')

    def _search(self, req: Request) -> Reply:
        from urllib.parse import parse_qs, urlsplit

        jql = parse_qs(urlsplit(req.path).query)["jql"][0]
        label = re.search(r'labels = "([^"]+)"', jql)
        assert label, jql
        found = [
            {"key": k, "fields": {"description": f.get("description")}}
            for k, f in self.issues.items()
            if label[1] in f.get("labels", [])
            and not ("statusCategory != Done" in jql and self.status.get(k) == "Done")
        ]
        return Reply(200, json.dumps({"total": len(found), "issues": found[:1]}))


class SmtpServer:
    """aiosmtpd on 127.0.0.1, keeping every message it receives."""

    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.port = free_port()

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
            ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode())
            return AuthResult(success=ok == login, handled=False)

        extra: dict[str, Any] = {}
        if login is not None:  # NOTE: plain-text AUTH on 127.0.0.1 only, for the test
            extra = {"authenticator": authenticate, "auth_require_tls": False}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **extra)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


JIRA_ENV = {
    "JIRA_TOKEN": "tok"
}  # the token the Jira channel of :func:`jira_ticket_workspace` reads


def workspace_with(root: Path, config: str) -> Workspace:
    """A new workspace at ``root`` with ``config`` (YAML) added to its ``costline.yaml``."""
    ws = Workspace.init(root)
    cfg = ws.root / "costline.yaml"
    cfg.write_text(cfg.read_text() + "\n" + config)
    return Workspace.open(ws.root)


def jira_ticket_workspace(root: Path, jira_url: str) -> Workspace:
    """A new workspace at ``root`` whose tickets go to the Jira channel at ``jira_url``
    (project PAY, token from ``JIRA_TOKEN``)."""
    return workspace_with(
        root,
        f"""alerts:
  channels:
    - id: jira
      type: jira
      url: {jira_url}
      token_env: JIRA_TOKEN
      project: PAY
tickets:
  channel: jira
""",
    )
