"""Recognise a GCP Cloud Billing export to BigQuery (standard or detailed) from its columns.

The export's top-level field names are snake_case and distinctive (``billing_account_id``,
``usage_start_time``, ``sku``/``service`` records). A CSV made from the table may flatten the
records into ``service.description`` or ``service_description`` columns; both are accepted.
The detailed (resource-level) table adds ``resource`` and ``price``.

Two other BigQuery billing datasets share ``billing_account_id`` but are not cost rows: the
pricing export and the committed-use-discount export. They are recognised and skipped.
"""

from __future__ import annotations

from costline.sources.base import Detection, RawColumns
from costline.sources.gcp._nested import Record

PROVIDER = "gcp"
_COST_MARKERS = (("cost",), ("credits",), ("invoice", "month"), ("cost_type",), ("currency",))


def detect(cols: RawColumns) -> Detection | None:
    """A claim on a GCP billing export, a skip notice for a non-cost GCP dataset, or None."""
    if "BilledCost" in cols.types or "ChargePeriodStart" in cols.types:
        return None  # a FOCUS file (including Google's own FOCUS export)
    rec = Record(cols)
    if not rec.has("billing_account_id"):
        return None
    not_cost = _not_cost(rec)
    if not_cost is not None:
        return Detection(
            kind=not_cost[0], score=90, provider=PROVIDER, details={"not_cost": not_cost[1]}
        )
    if not (
        rec.has("usage_start_time") and rec.has("sku", "id") and rec.has("service", "description")
    ):
        return None
    if not any(rec.has(*marker) for marker in _COST_MARKERS):
        return None
    detailed = rec.has("resource", "global_name") or rec.has("price", "effective_price")
    kind = "gcp-billing-detailed" if detailed else "gcp-billing-standard"
    return Detection(
        kind=kind,
        score=90,
        provider=PROVIDER,
        notes=_notes(rec),
        details={"table": "detailed" if detailed else "standard"},
    )


def _not_cost(rec: Record) -> tuple[str, str] | None:
    if rec.has("usage_start_time"):
        return None
    if rec.has("list_price") or rec.has("billing_account_price"):
        return (
            "gcp-pricing-export",
            "a GCP Cloud Billing pricing export (price list, not cost rows); skipped",
        )
    if rec.has("cud_product") or rec.has("commitment_amount") or rec.has("consumption_model"):
        return (
            "gcp-cud-export",
            "a GCP committed use discount metadata export (commitments, not cost rows); skipped",
        )
    return None


def _notes(rec: Record) -> tuple[str, ...]:
    notes = []
    if not rec.has("invoice", "month"):
        notes.append("no invoice.month: BillingPeriodStart is the month of usage_start_time")
    if not rec.has("cost_at_list"):
        notes.append("no cost_at_list: ListCost is cost")
    return tuple(notes)
