"""Azure meter categories and resource providers → FOCUS ServiceCategory / ServiceSubcategory.

Cost Management exports name the service in ``MeterCategory`` (``Virtual Machines``,
``Storage``, ``Load Balancer``, ...). FOCUS wants one of its fixed categories and, since 1.1, a
subcategory whose parent is that category. The table below covers the meter categories that
make up nearly all Azure spend; anything else falls back to the resource provider namespace in
``ConsumedService`` (``Microsoft.Compute`` → Compute), and finally to ``Other``.

The pairs follow the FOCUS 1.3 allowed values (every subcategory's parent is the category it is
listed with) and the service classification of the Microsoft FinOps toolkit's open data.

Example:
    >>> SERVICES["virtual machines"]
    ('Compute', 'Virtual Machines')
"""

from __future__ import annotations

Category = tuple[str, str]

_COMPUTE_VM: Category = ("Compute", "Virtual Machines")
_CONTAINERS: Category = ("Compute", "Containers")
_SERVERLESS: Category = ("Compute", "Serverless Compute")
_RELATIONAL: Category = ("Databases", "Relational Databases")
_NOSQL: Category = ("Databases", "NoSQL Databases")
_OBSERVABILITY: Category = ("Management and Governance", "Observability")
_NET_INFRA: Category = ("Networking", "Network Infrastructure")
_NET_CONNECT: Category = ("Networking", "Network Connectivity")
_NET_SECURITY: Category = ("Networking", "Network Security")
_CDN: Category = ("Networking", "Content Delivery")
_MESSAGING: Category = ("Integration", "Messaging")
_IDENTITY: Category = ("Identity", "Identity and Access Management")
_AI: Category = ("AI and Machine Learning", "AI Platforms")
OTHER: Category = ("Other", "Other (Other)")

# Lower-cased MeterCategory → (ServiceCategory, ServiceSubcategory).
SERVICES: dict[str, Category] = {
    "virtual machines": _COMPUTE_VM,
    "virtual machines licenses": _COMPUTE_VM,
    "cloud services": _COMPUTE_VM,
    "azure dedicated host": _COMPUTE_VM,
    "dedicated host": _COMPUTE_VM,
    "batch": _COMPUTE_VM,
    "azure vmware solution": _COMPUTE_VM,
    "virtual machine scale sets": _COMPUTE_VM,
    "azure virtual desktop": ("Compute", "End User Computing"),
    "windows virtual desktop": ("Compute", "End User Computing"),
    "container instances": _CONTAINERS,
    "azure container instances": _CONTAINERS,
    "azure kubernetes service": _CONTAINERS,
    "container registry": _CONTAINERS,
    "azure container apps": _CONTAINERS,
    "azure red hat openshift": _CONTAINERS,
    "functions": _SERVERLESS,
    "azure spring apps": _SERVERLESS,
    "azure app service": ("Web", "Application Platforms"),
    "app service": ("Web", "Application Platforms"),
    "static web apps": ("Web", "Application Platforms"),
    "signalr": ("Web", "Other (Web)"),
    "storage": ("Storage", "Storage Platforms"),
    "azure netapp files": ("Storage", "File Storage"),
    "azure data lake storage": ("Storage", "Object Storage"),
    "data lake store": ("Storage", "Object Storage"),
    "backup": ("Storage", "Backup Storage"),
    "azure data box": ("Migration", "Data Migration"),
    "data box": ("Migration", "Data Migration"),
    "azure site recovery": ("Management and Governance", "Disaster Recovery"),
    "virtual network": _NET_INFRA,
    "load balancer": _NET_INFRA,
    "ip addresses": _NET_INFRA,
    "network watcher": _NET_INFRA,
    "bandwidth": _NET_CONNECT,
    "vpn gateway": _NET_CONNECT,
    "expressroute": _NET_CONNECT,
    "nat gateway": _NET_CONNECT,
    "virtual wan": _NET_CONNECT,
    "azure private link": _NET_CONNECT,
    "application gateway": ("Networking", "Application Networking"),
    "traffic manager": ("Networking", "Network Routing"),
    "azure dns": ("Networking", "Network Routing"),
    "dns": ("Networking", "Network Routing"),
    "azure firewall": _NET_SECURITY,
    "azure bastion": _NET_SECURITY,
    "azure ddos protection": _NET_SECURITY,
    "content delivery network": _CDN,
    "azure front door service": _CDN,
    "azure cdn": _CDN,
    "sql database": _RELATIONAL,
    "sql managed instance": _RELATIONAL,
    "sql server": _RELATIONAL,
    "azure database for mysql": _RELATIONAL,
    "azure database for postgresql": _RELATIONAL,
    "azure database for mariadb": _RELATIONAL,
    "azure cosmos db": _NOSQL,
    "redis cache": ("Databases", "Caching"),
    "azure cache for redis": ("Databases", "Caching"),
    "azure synapse analytics": ("Databases", "Data Warehouses"),
    "sql data warehouse": ("Databases", "Data Warehouses"),
    "azure databricks": ("Analytics", "Data Processing"),
    "hdinsight": ("Analytics", "Data Processing"),
    "azure data explorer": ("Analytics", "Analytics Platforms"),
    "stream analytics": ("Analytics", "Streaming Analytics"),
    "power bi embedded": ("Analytics", "Business Intelligence"),
    "azure cognitive search": ("Analytics", "Search"),
    "azure ai search": ("Analytics", "Search"),
    "azure data factory v2": ("Integration", "Workflow Orchestration"),
    "azure data factory": ("Integration", "Workflow Orchestration"),
    "logic apps": ("Integration", "Workflow Orchestration"),
    "api management": ("Integration", "API Management"),
    "service bus": _MESSAGING,
    "event grid": _MESSAGING,
    "event hubs": _MESSAGING,
    "notification hubs": ("Mobile", "Other (Mobile)"),
    "cognitive services": _AI,
    "azure openai": ("AI and Machine Learning", "Generative AI"),
    "azure machine learning": ("AI and Machine Learning", "Machine Learning"),
    "machine learning studio": ("AI and Machine Learning", "Machine Learning"),
    "azure bot service": ("AI and Machine Learning", "Bots"),
    "key vault": ("Security", "Secret Management"),
    "microsoft defender for cloud": ("Security", "Security Posture Management"),
    "azure defender": ("Security", "Security Posture Management"),
    "security center": ("Security", "Security Posture Management"),
    "sentinel": ("Security", "Threat Detection and Response"),
    "advanced threat protection": ("Security", "Threat Detection and Response"),
    "advanced data security": ("Security", "Security Posture Management"),
    "azure active directory": _IDENTITY,
    "microsoft entra id": _IDENTITY,
    "azure active directory b2c": _IDENTITY,
    "azure active directory domain services": _IDENTITY,
    "log analytics": _OBSERVABILITY,
    "azure monitor": _OBSERVABILITY,
    "application insights": _OBSERVABILITY,
    "insight and analytics": _OBSERVABILITY,
    "automation": ("Management and Governance", "Other (Management and Governance)"),
    "advisor": ("Management and Governance", "Architecture"),
    "azure policy": ("Management and Governance", "Compliance"),
    "azure arc": ("Multicloud", "Multicloud Integration"),
    "iot hub": ("Internet of Things", "IoT Platforms"),
    "iot central": ("Internet of Things", "IoT Platforms"),
    "azure digital twins": ("Internet of Things", "IoT Platforms"),
    "time series insights": ("Internet of Things", "IoT Analytics"),
    "media services": ("Media", "Media Streaming"),
    "azure devops": ("Developer Tools", "Developer Platforms"),
    "visual studio": ("Developer Tools", "Development Environments"),
    "azure dev test labs": ("Developer Tools", "Development Environments"),
    "github": ("Developer Tools", "Source Code Management"),
    "azure support": ("Management and Governance", "Support"),
    "support": ("Management and Governance", "Support"),
}

# Lower-cased resource provider namespace (ConsumedService) → category, when the meter
# category is empty or unknown.
PROVIDERS: dict[str, Category] = {
    "microsoft.compute": _COMPUTE_VM,
    "microsoft.classiccompute": _COMPUTE_VM,
    "microsoft.containerservice": _CONTAINERS,
    "microsoft.containerinstance": _CONTAINERS,
    "microsoft.containerregistry": _CONTAINERS,
    "microsoft.app": _CONTAINERS,
    "microsoft.web": ("Web", "Application Platforms"),
    "microsoft.storage": ("Storage", "Storage Platforms"),
    "microsoft.classicstorage": ("Storage", "Storage Platforms"),
    "microsoft.network": _NET_INFRA,
    "microsoft.cdn": _CDN,
    "microsoft.sql": _RELATIONAL,
    "microsoft.dbformysql": _RELATIONAL,
    "microsoft.dbforpostgresql": _RELATIONAL,
    "microsoft.documentdb": _NOSQL,
    "microsoft.cache": ("Databases", "Caching"),
    "microsoft.databricks": ("Analytics", "Data Processing"),
    "microsoft.datafactory": ("Integration", "Workflow Orchestration"),
    "microsoft.servicebus": _MESSAGING,
    "microsoft.eventhub": _MESSAGING,
    "microsoft.eventgrid": _MESSAGING,
    "microsoft.cognitiveservices": _AI,
    "microsoft.machinelearningservices": ("AI and Machine Learning", "Machine Learning"),
    "microsoft.keyvault": ("Security", "Secret Management"),
    "microsoft.security": ("Security", "Security Posture Management"),
    "microsoft.operationalinsights": _OBSERVABILITY,
    "microsoft.insights": _OBSERVABILITY,
    "microsoft.capacity": ("Management and Governance", "Cost Management"),
    "microsoft.billingbenefits": ("Management and Governance", "Cost Management"),
}


def _case(key_sql: str, table: dict[str, Category], index: int) -> str:
    whens = " ".join(f"WHEN '{key}' THEN '{pair[index]}'" for key, pair in sorted(table.items()))
    return f"CASE {key_sql} {whens} ELSE NULL END"


def category_sql(meter_category: str | None, consumed_service: str | None, index: int) -> str:
    """SQL for ServiceCategory (``index`` 0) or ServiceSubcategory (``index`` 1).

    ``meter_category`` and ``consumed_service`` are SQL expressions (trimmed text) or None when
    the file lacks the column. A row with a meter category is classified by it alone (so one
    ServiceName, which is the meter category, always has one ServiceCategory); only rows
    without one fall back to the resource provider. Never NULL: unknown is ``Other``.
    """
    other = f"'{OTHER[index]}'"
    by_provider = other
    if consumed_service is not None:
        by_provider = f"COALESCE({_case(f'lower({consumed_service})', PROVIDERS, index)}, {other})"
    if meter_category is None:
        return by_provider
    by_meter = f"COALESCE({_case(f'lower({meter_category})', SERVICES, index)}, {other})"
    return f"CASE WHEN {meter_category} IS NOT NULL THEN {by_meter} ELSE {by_provider} END"
