"""The demo company: Acme Corp, ~40 teams in a BU → department → team → cost-center hierarchy.

The organisation is fixed (it does not depend on the seed): the seed varies what the teams
run and spend, not who they are. Each team lists the clouds it runs on; accounts,
subscriptions and projects are derived from the hierarchy:

* AWS: one member account per department and environment class (``acme-commerce-prod``,
  ``acme-commerce-nonprod``) shared by the department's teams, plus shared accounts
  (management/payer, network, EKS, data platform, ML training, sandbox).
* Azure (EA enrollment): one subscription per team, plus connectivity and management.
* GCP: one project per team, plus the data lake, ML research and shared-VPC projects.

Example:
    >>> len(TEAMS), len({t.department for t in TEAMS}), len({t.bu for t in TEAMS})
    (40, 12, 4)
    >>> team("checkout").cost_center
    'CC-1101'
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

COMPANY = "Acme Corp"
_NS = uuid.UUID("6f1c2b4e-9d1a-4c35-8f0e-2b7a5d3c9e11")


@dataclass(frozen=True)
class Team:
    """A team: the unit costs are allocated to."""

    id: str
    bu: str
    department: str
    cost_center: str
    clouds: tuple[str, ...]

    @property
    def owner(self) -> str:
        return f"{self.id}-leads@acme.example"


@dataclass(frozen=True)
class Account:
    """An AWS account, Azure subscription or GCP project, and who owns it.

    ``owner`` is a team id, ``dept:<Department>`` for a department-shared account, or
    ``shared`` for company-wide shared services.
    """

    provider: str
    id: str
    name: str
    owner: str
    number: str = ""


# (BU, department, [(team, clouds)]) -- the first cloud is the team's main one.
_ORG: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Consumer",
        "Commerce",
        (
            ("checkout", "aws"),
            ("payments", "aws azure"),
            ("catalog", "aws"),
            ("search", "aws gcp"),
            ("recommendations", "gcp aws"),
        ),
    ),
    (
        "Consumer",
        "Mobile",
        (
            ("ios-app", "aws"),
            ("android-app", "aws"),
            ("mobile-backend", "aws"),
            ("notifications", "aws gcp"),
        ),
    ),
    (
        "Consumer",
        "Growth",
        (("growth-experiments", "gcp"), ("marketing-web", "azure"), ("seo-content", "azure")),
    ),
    (
        "Enterprise",
        "Enterprise Apps",
        (
            ("crm-integrations", "azure"),
            ("billing-platform", "azure aws"),
            ("admin-console", "azure"),
            ("reporting", "azure gcp"),
        ),
    ),
    (
        "Enterprise",
        "Identity & Security",
        (
            ("identity", "azure aws"),
            ("security-engineering", "aws azure"),
            ("compliance-tooling", "azure"),
        ),
    ),
    ("Enterprise", "Customer Success", (("support-tools", "azure"), ("customer-analytics", "gcp"))),
    (
        "Platform",
        "Infrastructure",
        (
            ("k8s-platform", "aws"),
            ("networking", "aws azure gcp"),
            ("observability", "aws azure"),
            ("ci-cd", "aws"),
            ("developer-portal", "aws"),
        ),
    ),
    (
        "Platform",
        "Data",
        (
            ("data-platform", "aws gcp"),
            ("data-engineering", "gcp aws"),
            ("bi-analytics", "gcp"),
            ("streaming", "aws"),
        ),
    ),
    (
        "Platform",
        "Machine Learning",
        (("ml-research", "gcp aws"), ("ml-serving", "aws"), ("feature-store", "gcp")),
    ),
    (
        "Corporate",
        "Corporate IT",
        (("it-ops", "azure"), ("workplace-apps", "azure"), ("endpoint-mgmt", "azure")),
    ),
    (
        "Corporate",
        "Finance & Ops",
        (("finops", "aws"), ("erp", "azure"), ("people-systems", "azure")),
    ),
    ("Corporate", "Innovation", (("innovation-lab", "aws gcp"),)),
)


def _teams() -> tuple[Team, ...]:
    out: list[Team] = []
    bus: list[str] = []
    depts: dict[str, list[str]] = {}
    for bu, dept, members in _ORG:
        if bu not in bus:
            bus.append(bu)
        depts.setdefault(bu, []).append(dept)
        code = f"CC-{bus.index(bu) + 1}{len(depts[bu])}"
        for i, (tid, clouds) in enumerate(members, start=1):
            out.append(Team(tid, bu, dept, f"{code}{i:02d}", tuple(clouds.split())))
    return tuple(out)


TEAMS: tuple[Team, ...] = _teams()
TEAM_IDS: frozenset[str] = frozenset(t.id for t in TEAMS)


def team(team_id: str) -> Team:
    """The team with this id (KeyError if unknown)."""
    for t in TEAMS:
        if t.id == team_id:
            return t
    raise KeyError(team_id)


def teams_on(cloud: str) -> list[Team]:
    """Teams that run workloads on ``cloud``, in org order."""
    return [t for t in TEAMS if cloud in t.clouds]


def slug(text: str) -> str:
    """``Identity & Security`` → ``identity-security``."""
    words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
    return "-".join(words)


def _digits(key: str, n: int) -> str:
    number = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    return str(number % (9 * 10 ** (n - 1)) + 10 ** (n - 1))


def _guid(key: str) -> str:
    return str(uuid.uuid5(_NS, key))


# -- AWS ------------------------------------------------------------------------------------
AWS_PAYER = Account("aws", _digits("aws:payer", 12), "acme-management", "shared")
_AWS_SHARED = (
    ("shared-network", "networking"),
    ("eks-shared", "k8s-platform"),
    ("data-platform", "data-platform"),
    ("ml-training", "ml-research"),
    ("sandbox", "shared"),
)


def _aws_accounts() -> tuple[Account, ...]:
    out = [AWS_PAYER]
    depts = list(dict.fromkeys(t.department for t in TEAMS if "aws" in t.clouds))
    for dept in depts:
        for env in ("prod", "nonprod"):
            name = f"acme-{slug(dept)}-{env}"
            out.append(Account("aws", _digits(f"aws:{name}", 12), name, f"dept:{dept}"))
    for name, owner in _AWS_SHARED:
        out.append(Account("aws", _digits(f"aws:{name}", 12), f"acme-{name}", owner))
    return tuple(out)


AWS_ACCOUNTS: tuple[Account, ...] = _aws_accounts()


def aws_account(name: str) -> Account:
    """An AWS account by name, e.g. ``acme-eks-shared``."""
    return next(a for a in AWS_ACCOUNTS if a.name == name)


def aws_team_account(t: Team, env: str) -> Account:
    """The department account a team's workload in ``env`` runs in."""
    kind = "prod" if env == "prod" else "nonprod"
    return aws_account(f"acme-{slug(t.department)}-{kind}")


# -- Azure ----------------------------------------------------------------------------------
AZURE_ENROLLMENT = "86051234"
AZURE_ENROLLMENT_NAME = "Acme Corp EA"
_AZURE_SHARED = (("acme-connectivity", "networking"), ("acme-management", "shared"))


def _azure_subs() -> tuple[Account, ...]:
    out = [
        Account("azure", _guid(f"azure:{t.id}"), f"{t.id}-prod", t.id) for t in teams_on("azure")
    ]
    out += [Account("azure", _guid(f"azure:{name}"), name, owner) for name, owner in _AZURE_SHARED]
    return tuple(out)


AZURE_SUBSCRIPTIONS: tuple[Account, ...] = _azure_subs()


def azure_sub(name: str) -> Account:
    """An Azure subscription by name, e.g. ``acme-management`` or ``payments-prod``."""
    return next(a for a in AZURE_SUBSCRIPTIONS if a.name == name)


# -- GCP ------------------------------------------------------------------------------------
GCP_BILLING_ACCOUNT = "01A7C3-5D2E9B-4F8A61"
GCP_ORG_NUMBER = _digits("gcp:org", 12)
_GCP_SHARED = (
    ("acme-data-lake", "data-platform"),
    ("acme-ml-research", "ml-research"),
    ("acme-shared-vpc", "networking"),
)


def _gcp_projects() -> tuple[Account, ...]:
    pairs = [(f"acme-{t.id}", t.id) for t in teams_on("gcp")] + list(_GCP_SHARED)
    seen: dict[str, Account] = {}
    for name, owner in pairs:
        seen.setdefault(
            name,
            Account(
                "gcp",
                name,
                name.removeprefix("acme-").replace("-", " ").title(),
                owner,
                _digits(f"gcp:{name}", 12),
            ),
        )
    return tuple(seen.values())


GCP_PROJECTS: tuple[Account, ...] = _gcp_projects()


def gcp_project(name: str) -> Account:
    """A GCP project by id, e.g. ``acme-ml-research``."""
    return next(a for a in GCP_PROJECTS if a.id == name)


def hierarchy() -> list[dict[str, object]]:
    """The BU → department → team → cost-center tree as plain data (for org.yaml/ground truth)."""
    tree: list[dict[str, object]] = []
    for bu in dict.fromkeys(t.bu for t in TEAMS):
        depts = []
        for dept in dict.fromkeys(t.department for t in TEAMS if t.bu == bu):
            members = [
                {
                    "team": t.id,
                    "cost_center": t.cost_center,
                    "owner": t.owner,
                    "clouds": list(t.clouds),
                }
                for t in TEAMS
                if t.department == dept
            ]
            depts.append({"department": dept, "teams": members})
        tree.append({"business_unit": bu, "departments": depts})
    return tree


def accounts() -> list[dict[str, str]]:
    """Every account/subscription/project with its owner, as plain data."""
    rows = []
    for acct in (*AWS_ACCOUNTS, *AZURE_SUBSCRIPTIONS, *GCP_PROJECTS):
        rows.append(
            {"provider": acct.provider, "id": acct.id, "name": acct.name, "owner": acct.owner}
        )
    return rows
