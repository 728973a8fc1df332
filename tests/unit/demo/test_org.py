"""The demo organisation: hierarchy, cost centers and accounts."""

from __future__ import annotations

from costline.demo import org


def test_forty_teams_in_four_levels() -> None:
    assert len(org.TEAMS) == 40
    assert len({t.bu for t in org.TEAMS}) == 4
    assert len({t.department for t in org.TEAMS}) == 12
    centers = [t.cost_center for t in org.TEAMS]
    assert len(set(centers)) == 40
    assert all(c.startswith("CC-") and len(c) == 7 for c in centers)
    tree = org.hierarchy()
    assert sum(len(d["teams"]) for bu in tree for d in bu["departments"]) == 40


def test_every_team_runs_somewhere_and_has_an_account() -> None:
    for t in org.TEAMS:
        assert t.clouds and set(t.clouds) <= {"aws", "azure", "gcp"}
        if "aws" in t.clouds:
            assert org.aws_team_account(t, "prod").owner == f"dept:{t.department}"
        if "azure" in t.clouds:
            assert org.azure_sub(f"{t.id}-prod").owner == t.id
        if "gcp" in t.clouds:
            assert org.gcp_project(f"acme-{t.id}").owner == t.id


def test_account_ids_are_unique_and_well_formed() -> None:
    aws_ids = [a.id for a in org.AWS_ACCOUNTS]
    assert len(set(aws_ids)) == len(aws_ids) and all(len(i) == 12 and i.isdigit() for i in aws_ids)
    subs = [a.id for a in org.AZURE_SUBSCRIPTIONS]
    assert len(set(subs)) == len(subs) and all(len(s) == 36 for s in subs)
    assert len({a.number for a in org.GCP_PROJECTS}) == len(org.GCP_PROJECTS)


def test_slug() -> None:
    assert org.slug("Identity & Security") == "identity-security"
