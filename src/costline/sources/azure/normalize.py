"""SQL builders that normalise Azure's free-form values to FOCUS formats (pure).

Each function takes a SQL expression (trimmed text, possibly NULL) and returns a SQL expression.
``list_transform([x], lambda v: ...)[1]`` is used to name an intermediate value once instead
of repeating a long sub-expression.

Examples (the SQL results, as DuckDB computes them):

* unit: ``1 Hour`` → ``Hours``, ``10K`` → ``10000 Units``, ``1 GB/Month`` → ``GB/Month``,
  ``1/Month`` → ``Units/Month``, ``100 Hours`` stays ``100 Hours`` (FOCUS UnitFormat).
* region id: ``East US`` / ``EastUS`` → ``eastus``; legacy ``US East 2`` → ``eastus2``,
  ``EU West`` → ``westeurope``, ``JA East`` → ``japaneast``.
* resource type: ``.../providers/Microsoft.Sql/servers/a/databases/b`` →
  ``Microsoft.Sql/servers/databases``.
"""

from __future__ import annotations


def _let(value: str, name: str, body: str) -> str:
    """``body`` with ``name`` bound to ``value`` (one evaluation of ``value``)."""
    return f"list_transform([{value}], lambda {name}: {body})[1]"


_PLURAL_TIME = r"'^(Hour|Day|Month|Minute|Second|Year)$'"


def unit_sql(uom: str) -> str:
    """Azure ``UnitOfMeasure`` → FOCUS UnitFormat; the block size stays as a leading number.

    ``K``/``M``/``B`` multipliers are expanded, a leading ``1`` is dropped, a bare number or a
    bare ``/Interval`` counts ``Units`` and singular time units become plural. PricingQuantity
    stays the raw ``Quantity`` (costs are ``Quantity × price per UnitOfMeasure``), so the unit
    keeps the block: ``10K`` is ``10000 Units``.
    """
    expanded = f"trim({uom})"
    for suffix, zeros in (("K", "000"), ("M", "000000"), ("B", "000000000")):
        expanded = rf"regexp_replace({expanded}, '^(\d+){suffix}([^A-Za-z]|$)', '\1{zeros}\2')"
    base = (
        "regexp_replace(CASE WHEN p.rest = '' THEN 'Units' WHEN starts_with(p.rest, '/') "
        f"THEN 'Units' || p.rest ELSE p.rest END, {_PLURAL_TIME}, '\\1s')"
    )
    parts = (
        r"{'n': COALESCE(NULLIF(regexp_extract(v, '^(\d+)', 1), ''), '1'), "
        r"'rest': trim(regexp_replace(v, '^\d+', ''))}"
    )
    body = _let(base, "b", "CASE WHEN p.n = '1' THEN b ELSE p.n || ' ' || b END")
    return (
        f"CASE WHEN {uom} IS NULL THEN NULL ELSE {_let(expanded, 'v', _let(parts, 'p', body))} END"
    )


# Legacy location names put the geography first ("US East 2"); ids put it around the
# direction ("eastus2", "westeurope", "japaneast"). {d} is the lower-cased direction; a trailing
# digit ("US East 2") always ends the id.
_GEOGRAPHIES = {
    "US": "{d}us",
    "EU": "{d}europe",
    "AP": "{d}asia",
    "JA": "japan{d}",
    "CA": "canada{d}",
    "UK": "uk{d}",
    "AU": "australia{d}",
    "BR": "brazil{d}",
    "IN": "{d}india",
    "KR": "korea{d}",
    "FR": "france{d}",
    "DE": "germany{d}",
    "CH": "switzerland{d}",
    "NO": "norway{d}",
    "ZA": "southafrica{d}",
    "AE": "uae{d}",
    "SE": "sweden{d}",
    "PL": "poland{d}",
    "IT": "italy{d}",
    "QA": "qatar{d}",
    "IL": "israel{d}",
    "MX": "mexico{d}",
}
_LEGACY = (
    r"'^(US|EU|AP|JA|CA|UK|AU|BR|IN|KR|FR|DE|CH|NO|ZA|AE|SE|PL|IT|QA|IL|MX) ([A-Za-z ]+?) ?(\d?)$'"
)


def region_id_sql(location: str) -> str:
    """An Azure location (display name, id or legacy name) → FOCUS RegionId (``eastus``)."""
    direction = f"lower(replace(regexp_extract(l, {_LEGACY}, 2), ' ', ''))"
    whens = " ".join(
        f"WHEN '{geo}' THEN "
        + " || ".join(f"'{piece}'" if piece != "{d}" else "d" for piece in _split(template))
        for geo, template in _GEOGRAPHIES.items()
    )
    legacy = (
        _let(direction, "d", f"CASE regexp_extract(l, {_LEGACY}, 1) {whens} END")
        + f" || regexp_extract(l, {_LEGACY}, 3)"
    )
    body = (
        f"CASE WHEN regexp_matches(l, {_LEGACY}) THEN {legacy} ELSE lower(replace(l, ' ', '')) END"
    )
    return f"CASE WHEN {location} IS NULL THEN NULL ELSE {_let(location, 'l', body)} END"


def _split(template: str) -> list[str]:
    head, _, tail = template.partition("{d}")
    return [p for p in (head, "{d}", tail) if p]


def resource_type_sql(resource_id: str) -> str:
    """ARM resource type from a resource id: namespace plus every type segment."""
    after = f"regexp_extract({resource_id}, '(?i)/providers/(.*)$', 1)"
    body = (
        "CASE WHEN len(s) < 2 OR s[1] = '' THEN NULL ELSE s[1] || '/' || "
        "array_to_string(list_filter(s[2:], lambda x, i: i % 2 = 1), '/') END"
    )
    by_provider = _let(f"string_split(trim({after}, '/'), '/')", "s", body)
    # Ids without a provider segment are resource groups or subscriptions themselves.
    return (
        f"COALESCE({by_provider}, CASE "
        f"WHEN regexp_matches({resource_id}, '(?i)/resourcegroups/[^/]+/?$') "
        "THEN 'Microsoft.Resources/resourceGroups' "
        f"WHEN regexp_matches({resource_id}, '(?i)^/subscriptions/[^/]+/?$') "
        "THEN 'Microsoft.Resources/subscriptions' END)"
    )


def resource_name_sql(resource_id: str) -> str:
    """The last segment of a resource id (Azure's own simplification, see the toolkit)."""
    return f"NULLIF(regexp_extract({resource_id}, '([^/]+)/*$', 1), '')"
