"""Tag assignment hits its target; writers are deterministic and money survives Parquet."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import duckdb

from costline.demo import tagging
from costline.demo.model import Line, Who, allocatable, logical_tags, make
from costline.demo.org import AWS_PAYER, TEAMS
from costline.demo.periods import MONTHS
from costline.demo.writers import write_csv, write_ndjson, write_parquet


def _lines(n: int) -> list[Line]:
    rng = random.Random(1)
    out = []
    for i in range(n):
        who = Who(AWS_PAYER, TEAMS[i % 40].id, "prod", "app")
        stream = make(
            "aws",
            f"s{i}",
            who,
            "ec2",
            f"i-{i}",
            24.0,
            Decimal(1),
            "us-east-1",
            tags_fixed=i % 10 == 0,
        )
        cost = Decimal(rng.randint(100, 10_000))
        out.append(Line(MONTHS[0], None, stream, {}, cost, cost))
    return out


def _is_ok(provider: str, line: Line) -> bool:
    return line.stream is not None and allocatable(logical_tags(line.stream))


def test_assign_lands_in_the_target_band() -> None:
    lines = {"aws": _lines(400)}
    share = tagging.assign(lines, seed=5, is_allocatable=_is_ok)
    assert 0.17 <= share <= tagging.TARGET[1]
    bad = sum((ln.effective for ln in lines["aws"] if not _is_ok("aws", ln)), Decimal(0))
    total = sum((ln.effective for ln in lines["aws"]), Decimal(0))
    assert abs(float(bad / total) - share) < 1e-9
    assert all(
        ln.stream.tag_mode == "ok"
        for ln in lines["aws"]
        if ln.stream is not None and ln.stream.tags_fixed
    )


def test_gcp_never_gets_capitalised_labels() -> None:
    lines = {"gcp": _lines(400)}
    tagging.assign(lines, seed=2, is_allocatable=_is_ok)
    modes = {ln.stream.tag_mode for ln in lines["gcp"] if ln.stream is not None}
    assert not modes & {"key-case", "value-case"}


def test_parquet_is_byte_identical_and_money_exact(tmp_path: Path) -> None:
    rng = random.Random(9)
    values = [Decimal(rng.randint(-(10**13), 10**13)) / Decimal(10**8) for _ in range(3000)]
    rows = [{"cost": v, "tags": {"user_team": "x"}} for v in values]
    cols = (("cost", "DOUBLE"), ("tags", "MAP(VARCHAR, VARCHAR)"))
    a = write_parquet(rows, cols, tmp_path / "a.parquet")
    b = write_parquet(rows, cols, tmp_path / "b.parquet")
    assert a.read_bytes() == b.read_bytes()
    got = duckdb.sql(f"SELECT CAST(cost AS DECIMAL(38, 10)) FROM '{a}'").fetchall()
    assert [g[0] for g in got] == values
    assert not list(tmp_path.glob("*.part"))


def test_csv_and_ndjson_writers(tmp_path: Path) -> None:
    path = write_csv(
        [{"a": Decimal("1.50"), "b": 'x "y"'}], ["a", "b"], tmp_path / "x.csv", bom=True
    )
    assert path.read_bytes() == b'\xef\xbb\xbfa,b\n1.5,"x ""y"""\n'
    nd = write_ndjson([{"cost": Decimal("0.10"), "labels": []}], tmp_path / "x.ndjson")
    assert nd.read_text() == '{"cost": "0.1", "labels": []}\n'
