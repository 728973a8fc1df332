"""``costline watch`` latency at demo scale: an export lands → its anomalies are alerted.

Generates the demo company, ingests every billing file except the newest GCP month (a
stand-alone BigQuery export file; the AWS CUR 2.0 files belong to manifest assemblies), and
publishes the allocation. Then, with a webhook channel pointing at a real HTTP server on
127.0.0.1, it copies that GCP file into a landing folder and runs ``Workspace.watch`` (real
polling, ``--interval`` seconds, real sleeps) until the file has been handled. Reported: the
latency from the file's modification time (when it landed) to the end of alert delivery, as
``costline watch`` prints it, and the wall time of the cycle's steps.

The landed file is the month-to-date export as it stands the day the injected BigQuery
anomaly happens (a few hundred to 2,000 rows: larger than a day's file of the same company,
so an upper bound for "a day's file at demo scale"). Target (issue #4): ≤ 60 s.

Usage::

    .venv/bin/python benchmarks/anomaly/watch_latency.py [--interval 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml


class _Hook(BaseHTTPRequestHandler):
    received: list[float] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.received.append(time.time())
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def once(tmp: Path, interval: float) -> dict[str, Any]:
    from costline import demo
    from costline.core.progress import NoProgress
    from costline.service_demo import allocate_demo, demo_dir
    from costline.workspace import Workspace

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ws = Workspace.init(tmp / "demo")
        out = demo_dir(ws)
        demo.generate(out, rows=2000, seed=7, progress=NoProgress())
        files = sorted((out / demo.BILLING).rglob("*"))
        gcp = sorted(f for f in files if f.is_file() and "/gcp/" in f.as_posix())
        newest = gcp[-1]
        others = [f for f in (out / demo.BILLING).iterdir() if f.name != "gcp"] + [
            f for f in gcp if f != newest
        ]
        report = ws.ingest(others)  # everything but that file
        assert not report.failed, [o.message for o in report.failed]
        allocate_demo(ws, out, demo.load_truth(out), NoProgress())
        ws.detect_anomalies()  # the state a daily run left: anomalies up to the last known day
        doc = yaml.safe_load((ws.root / "costline.yaml").read_text())
        port = server.server_address[1]
        doc["alerts"] = {
            "channels": [{"id": "hook", "type": "webhook", "url": f"http://127.0.0.1:{port}/"}],
            "routes": {"default": ["hook"]},
        }
        (ws.root / "costline.yaml").write_text(yaml.safe_dump(doc))
        ws = Workspace.open(ws.root)
        landing = tmp / "landing"
        landing.mkdir()
        # the month-to-date export as it stands the day after the injected BigQuery anomaly
        truth = demo.load_truth(out)
        day = max(d for a in truth["anomalies"] if a["provider"] == "gcp" for d in a["days"])
        lines = [
            line
            for line in newest.read_text().splitlines()
            if json.loads(line)["usage_start_time"][:10] <= day
        ]
        (landing / newest.name).write_text("\n".join(lines) + "\n")  # it lands now
        landed = time.time()
        t0 = time.perf_counter()
        cycles = ws.watch(landing, interval=interval, cycles=3)
        wall = time.perf_counter() - t0
        (cycle,) = cycles
        d = cycle.detect
        return {
            "file": newest.name,
            "rows": sum(o.rows for o in cycle.ingest.outcomes),
            "latency_s": round(cycle.latency_s, 2),
            "watch_wall_s": round(wall, 2),
            "opened": len(d.opened) if d else 0,
            "updated": len(d.updated) if d else 0,
            "series_evaluated": d.series if d else 0,
            "alerts_delivered": d.alerts_delivered if d else 0,
            "first_alert_after_landing_s": round(min(_Hook.received) - landed, 2)
            if _Hook.received
            else None,
        }
    finally:
        server.shutdown()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    runs = []
    for _ in range(args.repeat):
        _Hook.received = []
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(once(Path(tmp), args.interval))
    latency = statistics.median(r["latency_s"] for r in runs)
    summary = {"interval_s": args.interval, "median_latency_s": latency, "target_s": 60}
    sys.stdout.write(json.dumps({"summary": summary, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
