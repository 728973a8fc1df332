"""Lookup tables for the GCP mapping: FOCUS 1.3 service categories and region names.

``SERVICES`` maps ``service.description`` (lower case) to the FOCUS 1.3 ``ServiceCategory``
and ``ServiceSubcategory``; a service not listed is ``Other`` / ``Other (Other)``. The
categories follow the FOCUS 1.3 allowed values (each subcategory has exactly one parent).
``REGIONS`` gives the display name Google uses for a region id; an unknown region id is its
own name (FOCUS requires RegionName whenever RegionId is set).

Example:
    >>> SERVICES["compute engine"]
    ('Compute', 'Virtual Machines')
"""

from __future__ import annotations

from collections.abc import Mapping

_AI = "AI and Machine Learning"
_MG = "Management and Governance"

SERVICES: Mapping[str, tuple[str, str]] = {
    # Compute
    "compute engine": ("Compute", "Virtual Machines"),
    "vmware engine": ("Compute", "Virtual Machines"),
    "kubernetes engine": ("Compute", "Containers"),
    "gke enterprise": ("Compute", "Containers"),
    "anthos": ("Compute", "Containers"),
    "cloud run": ("Compute", "Serverless Compute"),
    "cloud run functions": ("Compute", "Serverless Compute"),
    "cloud functions": ("Compute", "Serverless Compute"),
    "app engine": ("Compute", "Serverless Compute"),
    "batch": ("Compute", "Other (Compute)"),
    # Storage
    "cloud storage": ("Storage", "Object Storage"),
    "cloud filestore": ("Storage", "File Storage"),
    "filestore": ("Storage", "File Storage"),
    "backup and dr service": ("Storage", "Backup Storage"),
    "backup for gke": ("Storage", "Backup Storage"),
    # Databases
    "bigquery": ("Databases", "Data Warehouses"),
    "bigquery storage api": ("Databases", "Data Warehouses"),
    "bigquery reservation api": ("Databases", "Data Warehouses"),
    "cloud sql": ("Databases", "Relational Databases"),
    "cloud spanner": ("Databases", "Relational Databases"),
    "alloydb": ("Databases", "Relational Databases"),
    "alloydb for postgresql": ("Databases", "Relational Databases"),
    "cloud bigtable": ("Databases", "NoSQL Databases"),
    "cloud firestore": ("Databases", "NoSQL Databases"),
    "firestore": ("Databases", "NoSQL Databases"),
    "cloud datastore": ("Databases", "NoSQL Databases"),
    "firebase realtime database": ("Databases", "NoSQL Databases"),
    "cloud memorystore for redis": ("Databases", "Caching"),
    "cloud memorystore for memcached": ("Databases", "Caching"),
    "memorystore for redis": ("Databases", "Caching"),
    # Analytics
    "bigquery bi engine": ("Analytics", "Business Intelligence"),
    "looker": ("Analytics", "Business Intelligence"),
    "looker studio": ("Analytics", "Business Intelligence"),
    "cloud dataflow": ("Analytics", "Data Processing"),
    "dataflow": ("Analytics", "Data Processing"),
    "cloud dataproc": ("Analytics", "Data Processing"),
    "dataproc": ("Analytics", "Data Processing"),
    "cloud data fusion": ("Analytics", "Data Processing"),
    "datastream": ("Analytics", "Data Processing"),
    # Integration
    "cloud pub/sub": ("Integration", "Messaging"),
    "pub/sub lite": ("Integration", "Messaging"),
    "cloud tasks": ("Integration", "Messaging"),
    "eventarc": ("Integration", "Messaging"),
    "cloud scheduler": ("Integration", "Workflow Orchestration"),
    "workflows": ("Integration", "Workflow Orchestration"),
    "cloud composer": ("Integration", "Workflow Orchestration"),
    "api gateway": ("Integration", "API Management"),
    "apigee": ("Integration", "API Management"),
    # Networking
    "networking": ("Networking", "Network Infrastructure"),
    "cloud dns": ("Networking", "Network Infrastructure"),
    "cloud cdn": ("Networking", "Content Delivery"),
    "cloud load balancing": ("Networking", "Application Networking"),
    "cloud nat": ("Networking", "Network Connectivity"),
    "cloud vpn": ("Networking", "Network Connectivity"),
    "cloud interconnect": ("Networking", "Network Connectivity"),
    "cloud armor": ("Networking", "Network Security"),
    "network intelligence center": ("Networking", "Other (Networking)"),
    # Management and governance
    "support": (_MG, "Support"),
    "cloud logging": (_MG, "Observability"),
    "cloud monitoring": (_MG, "Observability"),
    "stackdriver logging": (_MG, "Observability"),
    "stackdriver monitoring": (_MG, "Observability"),
    "cloud trace": (_MG, "Observability"),
    "stackdriver trace": (_MG, "Observability"),
    "data catalog": (_MG, "Data Governance"),
    "dataplex": (_MG, "Data Governance"),
    # Security and identity
    "secret manager": ("Security", "Secret Management"),
    "cloud key management service (kms)": ("Security", "Secret Management"),
    "certificate authority service": ("Security", "Secret Management"),
    "security command center": ("Security", "Security Posture Management"),
    "cloud ids": ("Security", "Threat Detection and Response"),
    "recaptcha enterprise": ("Security", "Threat Detection and Response"),
    "web risk": ("Security", "Threat Detection and Response"),
    "identity platform": ("Identity", "Identity and Access Management"),
    "cloud identity": ("Identity", "Identity and Access Management"),
    # AI and machine learning
    "vertex ai": (_AI, "AI Platforms"),
    "cloud tpu": (_AI, "AI Platforms"),
    "gemini api": (_AI, "Generative AI"),
    "generative language api": (_AI, "Generative AI"),
    "cloud natural language": (_AI, "Natural Language Processing"),
    "cloud translation": (_AI, "Natural Language Processing"),
    "translate": (_AI, "Natural Language Processing"),
    "cloud speech api": (_AI, "Natural Language Processing"),
    "cloud text-to-speech api": (_AI, "Natural Language Processing"),
    "dialogflow": (_AI, "Bots"),
    "cloud dialogflow api": (_AI, "Bots"),
    "cloud vision api": (_AI, "Machine Learning"),
    "cloud document ai api": (_AI, "Machine Learning"),
    "cloud automl": (_AI, "Machine Learning"),
    # Developer tools
    "cloud build": ("Developer Tools", "Continuous Integration and Deployment"),
    "cloud deploy": ("Developer Tools", "Continuous Integration and Deployment"),
    "artifact registry": ("Developer Tools", "Continuous Integration and Deployment"),
    "container registry": ("Developer Tools", "Continuous Integration and Deployment"),
    "source repository": ("Developer Tools", "Source Code Management"),
    "cloud source repositories": ("Developer Tools", "Source Code Management"),
    "cloud workstations": ("Developer Tools", "Development Environments"),
    "firebase test lab": ("Developer Tools", "Quality Assurance"),
    # Migration, mobile, web, IoT
    "transfer appliance": ("Migration", "Data Migration"),
    "storage transfer service": ("Migration", "Data Migration"),
    "transfer service": ("Migration", "Data Migration"),
    "database migration service": ("Migration", "Data Migration"),
    "bigquery data transfer service": ("Migration", "Data Migration"),
    "firebase": ("Mobile", "Other (Mobile)"),
    "firebase hosting": ("Web", "Application Platforms"),
    "cloud domains": ("Web", "Other (Web)"),
    "cloud iot core": ("Internet of Things", "IoT Platforms"),
}

REGIONS: Mapping[str, str] = {
    "africa-south1": "Johannesburg",
    "asia-east1": "Taiwan",
    "asia-east2": "Hong Kong",
    "asia-northeast1": "Tokyo",
    "asia-northeast2": "Osaka",
    "asia-northeast3": "Seoul",
    "asia-south1": "Mumbai",
    "asia-south2": "Delhi",
    "asia-southeast1": "Singapore",
    "asia-southeast2": "Jakarta",
    "australia-southeast1": "Sydney",
    "australia-southeast2": "Melbourne",
    "europe-central2": "Warsaw",
    "europe-north1": "Finland",
    "europe-southwest1": "Madrid",
    "europe-west1": "Belgium",
    "europe-west2": "London",
    "europe-west3": "Frankfurt",
    "europe-west4": "Netherlands",
    "europe-west6": "Zurich",
    "europe-west8": "Milan",
    "europe-west9": "Paris",
    "europe-west10": "Berlin",
    "europe-west12": "Turin",
    "me-central1": "Doha",
    "me-central2": "Dammam",
    "me-west1": "Tel Aviv",
    "northamerica-northeast1": "Montréal",
    "northamerica-northeast2": "Toronto",
    "southamerica-east1": "São Paulo",
    "southamerica-west1": "Santiago",
    "us-central1": "Iowa",
    "us-east1": "South Carolina",
    "us-east4": "Northern Virginia",
    "us-east5": "Columbus",
    "us-south1": "Dallas",
    "us-west1": "Oregon",
    "us-west2": "Los Angeles",
    "us-west3": "Salt Lake City",
    "us-west4": "Las Vegas",
}


def case_lookup(expr: str, table: Mapping[str, str], *, default: str) -> str:
    """SQL ``CASE`` mapping ``lower(expr)`` through ``table`` (``default`` is SQL)."""
    whens = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in table.items())
    return f"CASE lower({expr}) {whens} ELSE {default} END"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
