"""The demo company: deterministic files, ground truth that matches both the raw files (read
with plain DuckDB, no costline code) and the ingested cost table, the features later
stages rely on (tag coverage, org hierarchy, anomalies, commitments, telemetry), and its
allocation measured against the true owner of every line (``truth/owners.csv``)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from costline.allocation import AllocationReport
from costline.core.progress import NoProgress
from costline.demo import generate, is_current
from costline.demo.rules import MARKER
from costline.optimize.waste import IDLE_CPU_PERCENT
from costline.service_demo import (
    DEMO_DIR,
    chargeback_table,
    detect_demo_anomalies,
    install_allocation_inputs,
    matches_truth,
    run_demo,
)
from costline.workspace import Workspace

ROWS, SEED = 400, 11
M = "DECIMAL(38, 10)"


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo") / "demo-data"
    return out, generate(out, rows=ROWS, seed=SEED)


@pytest.fixture(scope="module")
def ingested(
    demo: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path_factory.mktemp("ws") / "acme")
    report = ws.ingest([demo[0] / "billing"])
    assert [o.status for o in report.outcomes] == ["loaded"] * 9, [
        (o.file, o.message) for o in report.outcomes
    ]
    yield ws


def _truth_totals(truth: dict[str, Any]) -> dict[tuple[str, str], tuple[int, Decimal, Decimal]]:
    return {
        (t["provider"], t["month"]): (
            t["rows"],
            Decimal(t["billed_cost"]),
            Decimal(t["effective_cost"]),
        )
        for t in truth["totals"]
    }


# -- determinism ----------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_files(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    again = tmp_path / "again"
    generate(again, rows=ROWS, seed=SEED)
    assert _hashes(again) == _hashes(demo[0])
    # billing + utilization, samples, pods, nodes, jobs, org, truth + owners, 3 rules, 1
    # metric, true owners
    assert len(_hashes(again)) == 9 + 7 + 1 + 3 + 1 + 1


def test_different_seed_gives_different_files(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    generate(other, rows=ROWS, seed=SEED + 1)
    mine = {k: v for k, v in _hashes(demo[0]).items() if k.startswith("billing/")}
    theirs = {k: v for k, v in _hashes(other).items() if k.startswith("billing/")}
    assert len(mine) == len(theirs) == 9
    assert not set(mine.values()) & set(theirs.values())


def test_regenerating_replaces_the_previous_demo(tmp_path: Path) -> None:
    out = tmp_path / "demo-data"
    generate(out, rows=100, seed=1)
    generate(out, rows=100, seed=2)
    billing = [p for p in (out / "billing").rglob("*") if p.is_file()]
    assert len(billing) == 9  # the Azure file names depend on the seed: no leftovers


def test_is_current_notices_changed_files_and_options(demo: tuple[Path, dict[str, Any]]) -> None:
    root = demo[0]
    assert is_current(root, rows=ROWS, seed=SEED)
    assert not is_current(root, rows=ROWS + 1, seed=SEED)
    assert not is_current(root, rows=ROWS, seed=SEED + 1)
    assert not is_current(root.parent / "missing", rows=ROWS, seed=SEED)


def test_is_current_is_false_after_an_edit(tmp_path: Path) -> None:
    out = tmp_path / "demo-data"
    generate(out, rows=150, seed=3)
    assert is_current(out, rows=150, seed=3)
    with (out / "telemetry" / "utilization.csv").open("a") as fh:
        fh.write("tampered\n")
    assert not is_current(out, rows=150, seed=3)


def test_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="not a costline demo folder"):
        generate(tmp_path, rows=100, seed=1)


# -- ground truth vs. raw files (plain DuckDB) ----------------------------------------------
AWS_EFFECTIVE = f"""CAST(CASE line_item_line_item_type
    WHEN 'SavingsPlanCoveredUsage' THEN savings_plan_savings_plan_effective_cost
    WHEN 'SavingsPlanNegation' THEN 0
    WHEN 'SavingsPlanRecurringFee' THEN savings_plan_total_commitment_to_date
                                        - savings_plan_used_commitment
    WHEN 'DiscountedUsage' THEN reservation_effective_cost
    WHEN 'RIFee' THEN reservation_unused_recurring_fee
                      + reservation_unused_amortized_upfront_fee_for_billing_period
    WHEN 'Fee' THEN CASE WHEN reservation_reservation_a_r_n IS NULL
                         THEN line_item_unblended_cost ELSE 0 END
    ELSE line_item_unblended_cost END AS {M})"""

AWS_SQL = f"""
SELECT strftime(bill_billing_period_start_date, '%Y-%m') AS month, count(*),
  sum(CAST(line_item_unblended_cost AS {M})), sum({AWS_EFFECTIVE})
FROM read_parquet(?) GROUP BY 1 ORDER BY 1"""

AZURE_SQL = f"""
SELECT strftime(strptime(BillingPeriodStartDate, '%m/%d/%Y'), '%Y-%m') AS month, count(*),
  sum(CASE WHEN PricingModel = 'Reservation' OR ChargeType = 'UnusedReservation' THEN 0
           ELSE CAST(Cost AS {M}) END),
  sum(CAST(Cost AS {M}))
FROM read_csv(?, all_varchar = true) GROUP BY 1 ORDER BY 1"""

GCP_SQL = f"""
SELECT substr(invoice.month, 1, 4) || '-' || substr(invoice.month, 5, 2) AS month, count(*),
  sum(CAST(cost AS {M})),
  sum(CAST(cost AS {M}) + coalesce(list_sum(list_transform(credits,
      lambda c: CAST(c.amount AS {M}))), 0))
FROM read_json(?, format = 'newline_delimited') GROUP BY 1 ORDER BY 1"""


def _raw_totals(
    con: duckdb.DuckDBPyConnection, root: Path
) -> dict[tuple[str, str], tuple[Any, ...]]:
    files = {
        "aws": sorted(root.glob("billing/aws/**/*.parquet")),
        "azure": sorted(root.glob("billing/azure/**/*.csv")),
        "gcp": sorted(root.glob("billing/gcp/*.ndjson")),
    }
    out = {}
    for provider, sql in (("aws", AWS_SQL), ("azure", AZURE_SQL), ("gcp", GCP_SQL)):
        assert len(files[provider]) == 3
        for month, n, billed, effective in con.execute(
            sql, [[str(p) for p in files[provider]]]
        ).fetchall():
            out[(provider, month)] = (n, billed, effective)
    return out


def test_ground_truth_matches_the_raw_files(
    demo: tuple[Path, dict[str, Any]], raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    root, truth = demo
    assert _raw_totals(raw_duckdb, root) == _truth_totals(truth)
    assert len(truth["totals"]) == 9
    assert all(Decimal(t["billed_cost"]) > 0 for t in truth["totals"])


def test_aws_azure_commitment_line_items_are_present(
    demo: tuple[Path, dict[str, Any]], raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    root, _ = demo
    types = {
        r[0]
        for r in raw_duckdb.execute(
            "SELECT DISTINCT line_item_line_item_type FROM read_parquet(?)",
            [str(root / "billing/aws/**/*.parquet")],
        ).fetchall()
    }
    assert types >= {
        "Usage",
        "DiscountedUsage",
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "RIFee",
        "SavingsPlanRecurringFee",
        "Fee",
        "Credit",
    }
    charge = {
        r[0]
        for r in raw_duckdb.execute(
            "SELECT DISTINCT ChargeType || '/' || PricingModel FROM read_csv(?, all_varchar=true)",
            [str(root / "billing/azure/**/*.csv")],
        ).fetchall()
    }
    assert charge == {"Usage/OnDemand", "Usage/Reservation", "UnusedReservation/Reservation"}


def test_azure_header_is_the_ea_amortized_header(
    demo: tuple[Path, dict[str, Any]], reference: Path
) -> None:
    sample = reference / "azure" / "ea-amortizedcost-small-finops-toolkit.csv"
    expected = sample.read_text(encoding="utf-8").splitlines()[0]
    for path in demo[0].glob("billing/azure/**/*.csv"):
        assert path.read_text(encoding="utf-8").splitlines()[0] == expected


def test_gcp_rows_have_the_reference_keys_plus_detailed_ones(
    demo: tuple[Path, dict[str, Any]], reference: Path
) -> None:
    sample = next((reference / "gcp").glob("*.ndjson")).read_text().splitlines()[0]
    ref_keys = set(json.loads(sample))
    row = json.loads((next(demo[0].glob("billing/gcp/*.ndjson"))).read_text().splitlines()[0])
    assert ref_keys <= set(row)
    assert {"resource", "price", "cost_at_list"} <= set(row)
    assert isinstance(row["cost"], str) and isinstance(row["usage"]["amount"], str)


# -- ground truth vs. the ingested cost table -----------------------------------------------
def test_ingested_cost_table_matches_ground_truth(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]]
) -> None:
    got = ingested.query(
        # line items: rows derived by a row split (the unused part of a commitment fee) are
        # FOCUS rows the raw export does not have
        "SELECT x_Provider, strftime(BillingPeriodStart, '%Y-%m'), "
        "count(*) FILTER (WHERE x_RowSplit IS NULL), sum(BilledCost), "
        "sum(EffectiveCost) FROM cost GROUP BY 1, 2 ORDER BY 1, 2"
    ).rows
    assert {(p, m): (n, b, e) for p, m, n, b, e in got} == _truth_totals(demo[1])
    assert not any(ingested.quarantine_dir.iterdir())


def test_tag_coverage_is_15_to_25_percent_untagged(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]]
) -> None:
    truth = demo[1]
    untagged = Decimal(truth["tag_coverage"]["untagged_or_mistagged_fraction"])
    assert Decimal("0.15") <= untagged <= Decimal("0.25")
    teams = [t["team"] for bu in truth["hierarchy"] for d in bu["departments"] for t in d["teams"]]
    row = ingested.query(
        "SELECT sum(EffectiveCost) FILTER (WHERE list_contains(?, Tags['team'])), "
        "sum(EffectiveCost) FROM cost",
        [teams],
    ).rows[0]
    assert Decimal(truth["tag_coverage"]["allocatable_effective_cost"]) == row[0]
    assert Decimal(truth["tag_coverage"]["total_effective_cost"]) == row[1]


def test_tag_coverage_from_raw_tags(
    demo: tuple[Path, dict[str, Any]], raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    """The allocatable share recomputed from the raw tag columns of each export."""
    root, truth = demo
    teams = [t["team"] for bu in truth["hierarchy"] for d in bu["departments"] for t in d["teams"]]
    con = raw_duckdb
    aws = con.execute(
        f"SELECT list_contains(?, resource_tags['user_team']), sum({AWS_EFFECTIVE}) "
        "FROM read_parquet(?) GROUP BY 1",
        [teams, str(root / "billing/aws/**/*.parquet")],
    ).fetchall()
    azure = con.execute(
        f"SELECT list_contains(?, json_extract_string('{{' || Tags || '}}', '$.team')), "
        f"sum(CAST(Cost AS {M})) FROM read_csv(?, all_varchar = true) GROUP BY 1",
        [teams, str(root / "billing/azure/**/*.csv")],
    ).fetchall()
    gcp = con.execute(
        f"SELECT list_contains(?, list_extract(list_transform(list_filter(labels, "
        f"lambda l: l.key = 'team'), lambda l: l.value), 1)), sum(CAST(cost AS {M}) + "
        f"coalesce(list_sum(list_transform(credits, lambda c: CAST(c.amount AS {M}))), 0)) "
        "FROM read_json(?, format = 'newline_delimited') GROUP BY 1",
        [teams, str(root / "billing/gcp/*.ndjson")],
    ).fetchall()
    good = sum((v for ok, v in aws + azure + gcp if ok), Decimal(0))
    total = sum((v for _, v in aws + azure + gcp), Decimal(0))
    assert good == Decimal(truth["tag_coverage"]["allocatable_effective_cost"])
    assert total == Decimal(truth["tag_coverage"]["total_effective_cost"])


def test_anomalies_are_visible_in_the_cost_table(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]]
) -> None:
    anomalies = demo[1]["anomalies"]
    assert {a["provider"] for a in anomalies} == {"aws", "azure", "gcp"}
    for a in anomalies:
        for day, cost in a["actual_effective_cost_by_day"].items():
            got = ingested.query(
                "SELECT sum(EffectiveCost) FROM cost WHERE ResourceId = ? AND x_Provider = ? "
                "AND strftime(ChargePeriodStart, '%Y-%m-%d') = ? AND Tags['team'] = ?",
                [a["resource_id"], a["provider"], day, a["team"]],
            ).rows[0][0]
            assert got == Decimal(cost)
            assert Decimal(cost) > 3 * Decimal(a["baseline_daily_effective_cost"])


# -- org, telemetry, k8s, jobs --------------------------------------------------------------
def test_org_has_about_40_teams_in_four_levels(demo: tuple[Path, dict[str, Any]]) -> None:
    org = yaml.safe_load((demo[0] / "org.yaml").read_text())
    teams = [
        (bu["business_unit"], d["department"], t["team"], t["cost_center"])
        for bu in org["hierarchy"]
        for d in bu["departments"]
        for t in d["teams"]
    ]
    assert 35 <= len(teams) <= 45
    assert all(all(level for level in row) for row in teams)
    assert len({t[2] for t in teams}) == len({t[3] for t in teams}) == len(teams)
    assert len({t[0] for t in teams}) >= 3 and len({t[1] for t in teams}) >= 8
    assert org["hierarchy"] == demo[1]["hierarchy"]
    owners = {a["owner"] for a in org["accounts"]}
    assert {t[2] for t in teams} & owners


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_overprovisioned_resources_show_low_utilization(demo: tuple[Path, dict[str, Any]]) -> None:
    util = _csv(demo[0] / "telemetry" / "utilization.csv")
    listed = {o["resource_id"]: o for o in demo[1]["overprovisioned"]}
    assert {o["classification"] for o in listed.values()} == {"idle", "oversized"}
    # per resource and type: a rightsized instance is listed as it was (its old type); on the
    # smaller type the same load is about twice the percentage
    peak: dict[tuple[str, str], float] = {}
    for row in util:
        key = (row["resource_id"], row["instance_type"])
        peak[key] = max(peak.get(key, 0.0), float(row["cpu_p95_pct"]))
    for rid, o in listed.items():
        limit = IDLE_CPU_PERCENT if o["classification"] == "idle" else 30
        assert peak[(rid, o["instance_type"])] <= limit, rid
    resized = {(a["resource_id"], a["to_type"]) for a in demo[1]["actions"] if a["to_type"]}
    normal = [k for k in peak if k[0] not in listed]
    assert normal and all(peak[k] > 30 for k in normal)
    assert resized and resized <= set(peak)


def test_actions_are_visible_in_the_cost_table(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]]
) -> None:
    """Each actioned instance changes type (x_InstanceType) or leaves the bill on its date, and
    the per-day costs before and after are what the cost table holds."""
    acts = demo[1]["actions"]
    assert sorted(a["action"] for a in acts) == ["rightsized", "rightsized", "terminated"]
    for a in acts:
        rows = ingested.query(
            "SELECT CAST(ChargePeriodStart AS DATE), x_InstanceType, sum(EffectiveCost) "
            "FROM cost WHERE ResourceId = ? AND x_Provider = ? AND SubAccountId = ? "
            "GROUP BY ALL ORDER BY 1",
            [a["resource_id"], a["provider"], a["account_id"]],
        ).rows
        day = date.fromisoformat(a["date"])
        assert {t for d, t, _ in rows if d < day} == {a["from_type"]}
        assert {t for d, t, _ in rows if d >= day} == ({a["to_type"]} if a["to_type"] else set())
        before = [c for d, _, c in rows if day - timedelta(days=a["days_before"]) <= d < day]
        after = sum((c for d, _, c in rows if d >= day), Decimal(0))
        assert len(before) == a["days_before"] == 14
        assert sum(before) == Decimal(a["effective_cost_before"])
        assert after == Decimal(a["effective_cost_after"])
        assert Decimal(a["effective_cost_per_day_after"]) < Decimal(
            a["effective_cost_per_day_before"]
        )


def test_adoption_finds_what_the_demo_did_and_what_it_saved(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]]
) -> None:
    """Recommendations recorded on Sep 1 (August's telemetry and bill), tracked on Oct 1: every
    resource the demo changed in September is actioned on its day, and its realized savings
    equal the ground truth's cost per day before minus after, × 30.4375."""
    root, truth = demo
    ingested.load_telemetry(root / "telemetry" / "samples.csv")
    ingested.tickets_sync(as_of=date(2026, 9, 1))
    assert ingested.savings_report("2026-09", detail=True).rows == []  # nothing done yet
    ingested.tickets_sync(as_of=date(2026, 10, 1))
    detail = [r for r in ingested.savings_report("2026-09", detail=True).records() if r["counted"]]
    got = {r["resource_id"]: r for r in detail}
    assert set(got) == {a["resource_id"] for a in truth["actions"]}
    month = Decimal("30.4375")
    for a in truth["actions"]:
        r = got[a["resource_id"]]
        assert r["action_date"] == date.fromisoformat(a["date"])
        if a["action"] == "rightsized":
            assert (r["action"], r["from_state"], r["to_state"]) == (
                "type-changed",
                a["from_type"],
                a["to_type"],
            )
        else:
            assert r["action"] == "resource-gone"
        # the demo's instances cost the same every day: the truth's after (from the action day)
        # and costline's (from the day after it) agree per day
        before = Decimal(a["effective_cost_per_day_before"])
        after = Decimal(a["effective_cost_per_day_after"])
        assert r["realized_monthly"] == ((before - after) * month).quantize(Decimal("0.01"))
        days_after = (date(2026, 9, 30) - r["action_date"]).days
        assert r["realized_in_month"] == ((before - after) * days_after).quantize(Decimal("0.01"))
    total = ingested.savings_report("2026-09").records()[-1]
    assert total["team"] == "TOTAL" and total["actioned"] >= len(truth["actions"])
    assert total["realized_monthly"] == sum(r["realized_monthly"] for r in detail)


def test_k8s_pods_run_on_the_eks_nodes_of_the_bill(
    demo: tuple[Path, dict[str, Any]], raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    root, truth = demo
    pods = _csv(root / "k8s" / "pod_usage.csv")
    nodes = {
        r[0]
        for r in raw_duckdb.execute(
            "SELECT DISTINCT line_item_resource_id FROM read_parquet(?) "
            "WHERE resource_tags['aws_eks_cluster_name'] = 'shared-prod'",
            [str(root / "billing/aws/**/*.parquet")],
        ).fetchall()
    }
    assert {p["node"] for p in pods} == nodes == set(truth["kubernetes"]["node_resource_ids"])
    teams = {t["team"] for bu in truth["hierarchy"] for d in bu["departments"] for t in d["teams"]}
    assert {p["team"] for p in pods} <= teams | {""}
    assert "" in {p["team"] for p in pods}  # one namespace without a team label
    requested = sum(float(p["cpu_request_cores"]) for p in pods if p["date"] == "2026-07-01")
    assert 0.5 < requested / truth["kubernetes"]["node_vcpu_total"] < 0.8


def test_gpu_jobs_match_billed_gpu_instances(demo: tuple[Path, dict[str, Any]]) -> None:
    jobs = _csv(demo[0] / "jobs" / "gpu_jobs.csv")
    kinds = {(j["provider"], j["instance_type"]) for j in jobs}
    assert ("aws", "p4d.24xlarge") in kinds and ("gcp", "a2-highgpu-8g") in kinds
    assert any(k[1].startswith("g5.") for k in kinds)
    assert {j["status"] for j in jobs} >= {"completed", "runaway", "running"}
    assert all(Decimal(j["list_cost_usd"]) > 0 for j in jobs)


def test_commitments_are_listed(demo: tuple[Path, dict[str, Any]]) -> None:
    kinds = sorted(c["kind"] for c in demo[1]["commitments"])
    assert kinds == ["Reservation", "ReservedInstance", "ReservedInstance", "SavingsPlan"]


# -- allocation against the true owners -----------------------------------------------------
Key = tuple[str, str, str, str, str]  # provider, month, account, resource, service


@pytest.fixture(scope="module")
def allocated(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]]
) -> dict[str, AllocationReport]:
    """The demo's owners, rules, metrics and cluster usage installed, every month allocated."""
    root, truth = demo
    assert install_allocation_inputs(ingested, root) is None
    for item in truth["allocation"]["metrics"]:
        assert ingested.load_metrics(root / item["file"], metric=item["metric"]) > 0
    for item in truth["allocation"]["kubernetes"]:
        assert ingested.load_kubernetes(item["kind"], root / item["file"]) > 0
    return {m: ingested.allocate(m) for m in truth["generator"]["months"]}


def _true_owners(root: Path) -> list[dict[str, str]]:
    with (root / "truth" / "owners.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _key(provider: str, month: str, account: str | None, resource: str | None, service: str) -> Key:
    # Azure's SubAccountId is the ARM id /subscriptions/<guid>; the truth has the export's guid.
    return (provider, month, (account or "").rsplit("/", 1)[-1], resource or "", service or "")


def _by_key(ws: Workspace, table: str, extra: str = "") -> dict[tuple[Any, ...], Decimal]:
    rows = ws.query(
        "SELECT x_Provider, strftime(BillingPeriodStart, '%Y-%m'), SubAccountId, ResourceId, "
        f"ServiceName{extra}, sum(EffectiveCost) FROM {table} GROUP BY ALL"
    ).rows
    out: dict[tuple[Any, ...], Decimal] = {}
    for r in rows:
        k = (*_key(*r[:5]), *r[5:-1])
        out[k] = out.get(k, Decimal(0)) + r[-1]
    return out


def test_allocation_conserves_every_demo_month_exactly(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]], allocated: dict[str, AllocationReport]
) -> None:
    # Totals per provider and month equal the ground truth (computed by the generator from
    # the rows it wrote), and every charge's parts add up to that charge.
    got = ingested.query(
        "SELECT x_Provider, strftime(BillingPeriodStart, '%Y-%m'), sum(BilledCost), "
        "sum(EffectiveCost) FROM allocated_cost GROUP BY 1, 2"
    ).rows
    expected = {k: (b, e) for k, (_, b, e) in _truth_totals(demo[1]).items()}
    assert {(p, m): (b, e) for p, m, b, e in got} == expected
    # A charge is a cost row: its id is the cost table's x_ChargeId (or its rowid before the
    # first allocation gave it one).
    charge = (
        "x_ChargeId"
        if "x_ChargeId" in ingested.query("SELECT * FROM cost LIMIT 0").columns
        else "rowid"
    )
    broken = ingested.query(
        "SELECT count(*) FROM (SELECT x_ChargeId, sum(EffectiveCost) AS e, sum(BilledCost) AS b "
        f"FROM allocated_cost GROUP BY 1) a FULL JOIN (SELECT {charge} AS x_ChargeId, "
        "EffectiveCost, BilledCost FROM cost) c USING (x_ChargeId) "
        "WHERE a.e IS DISTINCT FROM c.EffectiveCost OR a.b IS DISTINCT FROM c.BilledCost"
    ).rows[0][0]
    assert broken == 0
    for month, report in allocated.items():
        assert report.unallocated_pools == [], month  # every pool found its driver data


def test_true_owner_keys_identify_every_line(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]], allocated: dict[str, AllocationReport]
) -> None:
    # The join the share below relies on: each cost row maps to a truth line key, and the
    # cost per key equals the generator's.
    truth: dict[Key, Decimal] = {}
    for r in _true_owners(demo[0]):
        k = _key(r["provider"], r["month"], r["account_id"], r["resource_id"], r["service"])
        truth[k] = truth.get(k, Decimal(0)) + Decimal(r["effective_cost"])
    assert _by_key(ingested, "cost") == truth
    # shared:<service> names the pool that should split it
    pools = {p.id for p in ingested.rules().rules.pools}
    assert pools == set(demo[1]["allocation"]["shared_services"])
    shared = {
        r["true_owner"] for r in _true_owners(demo[0]) if r["true_owner"].startswith("shared:")
    }
    assert shared == {f"shared:{p}" for p in pools}


def _owner_share(
    ws: Workspace, root: Path
) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, dict[str, Decimal]]]:
    """Effective cost per provider, the part at its true owner, and per tag mode the cost,
    the part at its true owner and the part charged to a wrong team."""
    owner: dict[Key, str] = {}
    modes: dict[Key, set[str]] = {}
    for r in _true_owners(root):
        k = _key(r["provider"], r["month"], r["account_id"], r["resource_id"], r["service"])
        owner[k] = r["true_owner"]
        modes.setdefault(k, set()).add(r["tag_mode"])
    total: dict[str, Decimal] = {}
    right: dict[str, Decimal] = {}
    by_mode: dict[str, dict[str, Decimal]] = {}
    for group, cost in _by_key(ws, "allocated_cost", ", x_Team, x_RuleId").items():
        key: Key = group[:5]
        team, rule = group[5], group[6]
        want = owner[key]
        # A shared charge is right when the pool named after its service split it to teams;
        # a team's charge when it went to that team directly.
        ok = (
            rule == "pool:" + want.removeprefix("shared:") and not team.startswith("unallocated")
            if want.startswith("shared:")
            else team == want and not rule.startswith("pool:")
        )
        total[key[0]] = total.get(key[0], Decimal(0)) + cost
        right[key[0]] = right.get(key[0], Decimal(0)) + (cost if ok else Decimal(0))
        mode = next(iter(modes[key])) if len(modes[key]) == 1 else "mixed"
        stats = by_mode.setdefault(
            mode, {"cost": Decimal(0), "ok": Decimal(0), "wrong": Decimal(0)}
        )
        stats["cost"] += cost
        stats["ok"] += cost if ok else Decimal(0)
        stats["wrong"] += cost if not ok and not team.startswith("unallocated") else Decimal(0)
    return total, right, by_mode


def test_share_of_spend_at_its_true_owner(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]], allocated: dict[str, AllocationReport]
) -> None:
    root, truth = demo
    total, right, by_mode = _owner_share(ingested, root)
    # Every tag problem the rules can repair is repaired: key case and the teem typo (key
    # folding and alias), value case (value folding), a missing team tag (cost-center tag,
    # account owner), the shared services (pools) and the fees (pools).
    for mode in ("ok", "key-case", "key-typo", "value-case", "no-team", "untagged", "fee"):
        if mode in by_mode:
            assert by_mode[mode]["ok"] == by_mode[mode]["cost"], mode
    # value-unknown cannot be: the tag is present and names no team, and a row's own tag wins
    # over every fallback, so it stays unallocated (and is reported, see below).
    if "value-unknown" in by_mode:
        assert by_mode["value-unknown"]["ok"] == 0
    # What is not at its true owner is unallocated: no dollar is charged to a wrong team.
    assert all(stats["wrong"] == 0 for stats in by_mode.values()), by_mode
    unknown = sum(
        (
            Decimal(r["effective_cost"])
            for r in _true_owners(root)
            if r["tag_mode"] == "value-unknown"
        ),
        Decimal(0),
    )
    untagged = sum(
        (Decimal(r["effective_cost"]) for r in _true_owners(root) if r["tag_mode"] == "none"),
        Decimal(0),
    )
    bill = sum(total.values(), Decimal(0))
    share = sum(right.values(), Decimal(0)) / bill
    # Bracketed by the ground truth: everything but value-unknown is recoverable except `none`
    # resources with generated ids in AWS department accounts (instances, volumes).
    assert 1 - (unknown + untagged) / bill <= share <= 1 - unknown / bill
    # value-unknown is one of six modes (five on GCP) picked per resource inside a 15-25 %
    # budget of not-allocatable spend, most of which is shared spend untagged by nature; it
    # measured 0.1-1.6 % of spend over the seeds tried (1.2 % here), so 97 % leaves margin
    # without hiding a rule that stops working (any repaired mode is > 0.3 % of spend).
    assert share >= Decimal("0.97"), share
    assert set(total) == {"aws", "azure", "gcp"}


def test_unknown_team_values_are_reported(
    demo: tuple[Path, dict[str, Any]], allocated: dict[str, AllocationReport]
) -> None:
    root, truth = demo
    for month, report in allocated.items():
        names = sorted(u["value"] for u in report.unknown_teams)
        assert names == truth["allocation"]["unknown_team_values"][month]
        expected = sum(
            (
                Decimal(r["effective_cost"])
                for r in _true_owners(root)
                if r["tag_mode"] == "value-unknown" and r["month"] == month
            ),
            Decimal(0),
        )
        assert sum((u["cost"] for u in report.unknown_teams), Decimal(0)) == expected
    assert any(truth["allocation"]["unknown_team_values"].values())  # this seed has some


def test_kubernetes_pool_charges_each_namespace_to_its_team(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]], allocated: dict[str, AllocationReport]
) -> None:
    # Every part of the cluster names the namespace it went to; a tenant namespace's parts go
    # to the team the generator gave it, legacy-batch (no team label) to k8s-platform by the
    # pool's rule, and the shared system namespaces only through other namespaces' parts.
    truth = demo[1]["kubernetes"]
    owner = {n["namespace"]: n["team"] for n in truth["namespaces"]}
    rows = ingested.query(
        "SELECT x_Team, AllocatedResourceId, AllocatedResourceName, sum(EffectiveCost) "
        "FROM allocated_cost WHERE x_RuleId = 'pool:kubernetes' GROUP BY ALL"
    ).rows
    assert rows
    for team, rid, name, _ in rows:
        assert rid == f"k8s://{truth['cluster']}/{name}"
        if name != "__idle__":
            assert name not in ("kube-system", "monitoring")
            assert team == (owner[name] or "k8s-platform"), (team, name)
    tenants = {name for _, _, name, _ in rows} - {"__idle__"}
    assert tenants == set(owner) - {"kube-system", "monitoring"}


def test_kubernetes_idle_equals_the_capacity_no_pod_held(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]], allocated: dict[str, AllocationReport]
) -> None:
    # From the raw files: per node and day, A = Σ max(request, usage) × hours of its pods,
    # capacity K = 16 vCPU (64 GiB) × the longest pod's hours; m6i.4xlarge with AWS weights
    # 9 per vCPU, 1 per GiB puts 144/208 of a node's cost on CPU and 64/208 on memory, so
    # idle = cost × (144/208 · (K_cpu − A_cpu)/K_cpu + 64/208 · (K_mem − A_mem)/K_mem).
    root, truth = demo
    cpu: dict[tuple[str, str], float] = {}
    mem: dict[tuple[str, str], float] = {}
    hours: dict[tuple[str, str], float] = {}
    for p in _csv(root / "k8s" / "pod_usage.csv"):
        key, h = (p["node"], p["date"]), float(p["running_hours"])
        a_cpu = max(float(p["cpu_request_cores"]), float(p["cpu_usage_avg_cores"]))
        a_mem = max(float(p["mem_request_gib"]), float(p["mem_usage_avg_gib"]))
        cpu[key] = cpu.get(key, 0.0) + a_cpu * h
        mem[key] = mem.get(key, 0.0) + a_mem * h
        hours[key] = max(hours.get(key, 0.0), h)
    nodes = {n["node_resource_id"]: n for n in _csv(root / "k8s" / "nodes.csv")}
    assert set(nodes) == set(truth["kubernetes"]["node_resource_ids"])
    assert {(n["cpu_cores"], n["memory_gib"]) for n in nodes.values()} == {("16", "64")}
    cost = ingested.query(
        "SELECT ResourceId, strftime(ChargePeriodStart, '%Y-%m-%d'), sum(EffectiveCost) "
        "FROM cost WHERE list_contains(?, ResourceId) GROUP BY ALL",
        [sorted(nodes)],
    ).rows
    idle = 0.0
    for rid, day, c in cost:
        k_cpu, k_mem = 16 * hours[(rid, day)], 64 * hours[(rid, day)]
        free = (
            144 / 208 * max(k_cpu - cpu[(rid, day)], 0) / k_cpu
            + 64 / 208 * max(k_mem - mem[(rid, day)], 0) / k_mem
        )
        idle += float(c) * free
    got = ingested.query(
        "SELECT sum(EffectiveCost) FROM allocated_cost WHERE x_RuleId = 'pool:kubernetes' "
        "AND AllocatedResourceName = '__idle__'"
    ).rows[0][0]
    assert abs(float(got) - idle) < 1e-4, (got, idle)
    assert 0.1 < idle / sum(float(c) for _, _, c in cost) < 0.5  # requests fill ~70 %


def test_chargeback_of_a_demo_month_totals_the_bill(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]], allocated: dict[str, AllocationReport]
) -> None:
    truth = demo[1]
    month = truth["generator"]["months"][-1]
    bill = sum(
        (Decimal(t["effective_cost"]) for t in truth["totals"] if t["month"] == month), Decimal(0)
    )
    charged = ingested.chargeback(month)
    total = charged.columns.index("total")
    assert sum((r[total] for r in charged.rows), Decimal(0)) == bill
    table = chargeback_table(ingested, truth, month)
    last = {r[0]: r for r in table.rows[-2:]}
    assert last["total"][-1] == bill and last["bill"][1:] == ("= total", None, None, bill)
    assert len(table.rows) == 10 + 1 + 1 + 2  # top 10, the rest, unallocated, total, bill


def test_demo_never_overwrites_a_users_owners_or_rules(
    demo: tuple[Path, dict[str, Any]], workspace: Workspace
) -> None:
    root = demo[0]
    mine = "version: 1\\nbusiness_units: []\\n"
    workspace.owners_path.write_text(mine)
    assert install_allocation_inputs(workspace, root) == workspace.owners_path
    assert workspace.owners_path.read_text() == mine
    assert not list(workspace.rules_path.iterdir())
    # Files the demo wrote (marker line) are replaced; a stale one is removed.
    workspace.owners_path.write_text(MARKER + "\\n" + mine)
    (workspace.rules_path / "05-old.yaml").write_text(MARKER + "\\nversion: 1\\n")
    assert install_allocation_inputs(workspace, root) is None
    assert workspace.owners_path.read_text() == (root / "owners.yaml").read_text()
    assert sorted(p.name for p in workspace.rules_path.iterdir()) == [
        "10-tags.yaml",
        "20-owner.yaml",
        "30-shared.yaml",
    ]
    # A rules file of the user's blocks it too.
    (workspace.rules_path / "99-mine.yaml").write_text("version: 1\\n")
    assert install_allocation_inputs(workspace, root) == workspace.rules_path / "99-mine.yaml"


# -- run_demo -------------------------------------------------------------------------------
@pytest.mark.slow
def test_run_demo_twice(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "acme")
    progress = NoProgress()
    tables = dict(run_demo(ws, rows=300, seed=5, progress=progress))
    assert len(tables) == 16 and not progress.warnings
    # optimization: rightsizing finds oversized instances the ground truth names
    truth_now = json.loads((ws.root / DEMO_DIR / "ground_truth.json").read_text())
    wasteful = {t["resource_id"] for t in truth_now["overprovisioned"]}
    sized = next(v for k, v in tables.items() if k.startswith("demo: rightsizing"))
    assert sized.rows and {r[0] for r in sized.rows} & wasteful
    requests = next(v for k, v in tables.items() if "Kubernetes requests" in k)
    assert requests.rows and all(r[-1] is None or r[-1] >= 0 for r in requests.rows)
    plan = next(v for k, v in tables.items() if "commitment to buy next" in k)
    assert {r[0] for r in plan.rows} <= {"aws", "azure", "gcp"} and plan.rows
    totals = next(v for k, v in tables.items() if "totals" in k)
    assert [r[-1] for r in totals.rows] == ["yes"] * 9
    alloc = next(v for k, v in tables.items() if "allocatable" in k)
    assert alloc.rows[-1][0] == "all" and 75 <= float(alloc.rows[-1][3]) <= 85
    top = next(v for k, v in tables.items() if "top 10 services" in k)
    assert len(top.rows) == 10
    truth = json.loads((ws.root / DEMO_DIR / "ground_truth.json").read_text())
    coverage = next(v for k, v in tables.items() if "coverage" in k)
    by = {r[0]: r for r in coverage.rows if r[1] in ("(all)", "")}
    assert list(by) == ["tags", "virtual tags", "pools", "unallocated", "total"]
    assert by["total"][3] == sum(Decimal(t["effective_cost"]) for t in truth["totals"])
    assert sum(by[c][3] for c in ("tags", "virtual tags", "pools", "unallocated")) == by["total"][3]
    owner = next(v for k, v in tables.items() if "true owner" in k)
    assert [r[0] for r in owner.rows] == ["aws", "azure", "gcp", "all"]
    assert owner.rows[-1][3] >= 97  # see test_share_of_spend_at_its_true_owner
    charge = next(v for k, v in tables.items() if "chargeback" in k)
    assert charge.rows[-1][:2] == ("bill", "= total")
    ingest = next(v for k, v in tables.items() if k.endswith("ingest"))
    assert {r[1] for r in ingest.rows} == {"loaded"}
    stamp = (ws.root / DEMO_DIR / "ground_truth.json").stat().st_mtime_ns
    runs = ws.allocation_runs().rows
    again = dict(run_demo(ws, rows=300, seed=5, progress=NoProgress()))
    assert (ws.root / DEMO_DIR / "ground_truth.json").stat().st_mtime_ns == stamp
    assert {r[1] for r in next(v for k, v in again.items() if k.endswith("ingest")).rows} == {
        "unchanged"
    }
    # The second run re-allocates with the same rules version and gets the same chargeback.
    assert len(ws.allocation_runs().rows) == 2 * len(runs)
    assert {r[2] for r in ws.allocation_runs().rows} == {runs[0][2]}
    assert next(v for k, v in again.items() if "chargeback" in k).rows == charge.rows
    # adoption: the resources the demo changed in September, the same on the second run
    acted = next(v for k, v in tables.items() if "bill shows actioned" in k)
    assert {r[0] for r in acted.rows} == {a["resource_id"] for a in truth["actions"]}
    assert all(r[5] == r[6] for r in acted.rows)  # realized = the truth's, per month
    assert next(v for k, v in again.items() if "bill shows actioned" in k).rows == acted.rows


def test_injected_anomalies_are_detected_with_their_owner(
    ingested: Workspace, demo: tuple[Path, dict[str, Any]], allocated: dict[str, AllocationReport]
) -> None:
    # The generator wrote which streams it spiked (ground_truth.json); detection never reads it.
    result = detect_demo_anomalies(ingested, demo[1])
    assert len(result["injected"]) >= 3
    assert result["recall"] == 1.0, [t["description"] for t in result["injected"]]
    for injected, delay in result["detected"]:
        # a spike the same or the next day; a job left running once it has run more than a
        # day longer than any earlier job (its injected days start on its second day)
        assert 0 <= delay <= (2 if injected["kind"] == "runaway" else 1), injected["description"]
        mine = [a for a in result["found"] if matches_truth(a, injected)]
        # the allocation names the owner: the injected stream's team
        assert injected["team"] in {a["team"] for a in mine}, injected["description"]
    # precision is reported by the demo and benchmarks/anomaly/demo_eval.py, not asserted:
    # it depends on which training jobs the seed's first months happen to hold
    assert 0 < result["precision"] <= 1


@pytest.mark.slow
def test_default_size_is_about_2000_rows(tmp_path: Path) -> None:
    # speed is measured by benchmarks, never asserted in tests
    truth = generate(tmp_path / "demo-data", rows=2000, seed=7)
    assert all(1600 <= t["rows"] <= 2500 for t in truth["totals"]), truth["totals"]


@pytest.mark.slow
def test_cli_demo_creates_a_workspace_and_prints_the_summary(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "costline.cli.main", "demo", "--rows", "150", "--seed", "3"],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        env={
            **{k: v for k, v in os.environ.items() if k != "COSTLINE_WORKSPACE"},
            "COLUMNS": "200",
        },
    )
    assert done.returncode == 0, done.stderr
    assert "matches_ground_truth" in done.stdout and " NO " not in done.stdout
    assert "top 10 services" in done.stdout
    assert "allocation coverage" in done.stdout and "true owner" in done.stdout
    assert "= total" in done.stdout  # the chargeback's total equals the bill
    assert (tmp_path / "costline-demo" / DEMO_DIR / "ground_truth.json").is_file()
