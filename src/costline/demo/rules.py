"""The allocation inputs a FinOps engineer at Acme would write: ``owners.yaml`` and ``rules/``.

Both are generated from the organisation (:mod:`costline.demo.org`), so they never drift from
the bills; they do not depend on the seed. Every file starts with :data:`MARKER`, which is how
``costline demo`` tells its own files from a user's (it only ever overwrites marked files).

The rule set (see docs/demo.md, "Allocation in the demo"):

* ``10-tags.yaml`` — tag hygiene: keys compared case-insensitively (``Team``), the ``teem``
  typo as an alias of ``team``, the ``cost-center`` tag read as a team (one cost center per
  team), and ``account-team`` inherited from accounts, subscriptions and projects that one
  team owns;
* ``20-owner.yaml`` — the ``team`` virtual tag: the team tag, else the cost-center tag, else the
  account's team, else AWS naming conventions (bucket, database and function names start with
  the team id);
* ``30-shared.yaml`` — shared-cost pools: support, unused commitments, network, the EKS
  cluster (``method: kubernetes``: node cost split over pods by requests and usage, idle and
  system namespaces shared), the data platform, security tooling and the sandbox.

Example:
    >>> owners_yaml().startswith(MARKER)
    True
    >>> sorted(rule_files())
    ['10-tags.yaml', '20-owner.yaml', '30-shared.yaml']
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import yaml

from costline.demo import aws, metrics, telemetry
from costline.demo.org import (
    AWS_ACCOUNTS,
    AZURE_SUBSCRIPTIONS,
    GCP_PROJECTS,
    TEAM_IDS,
    TEAMS,
    Account,
    aws_account,
    azure_sub,
    gcp_project,
    teams_on,
)

MARKER = (
    "# costline-demo: written by `costline demo`, which rewrites this file on every run."
    " Delete this line to keep your edits."
)
OWNERS = "owners.yaml"
RULES_DIR = "rules"


def is_demo_file(text: str) -> bool:
    """Whether a file's text was written by the demo (its first line is :data:`MARKER`)."""
    return text.startswith(MARKER)


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value)


def scope_id(acct: Account) -> str:
    """The account as the cost table's ``SubAccountId`` holds it (FOCUS: Azure ARM id)."""
    return f"/subscriptions/{acct.id}" if acct.provider == "azure" else acct.id


# -- owners.yaml ----------------------------------------------------------------------------
def _jira_keys() -> dict[str, str]:
    """A unique Jira project key per team: initials (or first letters), then a digit."""
    out: dict[str, str] = {}
    for t in TEAMS:
        words = t.id.split("-")
        base = ("".join(w[0] for w in words) if len(words) > 1 else t.id[:4]).upper()
        key, n = base, 1
        while key in out.values():
            n += 1
            key = f"{base}{n}"
        out[t.id] = key
    return out


def owners_doc() -> dict[str, object]:
    """The registry as data: cost centers, then BU → department → team with contacts."""
    jira = _jira_keys()
    bus: dict[str, dict[str, list[dict[str, object]]]] = {}
    for t in TEAMS:
        bus.setdefault(t.bu, {}).setdefault(t.department, []).append(
            {
                "id": t.id,
                "name": t.id.replace("-", " ").title(),
                "cost_center": t.cost_center,
                "contacts": {"email": t.owner, "slack": f"#{t.id}-costs", "jira": jira[t.id]},
            }
        )
    return {
        "version": 1,
        "cost_centers": [
            {"id": t.cost_center, "name": f"{t.department}: {t.id}", "owner": t.owner}
            for t in TEAMS
        ],
        "business_units": [
            {"name": bu, "departments": [{"name": d, "teams": ts} for d, ts in depts.items()]}
            for bu, depts in bus.items()
        ],
    }


def owners_yaml() -> str:
    head = (
        f"{MARKER}\n"
        "# Acme Corp's ownership registry: business unit → department → team → cost center.\n"
    )
    return head + yaml.safe_dump(owners_doc(), sort_keys=False, allow_unicode=True)


# -- rules ----------------------------------------------------------------------------------
def _team_accounts() -> list[Account]:
    """Accounts, subscriptions and projects a single team owns (not ``dept:`` or shared)."""
    return [a for a in (*AWS_ACCOUNTS, *AZURE_SUBSCRIPTIONS, *GCP_PROJECTS) if a.owner in TEAM_IDS]


def tags_yaml() -> str:
    cost_centers = "\n".join(f"        {_q(t.cost_center)}: {t.id}" for t in TEAMS)
    inherit = "\n".join(
        f"        {_q(scope_id(a))}: {{account-team: {a.owner}}}  # {a.provider} {a.name}"
        for a in _team_accounts()
    )
    return f"""{MARKER}
# Tag hygiene: what the raw tags mean before any rule reads them.
version: 1
tags:
  fold_keys: true  # Team, TEAM and "team " are the key team
  keys:
    - key: team
      # A typo some teams' Terraform modules write. Fix it at the source too; until then
      # this alias reads it as team.
      aliases: [teem]
      # No value aliases: case is folded (Checkout = checkout), and the unknown names seen
      # (tbd, platform, payments-legacy, ...) are on resources of many different teams, so
      # no alias would be right. They show as unknown teams in `costline allocate`.
    # The cost-center tag names the team too: every team has exactly one cost center (see
    # owners.yaml). It is read under its own key so that the team tag still wins.
    - key: cost-center-team
      aliases: [cost-center, cost_center]  # AWS CUR writes user_cost_center
      values:
{cost_centers}
  inherit:
    # Accounts, subscriptions and projects one team owns (org.yaml `accounts`): their rows
    # carry account-team. Department accounts (acme-<department>-prod/nonprod) hold several
    # teams' resources, so they name no team.
    - column: SubAccountId
      values:
{inherit}
"""


def _naming_rules() -> str:
    """One rule per AWS team: resource names that start with the team id.

    Longest ids first, so that a team whose id extends another's is matched by its own rule.
    """
    teams = sorted((t.id for t in teams_on("aws")), key=lambda i: (-len(i), i))
    return "\n".join(
        f"      - id: name-{tid}\n"
        f"        when: {{column: ResourceId, regex: {_q(f'(^acme-|:db:|:function:){tid}-')}}}\n"
        f"        value: {tid}"
        for tid in teams
    )


def owner_yaml() -> str:
    return f"""{MARKER}
# Who owns a charge: the first rule that matches wins. A charge whose team is not in
# owners.yaml, or that no rule matches, stays `unallocated` and is reported.
version: 1
owner: {{vtag: team}}
virtual_tags:
  - key: team
    rules:
      # 1. The resource's own team tag (keys folded, `teem` read as team).
      - id: team-tag
        when: {{tag: team, present: true}}
        value_from: {{tag: team}}
      # 2. Its cost-center tag (one cost center per team).
      - id: cost-center-tag
        when: {{tag: cost-center-team, present: true}}
        value_from: {{tag: cost-center-team}}
      # 3. The team that owns its account, subscription or project.
      - id: account-owner
        when: {{tag: account-team, present: true}}
        value_from: {{tag: account-team}}
      # 4. AWS naming conventions, for untagged resources in department accounts: S3 buckets
      #    acme-<team>-..., RDS databases ...:db:<team>-..., Lambda ...:function:<team>-...
      #    (EC2 instances, EBS volumes and data transfer have generated ids: no rule can tell.)
{_naming_rules()}
"""


def _account(acct: Account) -> str:
    return f"{{column: SubAccountId, equals: {_q(scope_id(acct))}}}"


def shared_yaml() -> str:
    network = aws_account("acme-shared-network")
    return f"""{MARKER}
# Shared costs: a charge a pool selects is split between teams by the pool's method. Pools
# must not select the same charge twice; they are checked before anything is written.
# (The pools that split into the most parts come last: each step copies the parts so far.)
version: 1
pools:
  # AWS Business Support and GCP Enhanced Support: billed to the payer, no resource.
  - id: support
    select: {{column: ServiceName, in: ["AWS Support (Business)", "Support"]}}
    method: proportional  # by each team's direct EffectiveCost, within the provider
  # Commitment hours nobody used (Savings Plan, RIs, Azure reservation) and the purchase
  # side of commitment fees (EffectiveCost 0: amortized into the covered usage already).
  - id: commitments
    select: &commitment-charges
      any:
        - {{column: CommitmentDiscountStatus, equals: Unused}}
        - all:
            - {{column: ChargeCategory, equals: Purchase}}
            - {{column: CommitmentDiscountId, present: true}}
    method: proportional
  # Defender for Cloud covers every Azure server.
  - id: security
    select: {{column: ServiceName, equals: "Microsoft Defender for Cloud"}}
    method: proportional
  # The sandbox account: anyone may experiment there, nobody owns it (including the instance
  # left running and the promotional credit billed to it), so every AWS team pays an equal part.
  - id: sandbox
    select: {_account(aws_account("acme-sandbox"))}
    method: even
  # The shared EKS cluster: nodes, cluster fee, inter-AZ traffic, all in acme-eks-shared.
  # Each node's daily cost is split into CPU and memory (AWS's 9:1 weights per vCPU-hour and
  # GiB-hour) and over the pods that ran on it, by the greater of request and usage
  # ({telemetry.K8S_PODS_FILE}; capacity from {telemetry.K8S_NODES_FILE}: `costline k8s load`).
  # Every part names its namespace: AllocatedResourceId = k8s://{aws.EKS_CLUSTER}/<namespace>.
  - id: kubernetes
    select: {_account(aws_account("acme-eks-shared"))}
    method: kubernetes
    kubernetes:
      cluster: {aws.EKS_CLUSTER}
      # Capacity no pod requested is charged to the teams, per resource, by what they hold
      # in the cluster that day (AWS's "unused cost" rule), so a team's chargeback is the full
      # cost of running its pods; it stays visible as the parts of k8s://{aws.EKS_CLUSTER}/__idle__.
      idle: {{mode: share, scope: cluster, split: weighted}}
      # System namespaces serve every tenant: re-shared by the tenants' direct cost.
      shared: {{namespaces: [kube-system, monitoring]}}
      # The cluster fee and inter-AZ traffic (not nodes): likewise, by direct cost.
      overhead: {{split: weighted}}
      # Pods carry a `team` label, except legacy-batch: its namespace is the platform team's
      # until a team claims it (an unlabelled pod would otherwise stay `unallocated`).
      teams:
        - id: legacy-batch-namespace
          when: {{tag: "k8s:namespace", equals: legacy-batch}}
          value: k8s-platform
        - id: pod-team-label
          when: {{tag: team, present: true}}
          value_from: {{tag: team}}
  # The data platform (Redshift, the S3 and BigQuery lake, Glue, the Spark workers): split by
  # the queries each team ran that day ({metrics.QUERIES_FILE}).
  - id: data-platform
    select:
      any:
        - all:
            - {_account(aws_account("acme-data-platform"))}
            - not: *commitment-charges  # its RI fee is in the commitments pool
        - {_account(gcp_project("acme-data-lake"))}
    method: metric
    driver: {{metric: {metrics.QUERIES_METRIC}}}
    granularity: daily
  # The shared network: NAT gateways, VPN hub, internet egress without a resource.
  - id: network
    select:
      any:
        - all:
            - {_account(network)}  # AWS {network.name}
            - not: {{column: ServiceName, equals: AmazonCloudWatch}}  # central logs: observability's
        - {_account(azure_sub("acme-connectivity"))}  # Azure acme-connectivity
        - {_account(gcp_project("acme-shared-vpc"))}  # GCP acme-shared-vpc
    method: proportional
"""


def rule_files() -> dict[str, str]:
    """File name → text of every rules file."""
    return {
        "10-tags.yaml": tags_yaml(),
        "20-owner.yaml": owner_yaml(),
        "30-shared.yaml": shared_yaml(),
    }


def shared_services() -> Iterable[str]:
    """The pool ids, which are also the ``shared:<service>`` names of the ground truth."""
    return (
        "support",
        "commitments",
        "network",
        "kubernetes",
        "data-platform",
        "security",
        "sandbox",
    )
