"""`costline pricing refresh` against a real price server on 127.0.0.1 (``PriceServer``): an
AWS Price List Bulk API (region index + per-region offer CSVs with the 5-line preamble, the
real header) and an Azure Retail Prices API (filtered, paginated by ``NextPageLink``).

Expected rows are computed here from the fixture rows by the filter the docs state
(docs/concepts/rightsizing.md, "Refreshing prices"), not copied from the output.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from typer.testing import CliRunner

from costline.cli.main import app
from costline.core.errors import BadInputError, ConfigError
from costline.optimize.pricing import DATA_DIR, catalog_for, load_catalog
from costline.workspace import Workspace

VERSION = "20260801120000"
PUBLISHED = "2026-08-01T12:00:00Z"
INDEX_PATH = "/offers/v1.0/aws/AmazonEC2/current/region_index.json"
# the header of a real AmazonEC2 offer CSV (line 6), in its order
AWS_HEADER = (
    "SKU,OfferTermCode,RateCode,TermType,PriceDescription,EffectiveDate,StartingRange,"
    "EndingRange,Unit,PricePerUnit,Currency,RelatedTo,LeaseContractLength,PurchaseOption,"
    "OfferingClass,Product Family,serviceCode,Location,Location Type,Instance Type,"
    "Current Generation,Instance Family,vCPU,Physical Processor,Clock Speed,Memory,Storage,"
    "Network Performance,Processor Architecture,Storage Media,Volume Type,Max Volume Size,"
    "Max IOPS/volume,Max IOPS Burst Performance,Max throughput/volume,Provisioned,Tenancy,"
    "EBS Optimized,Operating System,License Model,Group,Group Description,Transfer Type,"
    "From Location,From Location Type,To Location,To Location Type,usageType,operation,"
    "AvailabilityZone,CapacityStatus,ClassicNetworkingSupport,Dedicated EBS Throughput,ECU,"
    "Elastic Graphics Type,Enhanced Networking Supported,From Region Code,GPU,GPU Memory,"
    "Instance,Instance Capacity - 10xlarge,Instance Capacity - 12xlarge,"
    "Instance Capacity - 16xlarge,Instance Capacity - 18xlarge,Instance Capacity - 24xlarge,"
    "Instance Capacity - 2xlarge,Instance Capacity - 32xlarge,Instance Capacity - 4xlarge,"
    "Instance Capacity - 8xlarge,Instance Capacity - 9xlarge,Instance Capacity - large,"
    "Instance Capacity - medium,Instance Capacity - metal,Instance Capacity - xlarge,"
    "instanceSKU,Intel AVX2 Available,Intel AVX Available,Intel Turbo Available,MarketOption,"
    "Normalization Size Factor,Physical Cores,Pre Installed S/W,Processor Features,"
    "Product Type,Region Code,Resource Type,serviceName,SnapshotArchiveFeeType,To Region Code,"
    "Volume API Name,VPCNetworkingSupport"
).split(",")


def ec2(itype: str, price: str, region: str = "us-east-1", **other: str) -> dict[str, str]:
    """One offer-file row: a Linux shared on-demand instance hour unless ``other`` says not."""
    row = {
        "SKU": f"SKU-{itype}-{region}",
        "TermType": "OnDemand",
        "Unit": "Hrs",
        "PricePerUnit": price,
        "Currency": "USD",
        "Product Family": "Compute Instance",
        "serviceCode": "AmazonEC2",
        "Instance Type": itype,
        "Tenancy": "Shared",
        "Operating System": "Linux",
        "License Model": "No License required",
        "usageType": f"BoxUsage:{itype}",
        "operation": "RunInstances",
        "CapacityStatus": "Used",
        "MarketOption": "OnDemand",
        "Pre Installed S/W": "NA",
        "Region Code": region,
        "serviceName": "Amazon Elastic Compute Cloud",
    }
    row.update(other)
    return row


AWS_ROWS = {
    "us-east-1": [
        ec2("m5.large", "0.0500000000"),  # far below the packaged 0.096: a new cheapest twin
        ec2("m5.xlarge", "0.1980000000"),
        ec2("m7i.large", "0.1100000000"),
        ec2("m5.metal", "4.7000000000", **{"Product Family": "Compute Instance (bare metal)"}),
        ec2("zz9.huge", "1.2340000000"),  # a type the packaged specs do not know
        ec2("m5.large", "0.1880000000", **{"Operating System": "Windows"}),
        ec2("m5.large", "0.1450000000", **{"Operating System": "Red Hat Enterprise Linux"}),
        ec2("m5.large", "0.1010000000", Tenancy="Dedicated"),
        ec2("m5.large", "0.0600000000", TermType="Reserved", LeaseContractLength="1yr"),
        ec2("m5.large", "500", TermType="Reserved", Unit="Quantity"),  # the upfront fee
        ec2("m5.large", "0.4000000000", **{"Pre Installed S/W": "SQL Std"}),
        ec2("m5.large", "0.0990000000", CapacityStatus="UnusedCapacityReservation"),
        ec2("m5.large", "0.0300000000", MarketOption="CapacityBlock"),
        ec2("m5.2xlarge", "0.0000000000"),  # zero price
        ec2("m5.large", "0.1200000000", region="us-east-1-bos-1"),  # a Local Zone
        ec2(
            "",
            "0.1000000000",
            Unit="GB-Mo",
            **{"Product Family": "Storage", "Operating System": "", "Volume API Name": "gp2"},
        ),
    ],
    "eu-west-1": [
        ec2("m5.large", "0.1070000000", region="eu-west-1"),
        ec2("c5.large", "0.0970000000", region="eu-west-1"),
        ec2("c5.large", "0.2000000000", region="eu-west-1", **{"Operating System": "Windows"}),
    ],
}


def documented_aws_filter(r: dict[str, str], region: str) -> bool:
    """The filter as docs/concepts/rightsizing.md states it."""
    return (
        r["Product Family"] in ("Compute Instance", "Compute Instance (bare metal)")
        and r["Operating System"] == "Linux"
        and r["Tenancy"] == "Shared"
        and r["Pre Installed S/W"] in ("NA", "")
        and r["CapacityStatus"] == "Used"
        and r["TermType"] == "OnDemand"
        and r["Unit"] == "Hrs"
        and r["Currency"] == "USD"
        and r["MarketOption"] == "OnDemand"
        and r["Region Code"] == region
        and Decimal(r["PricePerUnit"]) > 0
    )


def aws_csv(region: str, header: list[str] = AWS_HEADER) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_ALL)
    w.writerow(["FormatVersion", "v1.0"])
    w.writerow(["Disclaimer", "This pricing list is for informational purposes only."])
    w.writerow(["Publication Date", PUBLISHED])
    w.writerow(["Version", VERSION])
    w.writerow(["OfferCode", "AmazonEC2"])
    w.writerow(header)
    for r in AWS_ROWS[region]:
        w.writerow([r.get(c, "") for c in header])
    return out.getvalue().encode()


def vm(size: str, price: str, region: str = "eastus", **other: Any) -> dict[str, Any]:
    """One Retail Prices API item: a Linux pay-as-you-go VM hour unless ``other`` says not."""
    short = size.removeprefix("Standard_").replace("_", " ")
    item = {
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": Decimal(price),
        "unitPrice": Decimal(price),
        "armRegionName": region,
        "location": region.upper(),
        "effectiveStartDate": "2024-05-01T00:00:00Z",
        "meterId": f"m-{size}-{price}",
        "meterName": short,
        "productId": "DZH318Z0BQ4M",
        "skuId": "DZH318Z0BQ4M/00TG",
        "productName": "Virtual Machines Dsv5 Series",
        "skuName": short,
        "serviceName": "Virtual Machines",
        "serviceId": "DZH313Z7MMC8",
        "serviceFamily": "Compute",
        "unitOfMeasure": "1 Hour",
        "type": "Consumption",
        "isPrimaryMeterRegion": True,
        "armSkuName": size,
    }
    item.update(other)
    return item


AZURE_ITEMS = {
    "eastus": [
        vm("Standard_D2s_v5", "0.101"),
        vm("Standard_D2s_v5", "0.188", productName="Virtual Machines Dsv5 Series Windows"),
        vm("Standard_D2s_v5", "0.0193", skuName="D2s v5 Spot", meterName="D2s v5 Spot"),
        vm("Standard_D4s_v5", "0.192", effectiveStartDate="2022-01-01T00:00:00Z"),  # older
        vm(
            "Standard_D2s_v5",
            "0.0202",
            skuName="D2s v5 Low Priority",
            meterName="D2s v5 Low Priority",
        ),
        vm("Standard_E2s_v5", "0.13"),
        vm("Standard_D2s_v5", "0.07", type="DevTestConsumption"),
        vm("Standard_D4s_v5", "0.202"),  # newer: wins
        vm("Standard_D2s_v5", "530", type="Reservation", reservationTerm="1 Year"),
        vm("Standard_B2s", "0.0416"),
        vm("Standard_F2s_v2", "0"),  # zero
        vm("Standard_D2s_v5", "0.12", currencyCode="EUR"),
    ],
    "westeurope": [
        vm("Standard_D2s_v5", "0.115", region="westeurope"),
        vm("Standard_D2s_v5", "0.21", region="westeurope", productName="X Windows"),
    ],
}
PAGE_SIZE = 4


def documented_azure_prices(items: list[dict[str, Any]], region: str) -> dict[str, Decimal]:
    """The documented filter, and of one size's items the newest effectiveStartDate."""
    best: dict[str, tuple[str, Decimal]] = {}
    for i in items:
        names = i["skuName"] + " " + i["meterName"]
        if (
            "Windows" in i["productName"]
            or "Spot" in names
            or "Low Priority" in names
            or i["unitOfMeasure"] != "1 Hour"
            or i["currencyCode"] != "USD"
            or i["type"] != "Consumption"
            or i["armRegionName"] != region
            or not i["retailPrice"] > 0
        ):
            continue
        old = best.get(i["armSkuName"])
        if old is None or i["effectiveStartDate"] > old[0]:
            best[i["armSkuName"]] = (i["effectiveStartDate"], i["retailPrice"])
    return {k: v for k, (_, v) in best.items()}


class PriceServer:
    """A threaded HTTP server on 127.0.0.1 serving both price APIs from the fixtures above.

    ``fail[path] = (status, body)`` answers that path with an error; ``truncate`` (a path)
    announces a longer body than it sends and closes the connection; ``rate_limit_once``
    (a ``$skip`` value) answers that Azure page with one HTTP 429 first.
    """

    def __init__(self) -> None:
        owner = self
        self.paths: list[str] = []
        self.fail: dict[str, tuple[int, bytes]] = {}
        self.truncate: str | None = None
        self.rate_limit_once: int | None = None
        self.override: dict[str, bytes] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, ctype = owner.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if status == 429:
                    self.send_header("Retry-After", "0")
                if urlsplit(self.path).path == owner.truncate:
                    self.send_header("Content-Length", str(len(body) + 5000))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def offer_path(self, region: str) -> str:
        return f"/offers/v1.0/aws/AmazonEC2/{VERSION}/{region}/index.csv"

    def answer(self, raw: str) -> tuple[int, bytes, str]:
        self.paths.append(raw)
        parts = urlsplit(raw)
        if parts.path in self.fail:
            status, body = self.fail[parts.path]
            return status, body, "text/plain"
        if parts.path in self.override:
            return 200, self.override[parts.path], "text/plain"
        if parts.path == INDEX_PATH:
            regions = {
                r: {
                    "regionCode": r,
                    "currentVersionUrl": f"/offers/v1.0/aws/AmazonEC2/{VERSION}/{r}/index.json",
                }
                for r in AWS_ROWS
            }
            index = {"formatVersion": "v1.0", "publicationDate": PUBLISHED, "regions": regions}
            return 200, json.dumps(index).encode(), "application/json"
        for region in AWS_ROWS:
            if parts.path == self.offer_path(region):
                return 200, aws_csv(region), "text/csv"
        if parts.path == "/api/retail/prices":
            return self.azure_page(parts.query)
        return 404, b"not found", "text/plain"

    def azure_page(self, query: str) -> tuple[int, bytes, str]:
        q = parse_qs(query)
        if q.get("api-version") != ["2023-01-01-preview"]:
            return 400, b"api-version", "text/plain"
        filt = q["$filter"][0]
        assert "serviceName eq 'Virtual Machines'" in filt
        assert "priceType eq 'Consumption'" in filt
        region = re.search(r"armRegionName eq '([a-z0-9]+)'", filt)
        items = AZURE_ITEMS.get(region[1], []) if region else []
        skip = int(q.get("$skip", ["0"])[0])
        if skip == self.rate_limit_once:
            self.rate_limit_once = None
            return 429, b"Too many requests", "text/plain"
        page = items[skip : skip + PAGE_SIZE]
        more = skip + PAGE_SIZE < len(items)
        link = (
            f"{self.url}/api/retail/prices?api-version=2023-01-01-preview"
            f"&$filter={quote(filt)}&$skip={skip + PAGE_SIZE}"
            if more
            else None
        )
        body = {
            "BillingCurrency": "USD",
            "CustomerEntityId": "Default",
            "CustomerEntityType": "Retail",
            "Items": [
                {**i, "retailPrice": float(i["retailPrice"]), "unitPrice": float(i["unitPrice"])}
                for i in page
            ],
            "NextPageLink": link,
            "Count": len(page),
        }
        return 200, json.dumps(body).encode(), "application/json"

    def __enter__(self) -> PriceServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[PriceServer]:
    with PriceServer() as s:
        yield s


def read_file(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def packaged_header(name: str) -> list[str]:
    with gzip.open(DATA_DIR / name, "rt", newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


AWS_FILE = "aws_ec2_ondemand_linux_usd_per_hour.csv.gz"
AZURE_FILE = "azure_vm_ondemand_linux_usd_per_hour.csv.gz"


def test_aws_refresh_writes_exactly_the_documented_rows(
    workspace: Workspace, server: PriceServer
) -> None:
    got = workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    url = server.url + server.offer_path("us-east-1")
    expected = {
        (r["Instance Type"], "us-east-1", Decimal(r["PricePerUnit"]))
        for r in AWS_ROWS["us-east-1"]
        if documented_aws_filter(r, "us-east-1")
    }
    assert {t for t, _, _ in expected} == {"m5.large", "m5.xlarge", "m7i.large", "m5.metal"} | {
        "zz9.huge"
    }  # the fixture keeps what it means to keep
    header, rows = read_file(workspace.pricing_dir / AWS_FILE)
    assert header == packaged_header(AWS_FILE)
    assert {(r["instance_type"], r["region"], Decimal(r["usd_per_hour"])) for r in rows} == (
        expected
    )
    assert len(rows) == len(expected)
    assert {(r["provider"], r["source"], r["as_of"], r["confidence"]) for r in rows} == {
        ("aws", url, "2026-08-01", "high")
    }
    assert got.records() == [
        {
            "provider": "aws",
            "region": "us-east-1",
            "prices": len(expected),
            "as_of": "2026-08-01",
            "source": url,
        }
    ]
    assert not any("eu-west-1" in p for p in server.paths)  # only the asked region is read


def test_catalog_prefers_refreshed_prices_and_keeps_packaged_ones_elsewhere(
    workspace: Workspace, server: PriceServer
) -> None:
    packaged = load_catalog()
    workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    catalog = catalog_for(workspace.pricing_dir)
    m5 = catalog.price("aws", "m5.large", "us-east-1")
    assert m5 is not None and m5.usd_per_hour == Decimal("0.05")
    assert (m5.source, m5.as_of, m5.confidence) == (
        server.url + server.offer_path("us-east-1"),
        "2026-08-01",
        "high",
    )
    # other regions, and us-east-1 types the refresh did not list, keep the packaged price
    for itype, region in [("m5.large", "eu-west-1"), ("c5.large", "us-east-1")]:
        assert catalog.price("aws", itype, region) == packaged.price("aws", itype, region)
        assert packaged.price("aws", itype, region) is not None
    assert catalog.price("azure", "Standard_D2s_v5", "eastus") == packaged.price(
        "azure", "Standard_D2s_v5", "eastus"
    )
    assert catalog.instance_type("aws", "m5.large") == packaged.instance_type("aws", "m5.large")
    # a refreshed price without a packaged spec is kept but is no candidate
    assert catalog.price("aws", "zz9.huge", "us-east-1") is not None
    assert all(t.name != "zz9.huge" for t, _ in catalog.priced_types("aws", "us-east-1"))
    assert load_catalog().price("aws", "m5.large", "us-east-1") == packaged.price(
        "aws", "m5.large", "us-east-1"
    )  # the packaged catalog itself is untouched

    shown = {r["region"]: r for r in workspace.pricing_show("m5.large").records()}
    assert shown["us-east-1"]["origin"] == "workspace"
    assert shown["us-east-1"]["usd_per_hour"] == Decimal("0.05")
    assert shown["eu-west-1"]["origin"] == "packaged"
    status = {(r["provider"], r["region"]): r for r in workspace.pricing_status().records()}
    east = status[("aws", "us-east-1")]
    packaged_east = {p.instance_type for p in packaged.prices() if p.region == "us-east-1"}
    assert east["workspace_prices"] == 5
    refreshed = {"m5.large", "m5.xlarge", "m7i.large", "m5.metal", "zz9.huge"}
    assert east["packaged_prices"] == len(packaged_east - refreshed)
    assert status[("aws", "eu-west-1")]["workspace_prices"] == 0


def test_refreshing_another_region_keeps_the_first(
    workspace: Workspace, server: PriceServer
) -> None:
    workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    workspace.refresh_pricing("aws", regions=["eu-west-1"], endpoint=server.url)
    _, rows = read_file(workspace.pricing_dir / AWS_FILE)
    regions = {r["region"] for r in rows}
    assert regions == {"us-east-1", "eu-west-1"}
    eu = {
        r["instance_type"]: Decimal(r["usd_per_hour"]) for r in rows if r["region"] == "eu-west-1"
    }
    assert eu == {"m5.large": Decimal("0.107"), "c5.large": Decimal("0.097")}
    catalog = catalog_for(workspace.pricing_dir)  # the cache sees the new file
    assert catalog.price("aws", "c5.large", "eu-west-1").usd_per_hour == Decimal("0.097")  # type: ignore[union-attr]


def test_previous_generation_waste_uses_the_refreshed_prices(
    workspace: Workspace, server: PriceServer
) -> None:
    """An m4.large billed at 0.08/h: after the refresh lists m5.large at 0.05 in us-east-1 it
    is the cheapest current twin, priced at the bill's discount on m4.large's list price."""
    day0 = dt.date(2026, 10, 1)
    with workspace.warehouse() as wh:
        for d in range(30):
            day = day0 + dt.timedelta(days=d)
            wh.con.execute(
                "INSERT INTO cost (x_Provider, BillingAccountId, BillingPeriodStart, "
                "ChargePeriodStart, ChargePeriodEnd, ChargeCategory, ServiceName, SubAccountId, "
                "RegionId, ResourceId, x_InstanceType, PricingQuantity, EffectiveCost, "
                "BilledCost, BillingCurrency) VALUES ('aws', 'payer', TIMESTAMP '2026-10-01', "
                "CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) + INTERVAL 1 DAY, 'Usage', "
                "'Amazon Elastic Compute Cloud', '111', 'us-east-1', 'i-m4', 'm4.large', 24, "
                "1.92, 1.92, 'USD')",
                [day, day],
            )
    before = workspace.waste(rules=["previous-generation"]).records()
    assert len(before) == 1 and "m5.large has" not in before[0]["evidence"]
    workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    (after,) = workspace.waste(rules=["previous-generation"]).records()
    m4_list = load_catalog().price("aws", "m4.large", "us-east-1")
    assert m4_list is not None  # not in the refreshed file: still the packaged list price
    hourly = Decimal("0.05") * Decimal("0.08") / m4_list.usd_per_hour
    assert "m5.large has" in after["evidence"]
    assert after["monthly_savings"] == ((Decimal("0.08") - hourly) * 730).quantize(Decimal("0.01"))


def test_a_server_error_or_a_cut_download_leaves_the_previous_file(
    workspace: Workspace, server: PriceServer
) -> None:
    workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    path = workspace.pricing_dir / AWS_FILE
    before = path.read_bytes()
    offer = server.offer_path("us-east-1")
    server.fail[offer] = (500, b"Internal Server Error")
    with pytest.raises(ConfigError, match="HTTP 500") as err:
        workspace.refresh_pricing(
            "aws", regions=["eu-west-1", "us-east-1"], endpoint=server.url
        )  # eu-west-1 was read fine: still nothing is written
    assert server.url + offer in str(err.value) and "previous prices are kept" in str(err.value)
    del server.fail[offer]
    server.truncate = offer
    with pytest.raises(ConfigError, match="could not read the price API"):
        workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    assert path.read_bytes() == before
    assert sorted(p.name for p in workspace.pricing_dir.iterdir()) == [AWS_FILE]  # no temp file
    assert catalog_for(workspace.pricing_dir).price(
        "aws", "m5.large", "us-east-1"
    ).usd_per_hour == Decimal("0.05")  # type: ignore[union-attr]


def test_malformed_bodies_and_bad_regions_are_named(
    workspace: Workspace, server: PriceServer
) -> None:
    offer = server.offer_path("us-east-1")
    server.override[offer] = b"<html><body>Access Denied</body></html>"
    with pytest.raises(BadInputError, match="preamble line 'FormatVersion'") as err:
        workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    assert err.value.location.file == server.url + offer
    server.override[offer] = aws_csv("us-east-1", [c for c in AWS_HEADER if c != "Instance Type"])
    with pytest.raises(BadInputError, match="no column 'Instance Type'"):
        workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    server.override[INDEX_PATH] = b"{not json"
    with pytest.raises(BadInputError, match="not an AWS region index"):
        workspace.refresh_pricing("aws", regions=["us-east-1"], endpoint=server.url)
    del server.override[INDEX_PATH]
    with pytest.raises(ConfigError, match="'mars-north-1' is not in the price list") as err2:
        workspace.refresh_pricing("aws", regions=["mars-north-1"], endpoint=server.url)
    assert err2.value.hint and "eu-west-1" in err2.value.hint
    with pytest.raises(ConfigError, match="is not a region code"):
        workspace.refresh_pricing("azure", regions=["east'us"], endpoint=server.url)
    server.override["/api/retail/prices"] = b"Service Unavailable"
    with pytest.raises(BadInputError, match="not JSON"):
        workspace.refresh_pricing("azure", regions=["eastus"], endpoint=server.url)
    del server.override["/api/retail/prices"]
    with pytest.raises(ConfigError, match="no Linux on-demand VM prices for azure region"):
        workspace.refresh_pricing("azure", regions=["nowhere"], endpoint=server.url)
    with pytest.raises(ConfigError, match="GCP prices cannot be refreshed: .* needs an API key"):
        workspace.refresh_pricing("gcp", endpoint=server.url)
    with pytest.raises(ConfigError, match="unknown pricing provider"):
        workspace.refresh_pricing("oci", endpoint=server.url)
    assert not workspace.pricing_dir.exists() or list(workspace.pricing_dir.iterdir()) == []


def test_azure_refresh_follows_pages_and_drops_windows_spot_and_low_priority(
    workspace: Workspace, server: PriceServer
) -> None:
    server.rate_limit_once = PAGE_SIZE  # page 2 answers 429 once: waited for and retried
    today = dt.datetime.now(dt.UTC).date().isoformat()
    workspace.refresh_pricing("azure", regions=["East US", "westeurope"], endpoint=server.url)
    pages = [p for p in server.paths if p.startswith("/api/retail/prices")]
    east_pages = [p for p in pages if "eastus" in p]
    assert len(east_pages) == -(-len(AZURE_ITEMS["eastus"]) // PAGE_SIZE) + 1  # + the 429
    header, rows = read_file(workspace.pricing_dir / AZURE_FILE)
    assert header == packaged_header(AZURE_FILE)
    for region in ("eastus", "westeurope"):
        want = documented_azure_prices(AZURE_ITEMS[region], region)
        got = {r["vm_size"]: Decimal(r["usd_per_hour"]) for r in rows if r["region"] == region}
        assert got == want
    assert documented_azure_prices(AZURE_ITEMS["eastus"], "eastus") == {
        "Standard_D2s_v5": Decimal("0.101"),
        "Standard_D4s_v5": Decimal("0.202"),
        "Standard_E2s_v5": Decimal("0.13"),
        "Standard_B2s": Decimal("0.0416"),
    }  # the fixture drops what it means to drop
    first = next(r["source"] for r in rows if r["region"] == "eastus")
    assert first.startswith(server.url + "/api/retail/prices?api-version=2023-01-01-preview")
    assert "armRegionName%20eq%20'eastus'" in first
    assert {(r["as_of"], r["confidence"]) for r in rows} == {(today, "high")}
    catalog = catalog_for(workspace.pricing_dir)
    d2 = catalog.price("azure", "Standard_D2s_v5", "East US")
    assert d2 is not None and d2.usd_per_hour == Decimal("0.101")
    assert catalog.price("azure", "Standard_D2s_v5", "uksouth") == load_catalog().price(
        "azure", "Standard_D2s_v5", "uksouth"
    )


def test_a_hand_broken_workspace_file_is_named_with_its_row(
    workspace: Workspace, server: PriceServer
) -> None:
    workspace.refresh_pricing("aws", regions=["eu-west-1"], endpoint=server.url)
    path = workspace.pricing_dir / AWS_FILE
    _, rows = read_file(path)
    rows[1]["usd_per_hour"] = "cheap"
    with gzip.open(path, "wt", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(BadInputError, match="'usd_per_hour'") as err:
        catalog_for(workspace.pricing_dir)
    assert err.value.location.row == 2
    assert err.value.hint and "pricing refresh --provider aws" in err.value.hint


def test_cli_end_to_end(tmp_path: Path, server: PriceServer) -> None:
    runner = CliRunner()
    ws = tmp_path / "acme"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    done = runner.invoke(
        app,
        ["-w", str(ws), "pricing", "refresh", "--provider", "aws", "--region", "us-east-1"]
        + ["--endpoint", server.url, "-f", "json"],
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == [
        {
            "provider": "aws",
            "region": "us-east-1",
            "prices": 5,
            "as_of": "2026-08-01",
            "source": server.url + server.offer_path("us-east-1"),
        }
    ]
    shown = runner.invoke(
        app, ["-w", str(ws), "pricing", "show", "m5.large", "--region", "us-east-1", "-f", "json"]
    )
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.stdout)
    assert (row["origin"], Decimal(str(row["usd_per_hour"]))) == ("workspace", Decimal("0.05"))
    every = runner.invoke(app, ["-w", str(ws), "pricing", "show", "m5.large", "-f", "json"])
    assert every.exit_code == 0, every.output
    by_region = {r["region"]: r for r in json.loads(every.stdout)}
    assert by_region["us-east-1"]["origin"] == "workspace"
    assert Decimal(str(by_region["us-east-1"]["usd_per_hour"])) == Decimal("0.05")
    for p in load_catalog().prices_of("aws", "m5.large"):  # every digit, not cents
        if p.region != "us-east-1":
            assert by_region[p.region]["origin"] == "packaged"
            assert Decimal(str(by_region[p.region]["usd_per_hour"])) == p.usd_per_hour
    status = runner.invoke(app, ["-w", str(ws), "pricing", "status", "-f", "json"])
    east = next(r for r in json.loads(status.stdout) if r["region"] == "us-east-1")
    assert east["workspace_prices"] == 5

    server.fail[server.offer_path("us-east-1")] = (503, b"Slow Down")
    failed = subprocess.run(
        # the console script: under `python -m costline.cli.main` the sub-apps would import a
        # second copy of the module and miss -w (see the report on cli/main.py)
        [str(Path(sys.executable).parent / "costline"), "-w", str(ws), "pricing", "refresh"]
        + ["--provider", "aws", "--region", "us-east-1", "--endpoint", server.url],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert "error:" in failed.stderr and "HTTP 503" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert (Workspace.open(ws).pricing_show("m5.large", region="us-east-1").rows[0][3]) == Decimal(
        "0.05"
    )


def test_cli_refuses_a_gcp_refresh_with_the_reason(tmp_path: Path) -> None:
    ws = tmp_path / "acme"
    assert CliRunner().invoke(app, ["init", str(ws)]).exit_code == 0
    got = subprocess.run(
        [str(Path(sys.executable).parent / "costline"), "-w", str(ws), "pricing", "refresh"]
        + ["--provider", "gcp"],
        capture_output=True,
        text=True,
    )
    assert got.returncode == 1
    assert "error:" in got.stderr and "API key" in got.stderr and "us-central1" in got.stderr
    assert "Traceback" not in got.stderr
    assert not (ws / "pricing").exists() or not list((ws / "pricing").iterdir())
