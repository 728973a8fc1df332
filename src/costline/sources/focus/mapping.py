"""FOCUS 1.0–1.3 → FOCUS 1.3 (pure).

Every FOCUS column present is carried through with its store type. Upgrades:

* ``ServiceProviderName`` and ``HostProviderName`` (new in 1.3) default to ``ProviderName``;
  ``ProviderName`` and ``PublisherName`` (deprecated in 1.3) default to ``ServiceProviderName``.
* ``ChargeFrequency`` values are normalised to the spec's casing (``Usage-based`` →
  ``Usage-Based``).
* ``Tags`` (a JSON object) is parsed into the store's MAP; keys are trimmed.
* Columns that are not FOCUS columns (e.g. the sample's ``Id``) are not stored.
"""

from __future__ import annotations

from costline.schema.focus import FOCUS_COLUMNS
from costline.sources import _sql
from costline.sources.base import Detection, Field, MappingResult, RawColumns

_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")


def build_mapping(cols: RawColumns, detection: Detection) -> MappingResult:
    out: MappingResult = {}
    for col in FOCUS_COLUMNS:
        if col.name not in cols.types:
            continue
        if col.data_type == "decimal":
            out[col.name] = _sql.money(cols, col.name)
        elif col.data_type == "datetime":
            out[col.name] = _sql.timestamp(cols, col.name)
        elif col.data_type == "map":
            out[col.name] = _sql.tags_from_json(cols, col.name)
        else:
            out[col.name] = _sql.text(cols, col.name)
    provider = _sql.text(cols, "ProviderName")
    service_provider = _sql.text(cols, "ServiceProviderName")
    out["ServiceProviderName"] = _sql.coalesce(service_provider, provider)
    out["HostProviderName"] = _sql.coalesce(_sql.text(cols, "HostProviderName"), provider,
                                            service_provider)
    out["ProviderName"] = _sql.coalesce(provider, service_provider)
    out["PublisherName"] = _sql.coalesce(_sql.text(cols, "PublisherName"), service_provider,
                                         provider)
    if "ChargeFrequency" in out:
        out["ChargeFrequency"] = _normalise_frequency(out["ChargeFrequency"])
    issuer = _sql.coalesce(_sql.text(cols, "InvoiceIssuerName"), out["ProviderName"])
    out["x_Provider"] = Field(f"costline_provider({issuer.expr})", issuer.sources)
    out["x_ChargeType"] = out.get("ChargeCategory", _sql.NULL)
    return out


def _normalise_frequency(field: Field) -> Field:
    cases = " ".join(f"WHEN '{v.lower()}' THEN '{v}'" for v in _FREQUENCIES)
    return Field(f"CASE lower({field.expr}) {cases} ELSE {field.expr} END", field.sources)
