"""What Acme runs on AWS: the shared core (EKS, network, data platform, GPUs, commitments)
and each AWS team's workloads, as :class:`~costline.demo.model.Stream` objects.

The core is the same at every ``--rows`` (it carries the features later stages need):

* a shared EKS cluster ``shared-prod`` (cluster fee + m6i.4xlarge nodes covered by a Compute
  Savings Plan) whose pods are described in ``k8s/pod_usage.csv``;
* shared network (NAT gateway hours and bytes, internet and inter-AZ data transfer);
* the data platform (Redshift, S3 data lake, Glue) and CloudWatch logs;
* two EC2 Reserved Instances: 3 × m6i.2xlarge no-upfront (bought before the demo) and
  2 × r6i.xlarge partial-upfront bought on 2026-08-01 (the upfront fee is billed then);
* GPU training jobs on p4d.24xlarge and g5 inference endpoints, one idle sandbox instance;
* two oversized on-demand instances of teams (:data:`OVERSIZED`), so that every demo has
  instances to rightsize in September (:mod:`costline.demo.actions`);
* business support, a monthly promotional credit.

Team workloads (EC2, EBS, S3, RDS, Lambda, data transfer) are offered per team and added by
:func:`costline.demo.budget.fill` until the requested rows are reached.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from costline.demo import prices
from costline.demo.model import Anomaly, Job, Plan, Stream, Who, hexid, make, parse_table
from costline.demo.org import AWS_PAYER, Team, aws_account, aws_team_account, team, teams_on
from costline.demo.periods import ALL_DAYS, MONTHS

# product key → (product code, product name, usage type, operation, pricing unit, family)
PRODUCTS: dict[str, tuple[str, ...]] = parse_table("""
ec2       | AmazonEC2        | Amazon Elastic Compute Cloud      | BoxUsage:{it}               | RunInstances          | Hrs              | Compute Instance
ebs       | AmazonEC2        | Amazon Elastic Compute Cloud      | EBS:VolumeUsage.gp3         | CreateVolume-Gp3      | GB-Mo            | Storage
s3        | AmazonS3         | Amazon Simple Storage Service     | TimedStorage-ByteHrs        | StandardStorage       | GB-Mo            | Storage
s3req     | AmazonS3         | Amazon Simple Storage Service     | Requests-Tier1              | PutObject             | Requests         | API Request
dt_out    | AWSDataTransfer  | AWS Data Transfer                 | DataTransfer-Out-Bytes      | RunInstances          | GB               | Data Transfer
dt_az     | AWSDataTransfer  | AWS Data Transfer                 | DataTransfer-Regional-Bytes | InterZone-In          | GB               | Data Transfer
nat_hours | AmazonEC2        | Amazon Elastic Compute Cloud      | NatGateway-Hours            | NatGateway            | Hrs              | NAT Gateway
nat_bytes | AmazonEC2        | Amazon Elastic Compute Cloud      | NatGateway-Bytes            | NatGateway            | GB               | NAT Gateway
eks       | AmazonEKS        | Amazon Elastic Kubernetes Service | AmazonEKS-Hours:perCluster  | CreateOperation       | Hrs              | Compute
rds       | AmazonRDS        | Amazon Relational Database Service| InstanceUsage:{it}          | CreateDBInstance:0014 | Hrs              | Database Instance
lambda    | AWSLambda        | AWS Lambda                        | Lambda-GB-Second            | Invoke                | Lambda-GB-Second | Serverless
cw_logs   | AmazonCloudWatch | AmazonCloudWatch                  | DataProcessing-Bytes        | PutLogEvents          | GB               | Data Payload
redshift  | AmazonRedshift   | Amazon Redshift                   | Node:{it}                   | RunComputeNode:0001   | Hrs              | Compute Instance
glue      | AWSGlue          | AWS Glue                          | ETL-DPU-Hour                | Jobrun                | DPU-Hour         | AWS Glue
""")
REGION_PREFIX = {"us-east-1": "", "eu-west-1": "EU-"}
REGION_NAME = {"us-east-1": "US East (N. Virginia)", "eu-west-1": "Europe (Ireland)"}
GB_MONTH_PER_DAY = 12 / 365  # one GB stored for a day, in GB-months

EKS_CLUSTER = "shared-prod"
EKS_NODE_TYPE = "m6i.4xlarge"
SP_ARN_ID = "3f9c1e52-7d4b-4a8e-9b61-0c2d5e8f7a14"
RI1_ID = "6d2a9c41-8e3b-4f17-a5c0-1b9e7d3f2a68"
RI2_ID = "b83e5f20-1c6d-4a9b-8e72-4f0a3c9d6e15"
RI2_START = datetime(2026, 8, 1)
FIXED: dict[str, Any] = {"tags_fixed": True}
# team, application, instance type: always-on, on-demand and oversized (half their size would do)
OVERSIZED = (
    ("search", "search-indexer", "c6i.4xlarge"),
    ("billing-platform", "invoicing", "m7i.2xlarge"),
)


def ec2_rate(instance_type: str, region: str) -> Decimal:
    return prices.EC2[instance_type].price[region]


def _s(
    key: str, who: Who, product: str, resource: str, qty: float, rate: str | Decimal, **kw: Any
) -> Stream:
    """An AWS stream; ``rate`` is a :data:`prices.RATES` key or a Decimal."""
    price = prices.RATES[rate] if isinstance(rate, str) else rate
    region = kw.pop("region", "us-east-1")
    return make("aws", key, who, product, resource, qty, price, region, **kw)


def _instance(rng: random.Random) -> str:
    return "i-0" + hexid(rng, 16)


def _ec2(key: str, who: Who, it: str, rng: random.Random, **kw: Any) -> Stream:
    """One EC2 instance running ``it`` (24 instance-hours a day)."""
    attrs = {"instance_type": it, **kw.pop("attrs", {})}
    rate = ec2_rate(it, kw.get("region", "us-east-1"))
    return _s(key, who, "ec2", _instance(rng), 24.0, rate, attrs=attrs, **kw)


# -- the shared core ------------------------------------------------------------------------
def plan_core(seed: int, *, scale: float) -> Plan:
    """The streams every demo has, whatever ``--rows`` asks for."""
    rng = random.Random(f"{seed}:aws:core")
    plan = Plan(commitments=commitments())
    _eks(plan, rng, nodes=max(4, min(12, round(8 * scale))))
    _network(plan, rng)
    _data_platform(plan, rng)
    _reserved(plan, rng)
    _training(plan, rng)
    _inference(plan, rng)
    plan.streams.append(
        _ec2(
            "aws:sandbox:forgotten",
            Who(aws_account("acme-sandbox"), None, "dev"),
            "m6i.xlarge",
            rng,
            telemetry="idle",
            **FIXED,
        )
    )
    _s3_storm(plan, rng)
    _runaway(plan, rng)
    _oversized(plan, random.Random(f"{seed}:aws:core:oversized"))
    return plan


def commitments() -> list[dict[str, Any]]:
    """The Savings Plan and the two Reserved Instances (for the ground truth)."""
    common = {"provider": "aws", "term": "1yr"}
    return [
        {
            **common,
            "kind": "SavingsPlan",
            "id": sp_arn(),
            "offering": "ComputeSavingsPlans",
            "payment_option": "No Upfront",
            "account": AWS_PAYER.id,
            "start": "2026-01-01",
            "end": "2027-01-01",
            "covers": "the EKS node group and some prod EC2 instances",
        },
        {
            **common,
            "kind": "ReservedInstance",
            "id": ri_arn(1),
            "instance_type": "m6i.2xlarge",
            "count": 3,
            "payment_option": "No Upfront",
            "start": "2026-01-01",
            "end": "2027-01-01",
            "account": aws_account("acme-data-platform").id,
        },
        {
            **common,
            "kind": "ReservedInstance",
            "id": ri_arn(2),
            "instance_type": "r6i.xlarge",
            "count": 2,
            "payment_option": "Partial Upfront",
            "start": "2026-08-01",
            "end": "2027-08-01",
            "account": aws_account("acme-data-prod").id,
        },
    ]


def sp_arn() -> str:
    return f"arn:aws:savingsplans::{AWS_PAYER.id}:savingsplan/{SP_ARN_ID}"


def ri_arn(n: int) -> str:
    acct = aws_account("acme-data-platform" if n == 1 else "acme-data-prod")
    return f"arn:aws:ec2:us-east-1:{acct.id}:reserved-instances/{RI1_ID if n == 1 else RI2_ID}"


def _eks(plan: Plan, rng: random.Random, *, nodes: int) -> None:
    acct = aws_account("acme-eks-shared")
    who = Who(acct, "k8s-platform", "prod", "eks-shared-prod")
    arn = f"arn:aws:eks:us-east-1:{acct.id}:cluster/{EKS_CLUSTER}"
    plan.streams.append(_s("aws:eks:cluster", who, "eks", arn, 24.0, "aws.eks.cluster", **FIXED))
    for i in range(nodes):
        plan.streams.append(
            _ec2(
                f"aws:eks:node{i}",
                who,
                EKS_NODE_TYPE,
                rng,
                commitment="sp",
                telemetry="normal",
                extra_tags={"aws:eks:cluster-name": EKS_CLUSTER},
                attrs={"role": "eks-node"},
                **FIXED,
            )
        )


def _network(plan: Plan, rng: random.Random) -> None:
    acct = aws_account("acme-shared-network")
    nat = f"arn:aws:ec2:us-east-1:{acct.id}:natgateway/nat-0{hexid(rng, 16)}"
    who = Who(acct, "networking", "prod", "shared-nat")
    nobody = Who(acct, None)
    plan.streams += [
        _s("aws:nat:hours", who, "nat_hours", nat, 24.0 * 3, "aws.nat.hours", **FIXED),
        _s(
            "aws:nat:bytes",
            who,
            "nat_bytes",
            nat,
            rng.uniform(900, 1400),
            "aws.nat.bytes",
            noise=0.15,
            growth=0.02,
            **FIXED,
        ),
        _s(
            "aws:dt:out",
            nobody,
            "dt_out",
            "",
            rng.uniform(600, 900),
            "aws.dt.out",
            noise=0.12,
            growth=0.02,
            **FIXED,
        ),
        _s(
            "aws:dt:az",
            Who(aws_account("acme-eks-shared"), None),
            "dt_az",
            "",
            rng.uniform(3000, 4500),
            "aws.dt.regional",
            noise=0.1,
            **FIXED,
        ),
    ]


def _data_platform(plan: Plan, rng: random.Random) -> None:
    acct = aws_account("acme-data-platform")
    dw = f"arn:aws:redshift:us-east-1:{acct.id}:cluster:acme-dw"
    glue = f"arn:aws:glue:us-east-1:{acct.id}:job/nightly-etl"
    lake = rng.uniform(120_000, 160_000) * GB_MONTH_PER_DAY
    nodes = {"attrs": {"instance_type": "ra3.4xlarge"}, **FIXED}
    plan.streams += [
        _s(
            "aws:dp:redshift",
            Who(acct, "data-platform", "prod", "warehouse"),
            "redshift",
            dw,
            24.0 * 2,
            "aws.redshift.ra3.4xlarge",
            **nodes,
        ),
        _s(
            "aws:dp:lake",
            Who(acct, "data-platform", "prod", "data-lake"),
            "s3",
            "acme-data-lake-prod",
            lake,
            "aws.s3.standard",
            growth=0.04,
            noise=0.005,
            **FIXED,
        ),
        _s(
            "aws:dp:glue",
            Who(acct, "data-platform", "prod", "etl"),
            "glue",
            glue,
            rng.uniform(90, 130),
            "aws.glue.dpu",
            noise=0.25,
            **FIXED,
        ),
    ]
    logs = Who(aws_account("acme-shared-network"), "observability", "prod", "central-logging")
    gb = rng.uniform(80, 120)
    plan.streams.append(
        _s("aws:obs:logs", logs, "cw_logs", "", gb, "aws.cw.logs", noise=0.1, growth=0.03, **FIXED)
    )


def _reserved(plan: Plan, rng: random.Random) -> None:
    spark = Who(aws_account("acme-data-platform"), "data-platform", "prod", "spark-workers")
    for i in range(3):
        plan.streams.append(
            _ec2(
                f"aws:ri1:{i}",
                spark,
                "m6i.2xlarge",
                rng,
                commitment="ri1",
                weekdays_only=(i == 2),
                telemetry="oversized" if i == 1 else "normal",
                **FIXED,
            )
        )
    kafka = Who(aws_account("acme-data-prod"), "streaming", "prod", "kafka-broker")
    for i in range(2):
        plan.streams.append(
            _ec2(
                f"aws:ri2:{i}",
                kafka,
                "r6i.xlarge",
                rng,
                commitment="ri2",
                telemetry="normal",
                **FIXED,
            )
        )


def _oversized(plan: Plan, rng: random.Random) -> None:
    """Team instances twice the size their load needs (own random ids: the core's stay put)."""
    for i, (team_id, app, it) in enumerate(OVERSIZED):
        who = Who(aws_team_account(team(team_id), "prod"), team_id, "prod", app)
        plan.streams.append(
            _ec2(f"aws:oversized:{i}", who, it, rng, telemetry="oversized", **FIXED)
        )


def _training(plan: Plan, rng: random.Random) -> None:
    for month in MONTHS:
        for j in range(2):
            start = datetime.combine(month.days[rng.randrange(3, 20)], datetime.min.time())
            start += timedelta(hours=rng.randrange(0, 24))
            hours = rng.choice((18, 30, 42, 60))
            _gpu_job(
                plan, rng, f"aws-train-{month.label}-{j + 1}", start, start + timedelta(hours=hours)
            )


def _inference(plan: Plan, rng: random.Random) -> None:
    serving = aws_account("acme-machine-learning-prod")
    for i, it in enumerate(("g5.xlarge", "g5.2xlarge")):
        who = Who(serving, "ml-serving", "prod", f"ranker-endpoint-{i + 1}")
        stream = _ec2(
            f"aws:gpu:infer{i}", who, it, rng, telemetry="idle" if i == 1 else "normal", **FIXED
        )
        plan.streams.append(stream)
        plan.jobs.append(
            Job(
                f"aws-infer-{i + 1}",
                "aws",
                serving.id,
                "ml-serving",
                "inference",
                it,
                "A10G",
                prices.EC2[it].gpus,
                MONTHS[0].start,
                MONTHS[-1].end,
                stream.resource_id,
                (stream.key,),
            )
        )


def _gpu_job(plan: Plan, rng: random.Random, job_id: str, start: datetime, end: datetime) -> Stream:
    """A p4d.24xlarge training job of ml-research running ``[start, end)``."""
    acct = aws_account("acme-ml-training")
    it = "p4d.24xlarge"
    machine = prices.EC2[it]
    job = Job(
        job_id,
        "aws",
        acct.id,
        "ml-research",
        "training",
        it,
        machine.gpu_model,
        machine.gpus,
        start,
        end,
        "",
    )
    stream = _ec2(
        f"aws:gpu:{job_id}",
        Who(acct, "ml-research", "prod", "llm-finetune"),
        it,
        rng,
        days=job.day_fractions(),
        extra_tags={"job-id": job_id},
        **FIXED,
    )
    job.resource_id = stream.resource_id
    job.stream_keys = (stream.key,)
    plan.jobs.append(job)
    plan.streams.append(stream)
    return stream


def _s3_storm(plan: Plan, rng: random.Random) -> None:
    """Anomaly: one day of S3 PUT requests ×8–12 for a consumer team's upload bucket."""
    owner = rng.choice([t for t in teams_on("aws") if t.bu == "Consumer"])
    who = Who(aws_team_account(owner, "prod"), owner.id, "prod", f"{owner.id}-uploads")
    s3 = _s(
        f"aws:anomaly:s3req:{owner.id}",
        who,
        "s3req",
        f"acme-{owner.id}-uploads-prod",
        rng.uniform(1.5e6, 2.5e6),
        "aws.s3.requests.tier1",
        noise=0.1,
        qty_places=0,
        **FIXED,
    )
    day = ALL_DAYS[rng.randrange(40, 60)]
    factor = rng.choice((8.0, 10.0, 12.0))
    s3.spikes = {day: factor}
    plan.streams.append(s3)
    plan.anomalies.append(
        Anomaly(
            "aws",
            s3.key,
            "spike",
            (day,),
            factor,
            f"S3 PUT request storm from a retry loop in {owner.id}",
        )
    )


def _runaway(plan: Plan, rng: random.Random) -> None:
    """Anomaly: a training job that should have stopped after a day ran for four."""
    start = datetime.combine(ALL_DAYS[rng.randrange(66, 75)], datetime.min.time())
    stream = _gpu_job(plan, rng, "aws-train-runaway", start, start + timedelta(days=4))
    days = tuple(sorted(d for d in (stream.days or {}) if d > start.date()))
    plan.anomalies.append(
        Anomaly(
            "aws",
            stream.key,
            "runaway",
            days,
            1.0,
            "p4d.24xlarge training job left running after it finished",
        )
    )


# -- team workloads -------------------------------------------------------------------------
_TYPES = (
    "m6i.large",
    "m6i.xlarge",
    "m6i.2xlarge",
    "c6i.xlarge",
    "c6i.2xlarge",
    "c6i.4xlarge",
    "m7i.xlarge",
    "m7i.2xlarge",
    "r6i.xlarge",
    "r6i.2xlarge",
    "t3.medium",
    "t3.large",
    "c7g.xlarge",
    "c7g.2xlarge",
)


def team_offers(seed: int) -> dict[str, Iterator[Stream]]:
    """An endless iterator of workloads for every AWS team."""
    return {t.id: _offers(t, random.Random(f"{seed}:aws:team:{t.id}")) for t in teams_on("aws")}


def _pick_type(rng: random.Random, region: str) -> str:
    return rng.choice([it for it in _TYPES if region in prices.EC2[it].price])


def _offers(t: Team, rng: random.Random) -> Iterator[Stream]:
    eu = t.department in ("Growth", "Mobile") and rng.random() < 0.5
    region = "eu-west-1" if eu else "us-east-1"
    n = 0
    while True:
        n += 1
        yield from _round(t, rng, n, region)


def _round(t: Team, rng: random.Random, n: int, region: str) -> Iterator[Stream]:
    """One more application of team ``t``: prod and dev instances, a bucket, a volume, extras."""
    key = f"aws:{t.id}:{n}"
    app = f"{t.id}-{rng.choice(('api', 'web', 'worker', 'service', 'jobs'))}"
    prod = Who(aws_team_account(t, "prod"), t.id, "prod", app)
    sp = "sp" if region == "us-east-1" and rng.random() < 0.3 else ""
    tele = rng.choices(("normal", "oversized", "idle"), (0.75, 0.18, 0.07))[0]
    yield _ec2(
        f"{key}:ec2",
        prod,
        _pick_type(rng, region),
        rng,
        region=region,
        commitment=sp,
        telemetry=tele,
    )
    if n == 1 or rng.random() < 0.5:
        yield _s(
            f"{key}:s3",
            prod,
            "s3",
            f"acme-{app}-{n}",
            rng.uniform(500, 15_000) * GB_MONTH_PER_DAY,
            "aws.s3.standard",
            growth=0.03,
            noise=0.01,
            region=region,
        )
    dev = Who(aws_team_account(t, "dev"), t.id, rng.choice(("dev", "staging")), app)
    yield _ec2(
        f"{key}:dev",
        dev,
        _pick_type(rng, region),
        rng,
        region=region,
        weekdays_only=True,
        telemetry=rng.choices(("normal", "oversized"), (0.8, 0.2))[0],
    )
    yield _s(
        f"{key}:ebs",
        prod,
        "ebs",
        "vol-0" + hexid(rng, 16),
        rng.choice((100, 250, 500, 1000, 2000)) * GB_MONTH_PER_DAY,
        "aws.ebs.gp3",
        region=region,
    )
    yield from _extras(rng, key, prod, region)


def _extras(rng: random.Random, key: str, who: Who, region: str) -> Iterator[Stream]:
    acct, app = who.account.id, who.app
    if rng.random() < 0.45 and region == "us-east-1":
        db = rng.choice(("db.r6g.xlarge", "db.m6g.large"))
        yield _s(
            f"{key}:rds",
            who,
            "rds",
            f"arn:aws:rds:{region}:{acct}:db:{app}-db",
            24.0,
            f"aws.rds.{db}",
            attrs={"instance_type": db},
            region=region,
        )
    if rng.random() < 0.35:
        yield _s(
            f"{key}:lambda",
            who,
            "lambda",
            f"arn:aws:lambda:{region}:{acct}:function:{app}-handler",
            rng.uniform(2e5, 3e6),
            "aws.lambda.gbs",
            noise=0.2,
            region=region,
            qty_places=0,
        )
    if rng.random() < 0.3:
        yield _s(
            f"{key}:dt",
            who,
            "dt_out",
            _instance(rng),
            rng.uniform(20, 400),
            "aws.dt.out",
            noise=0.25,
            region=region,
        )


def rows_of(stream: Stream) -> float:
    """CUR rows per month: SP-covered usage has a negation row for every usage row."""
    return stream.expected_rows() * (2 if stream.commitment == "sp" else 1)


def reservation_active(stream: Stream, day: date) -> bool:
    """Whether a stream's RI covers ``day`` (RI 2 starts on 2026-08-01)."""
    if stream.commitment == "ri1":
        return True
    return stream.commitment == "ri2" and day >= RI2_START.date()
