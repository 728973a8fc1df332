"""``costline pricing refresh``: fresh on-demand Linux list prices from the providers' public
price APIs, written into the workspace so that every catalog load there prefers them
(:func:`costline.optimize.pricing.catalog_for`).

* **AWS**, the Price List Bulk API: ``{endpoint}/offers/v1.0/aws/AmazonEC2/current/
  region_index.json`` names each region's offer file (``currentVersionUrl``); its CSV variant
  (the same path ending ``.csv``: five preamble lines ``FormatVersion``, ``Disclaimer``,
  ``Publication Date``, ``Version``, ``OfferCode``, then the header) is streamed line by line
  (a real region is hundreds of MB; only the kept prices are held). A row is kept when
  ``Product Family`` is ``Compute Instance`` or ``Compute Instance (bare metal)``,
  ``Operating System`` = ``Linux``, ``Tenancy`` = ``Shared``, ``Pre Installed S/W`` = ``NA``
  (or empty), ``CapacityStatus`` = ``Used``, ``TermType`` = ``OnDemand``, ``Unit`` = ``Hrs``,
  ``Currency`` = ``USD`` and ``MarketOption`` = ``OnDemand`` (where those two columns exist),
  ``Region Code`` = the region and ``PricePerUnit`` > 0. ``as_of`` is the offer file's
  ``Publication Date``.
* **Azure**, the Retail Prices API: ``GET {endpoint}/api/retail/prices?api-version=
  2023-01-01-preview&$filter=serviceName eq 'Virtual Machines' and priceType eq 'Consumption'
  and armRegionName eq '<region>'``, following ``NextPageLink``. An item is kept when its
  ``productName`` does not contain ``Windows``, neither ``skuName`` nor ``meterName`` contains
  ``Spot`` or ``Low Priority``, ``unitOfMeasure`` = ``1 Hour``, ``currencyCode`` = ``USD``,
  ``type`` = ``Consumption``, ``armRegionName`` = the region, ``armSkuName`` (the VM size) is
  set and ``retailPrice`` > 0; of several items for one size the newest
  ``effectiveStartDate`` wins. The API has no publication date: ``as_of`` is the day of the
  refresh (UTC).

When one type has several kept prices in a region, the lowest is kept. Every written row has
``source`` = the URL it was read from, ``as_of`` as above and ``confidence`` = ``high``.

A refresh replaces the regions it read and keeps the workspace file's other regions. It reads
every region first and writes the file once, atomically (a temporary file in the same folder,
then ``os.replace``): an HTTP error, a malformed body or an interrupted download leaves the
previous file untouched.

Example (a pure filter, no network):
    >>> keep_azure_item({"productName": "Virtual Machines Dv5 Series", "skuName": "D2 v5",
    ...     "meterName": "D2 v5", "unitOfMeasure": "1 Hour", "currencyCode": "USD",
    ...     "type": "Consumption", "armRegionName": "eastus", "armSkuName": "Standard_D2_v5",
    ...     "retailPrice": Decimal("0.096")}, "eastus")
    True
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

from costline import __version__
from costline.core.errors import BadInputError, ConfigError, Location
from costline.core.progress import NoProgress, Progress
from costline.core.time import retry_after_seconds
from costline.optimize.pricing import (
    PRICE_COLUMNS,
    REFRESHABLE,
    Price,
    normalize_region,
    packaged_prices,
    price_file,
    workspace_prices,
)

DEFAULT_ENDPOINT = {
    "aws": "https://pricing.us-east-1.amazonaws.com",
    "azure": "https://prices.azure.com",
}
AWS_REGION_INDEX = "/offers/v1.0/aws/AmazonEC2/current/region_index.json"
AWS_PREAMBLE = ("FormatVersion", "Disclaimer", "Publication Date", "Version", "OfferCode")
AWS_KEEP: dict[str, tuple[str, ...]] = {
    "Product Family": ("Compute Instance", "Compute Instance (bare metal)"),
    "Operating System": ("Linux",),
    "Tenancy": ("Shared",),
    "Pre Installed S/W": ("NA", ""),
    "CapacityStatus": ("Used",),
    "TermType": ("OnDemand",),
    "Unit": ("Hrs",),
}
AWS_KEEP_IF_PRESENT: dict[str, tuple[str, ...]] = {
    "Currency": ("USD",),
    "MarketOption": ("OnDemand",),
}
# a header may spell a column another way; the first name is the documented one
AWS_ALIASES = {"CapacityStatus": ("CapacityStatus", "Capacity Status")}
AWS_TYPE, AWS_REGION, AWS_PRICE = "Instance Type", "Region Code", "PricePerUnit"
AZURE_PATH = "/api/retail/prices"
AZURE_API_VERSION = "2023-01-01-preview"
AZURE_FILTER = (
    "serviceName eq 'Virtual Machines' and priceType eq 'Consumption' "
    "and armRegionName eq '{region}'"
)
AZURE_MAX_PAGES = 2000
TIMEOUT = httpx.Timeout(60.0, connect=15.0)
RATE_LIMIT_RETRIES = 3  # HTTP 429: wait Retry-After (at most MAX_RETRY_AFTER s) and retry
MAX_RETRY_AFTER = 30.0
_PROGRESS_EVERY = 20_000  # lines between progress updates
_KEEP_HINT = "the previous prices are kept; nothing was written"
_REGION = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class RegionPrices:
    """The kept prices of one region, read from ``source``."""

    provider: str
    region: str
    source: str
    as_of: str
    prices: dict[str, Decimal]  # instance type / VM size → USD per hour

    def rows(self) -> list[Price]:
        return [
            Price(self.provider, name, self.region, usd, self.source, self.as_of, "high")
            for name, usd in sorted(self.prices.items())
        ]


@dataclass(frozen=True)
class Refreshed:
    """What one refresh wrote: per region, the type count, date and source."""

    path: Path
    regions: list[RegionPrices]
    rows_written: int


# -- pure parts --------------------------------------------------------------------------------
def aws_offer_csv_url(endpoint: str, version_url: str) -> str:
    """The CSV variant of a region's ``currentVersionUrl`` (``.../index.json`` → ``.csv``)."""
    url = str(httpx.URL(endpoint.rstrip("/") + "/").join(version_url))
    return url[: -len(".json")] + ".csv" if url.endswith(".json") else url


def keep_aws_row(row: Mapping[str, str], region: str) -> bool:
    """The documented AWS filter on one offer-file row (column name → value)."""
    for column, allowed in AWS_KEEP.items():
        if row.get(column, "") not in allowed:
            return False
    for column, allowed in AWS_KEEP_IF_PRESENT.items():
        if column in row and row[column] not in allowed:
            return False
    if row.get(AWS_REGION) != region or not row.get(AWS_TYPE):
        return False
    try:
        return Decimal(row.get(AWS_PRICE, "")) > 0
    except InvalidOperation:
        return False


def parse_aws_offer(lines: Iterable[str], *, region: str, url: str) -> RegionPrices:
    """The kept prices of an AWS offer CSV given as lines (streamed: one pass, no list)."""
    it = iter(lines)
    preamble: dict[str, str] = {}
    for n, name in enumerate(AWS_PREAMBLE, start=1):
        line = next(it, None)
        row = next(csv.reader([line])) if line is not None else []
        if len(row) < 2 or row[0] != name:
            raise _bad_body(
                url,
                f"line {n} should be the preamble line {name!r} of an AWS offer CSV"
                + (f", found {line[:60]!r}" if line else ", the body ended"),
            )
        preamble[name] = row[1]
    published = preamble["Publication Date"]
    try:
        as_of = dt.date.fromisoformat(published[:10]).isoformat()
    except ValueError:
        raise _bad_body(url, f"Publication Date {published!r} is not a date") from None
    header_line = next(it, None)
    header = next(csv.reader([header_line])) if header_line else []
    index = _aws_columns(header, url)
    width = len(header)
    prices: dict[str, Decimal] = {}
    wanted = ["Linux", "Shared", "OnDemand"]  # every kept row contains these: a cheap pre-check
    for n, line in enumerate(it, start=7):
        if not all(w in line for w in wanted):
            continue
        row = next(csv.reader([line]), [])
        if len(row) != width:
            raise BadInputError(
                f"{len(row)} fields where the header has {width} (a cut or malformed offer file)",
                location=Location(url, row=n - 6),
                reason="bad-price-body",
                hint=_KEEP_HINT,
            )
        record = {column: row[i] for column, i in index.items()}
        if not keep_aws_row(record, region):
            continue
        name, usd = record[AWS_TYPE], Decimal(record[AWS_PRICE])
        if name not in prices or usd < prices[name]:
            prices[name] = usd
    if not prices:
        raise _bad_body(url, f"no Linux on-demand instance prices for region {region!r}")
    return RegionPrices("aws", region, url, as_of, prices)


def _aws_columns(header: list[str], url: str) -> dict[str, int]:
    """Documented column name → its index in ``header`` (aliases resolved)."""
    position = {name: i for i, name in enumerate(header)}
    index: dict[str, int] = {}
    for column in [*AWS_KEEP, AWS_TYPE, AWS_REGION, AWS_PRICE]:
        found = next((a for a in AWS_ALIASES.get(column, (column,)) if a in position), None)
        if found is None:
            raise BadInputError(
                f"the offer CSV header (line 6) has no column {column!r}",
                location=Location(url, column=column),
                reason="bad-price-body",
                hint="check that the URL is an AmazonEC2 offer file (--endpoint); " + _KEEP_HINT,
            )
        index[column] = position[found]
    for column in AWS_KEEP_IF_PRESENT:
        if column in position:
            index[column] = position[column]
    return index


def keep_azure_item(item: Mapping[str, Any], region: str) -> bool:
    """The documented Azure filter on one Retail Prices API item."""
    names = f"{item.get('skuName') or ''} {item.get('meterName') or ''}"
    price = item.get("retailPrice")
    return (
        "Windows" not in str(item.get("productName") or "")
        and "Spot" not in names
        and "Low Priority" not in names
        and item.get("unitOfMeasure") == "1 Hour"
        and item.get("currencyCode") == "USD"
        and item.get("type") == "Consumption"
        and normalize_region(str(item.get("armRegionName") or "")) == region
        and bool(item.get("armSkuName"))
        and isinstance(price, Decimal | int)
        and not isinstance(price, bool)
        and price > 0
    )


def parse_azure_page(body: bytes, *, url: str) -> tuple[list[dict[str, Any]], str | None]:
    """The items and the next page's link of one Retail Prices API page (numbers as Decimal)."""
    try:
        page = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise _bad_body(url, f"the body is not JSON ({exc})") from None
    if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
        raise _bad_body(url, "the body has no 'Items' list (not a Retail Prices API page)")
    items = [i for i in page["Items"] if isinstance(i, dict)]
    if len(items) != len(page["Items"]):
        raise _bad_body(url, "an entry of 'Items' is not an object")
    link = page.get("NextPageLink")
    if link is not None and not isinstance(link, str):
        raise _bad_body(url, "'NextPageLink' is not a string")
    return items, link or None


def azure_prices(
    items: Iterable[Mapping[str, Any]],
    region: str,
    best: dict[str, tuple[str, Decimal]] | None = None,
) -> dict[str, tuple[str, Decimal]]:
    """Kept items → VM size → (effectiveStartDate, USD/hour), added to ``best`` (the pages
    read so far): the newest start date wins, then the lowest price."""
    best = {} if best is None else best
    for item in items:
        if not keep_azure_item(item, region):
            continue
        name = str(item["armSkuName"])
        start = str(item.get("effectiveStartDate") or "")
        usd = Decimal(item["retailPrice"])
        old = best.get(name)
        if old is None or start > old[0] or (start == old[0] and usd < old[1]):
            best[name] = (start, usd)
    return best


# -- I/O shell ---------------------------------------------------------------------------------
def refresh(
    provider: str,
    pricing_dir: Path,
    *,
    regions: Sequence[str] = (),
    endpoint: str | None = None,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> Refreshed:
    """Read ``regions`` (default: the regions already priced, packaged or refreshed) of
    ``provider`` from its price API and write them into ``pricing_dir``; the file's other
    regions are kept. ``client`` is the one network seam (default: a new httpx client)."""
    if provider == "gcp":
        raise ConfigError(
            "GCP prices cannot be refreshed: Google's price API (the Cloud Billing Catalog "
            "API) needs an API key",
            hint="GCP machine types are priced from the packaged us-central1 list "
            "(`costline pricing status`); rightsizing prices savings at your bill's own rate",
        )
    if provider not in REFRESHABLE:
        raise ConfigError(
            f"unknown pricing provider {provider!r}", hint=f"use one of {', '.join(REFRESHABLE)}"
        )
    path = price_file(pricing_dir, provider)
    existing = list(workspace_prices(pricing_dir, provider))  # a bad file fails here, early
    wanted = [normalize_region(r) if provider == "azure" else r.strip() for r in regions]
    wanted = list(dict.fromkeys(r for r in wanted if r))
    for region in wanted:
        if not _REGION.fullmatch(region):
            raise ConfigError(
                f"{provider} region {region!r} is not a region code",
                hint="use a code like us-east-1 (aws) or eastus, westeurope (azure)",
            )
    if not wanted:
        wanted = sorted(
            {p.region for p in existing} | {p.region for p in packaged_prices(provider)}
        )
    base = (endpoint or DEFAULT_ENDPOINT[provider]).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(
            f"endpoint {endpoint!r} is not an http(s) URL",
            hint=f"pass --endpoint like {DEFAULT_ENDPOINT[provider]} (the default)",
        )
    report = progress or NoProgress()
    own = client is None
    http = client or httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=True,
        headers={"User-Agent": f"costline/{__version__} (pricing refresh)"},
    )
    try:
        if provider == "aws":
            fetched = _fetch_aws(http, base, wanted, report)
        else:
            fetched = _fetch_azure(
                http, base, wanted, report, today or dt.datetime.now(dt.UTC).date()
            )
    finally:
        if own:
            http.close()
    replaced = {r.region for r in fetched}
    rows = [p for p in existing if p.region not in replaced]
    for got in fetched:
        rows += got.rows()
    write_price_file(path, provider, rows)
    return Refreshed(path, fetched, len(rows))


def write_price_file(path: Path, provider: str, prices: Iterable[Price]) -> None:
    """Write a price file atomically: a temporary file in the same folder, then ``os.replace``
    (readers see the old file or the new one, never a part)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
                out = csv.writer(text)
                out.writerow(PRICE_COLUMNS[provider])
                for p in sorted(prices, key=lambda p: (p.region, p.instance_type)):
                    out.writerow(
                        (provider, p.instance_type, p.region, _plain(p.usd_per_hour))
                        + (p.source, p.as_of, p.confidence)
                    )
                text.flush()
                text.detach()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fetch_aws(
    http: httpx.Client, base: str, regions: list[str], progress: Progress
) -> list[RegionPrices]:
    index_url = base + AWS_REGION_INDEX
    index = _get(http, index_url)
    try:
        listed = json.loads(index.content).get("regions")
    except (ValueError, AttributeError):
        listed = None
    if not isinstance(listed, dict):
        raise _bad_body(index_url, "not an AWS region index (no 'regions' object)")
    out = []
    for region in regions:
        entry = listed.get(region)
        version = entry.get("currentVersionUrl") if isinstance(entry, dict) else None
        if not isinstance(version, str):
            known = sorted(listed)
            raise ConfigError(
                f"aws region {region!r} is not in the price list's region index ({index_url})",
                hint="use a region code like us-east-1; the index lists "
                + ", ".join(known[:12])
                + (f" and {len(known) - 12} more" if len(known) > 12 else ""),
            )
        url = aws_offer_csv_url(base, version)
        out.append(_stream_aws(http, url, region, progress))
    return out


def _stream_aws(http: httpx.Client, url: str, region: str, progress: Progress) -> RegionPrices:
    try:
        with http.stream("GET", url) as resp:
            _check(resp, url)
            size = resp.headers.get("Content-Length")
            progress.start(f"aws {region}", float(size) if size and size.isdigit() else None)

            def lines() -> Iterator[str]:
                for n, line in enumerate(resp.iter_lines(), start=1):
                    if n % _PROGRESS_EVERY == 0:
                        progress.update(completed=resp.num_bytes_downloaded)
                    yield line

            got = parse_aws_offer(lines(), region=region, url=url)
    except httpx.HTTPError as exc:
        raise _unreachable(url, exc) from exc
    progress.finish(f"aws {region}: {len(got.prices)} instance prices as of {got.as_of}")
    return got


def _fetch_azure(
    http: httpx.Client, base: str, regions: list[str], progress: Progress, today: dt.date
) -> list[RegionPrices]:
    out = []
    for region in regions:
        query = f"api-version={AZURE_API_VERSION}&$filter={AZURE_FILTER.format(region=region)}"
        first = str(httpx.URL(f"{base}{AZURE_PATH}?{query}"))
        progress.start(f"azure {region}")
        url: str | None = first
        seen: set[str] = set()
        best: dict[str, tuple[str, Decimal]] = {}
        items_read = 0
        while url is not None:
            if url in seen or len(seen) >= AZURE_MAX_PAGES:
                raise _bad_body(url, "the pages loop (NextPageLink repeats an earlier page)")
            seen.add(url)
            items, link = parse_azure_page(_get(http, url).content, url=url)
            items_read += len(items)
            azure_prices(items, region, best)
            progress.update(detail=f"{len(seen)} pages, {len(best)} sizes")
            url = link
        if not best:
            raise ConfigError(
                f"no Linux on-demand VM prices for azure region {region!r} at {first} "
                f"({items_read} items read)",
                hint="check the region name (armRegionName, e.g. eastus, westeurope); "
                + _KEEP_HINT,
            )
        got = RegionPrices(
            "azure", region, first, today.isoformat(), {n: usd for n, (_, usd) in best.items()}
        )
        progress.finish(f"azure {region}: {len(got.prices)} VM prices as of {got.as_of}")
        out.append(got)
    return out


def _get(http: httpx.Client, url: str) -> httpx.Response:
    """GET with the HTTP errors named; HTTP 429 waits Retry-After and retries."""
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            resp = http.get(url)
        except httpx.HTTPError as exc:
            raise _unreachable(url, exc) from exc
        if resp.status_code == 429 and attempt < RATE_LIMIT_RETRIES:
            time.sleep(_retry_after(resp.headers.get("Retry-After"), attempt))
            continue
        _check(resp, url)
        return resp
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(value: str | None, attempt: int) -> float:
    wait = retry_after_seconds(value)
    return min(2.0**attempt if wait is None else wait, MAX_RETRY_AFTER)


def _check(resp: httpx.Response, url: str) -> None:
    if resp.status_code < 400:
        return
    snippet = resp.read()[:200].decode("utf-8", "replace").strip()
    raise ConfigError(
        f"{url}: the price API answered HTTP {resp.status_code}"
        + (f" ({snippet})" if snippet else ""),
        hint="check --endpoint and the region, or try again later; " + _KEEP_HINT,
    )


def _unreachable(url: str, exc: httpx.HTTPError) -> ConfigError:
    return ConfigError(
        f"{url}: could not read the price API ({type(exc).__name__}: {exc})",
        hint="check the network (a proxy needs HTTPS_PROXY) and --endpoint, then run the "
        "refresh again; " + _KEEP_HINT,
    )


def _bad_body(url: str, message: str) -> BadInputError:
    return BadInputError(message, location=Location(url), reason="bad-price-body", hint=_KEEP_HINT)


def _plain(value: Decimal) -> str:
    """``0.0960000000`` → ``0.096``; never an exponent."""
    return format(value.normalize(), "f")


__all__ = [
    "DEFAULT_ENDPOINT",
    "RegionPrices",
    "Refreshed",
    "aws_offer_csv_url",
    "azure_prices",
    "keep_aws_row",
    "keep_azure_item",
    "parse_aws_offer",
    "parse_azure_page",
    "refresh",
    "write_price_file",
]
