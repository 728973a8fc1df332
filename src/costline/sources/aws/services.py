"""AWS product code → FOCUS 1.3 ServiceCategory and ServiceSubcategory.

Keyed on ``lineItem/ProductCode`` (stable, unlike product names). Every value pair is from the
FOCUS 1.3 allowed list; a code not listed here (new services, AWS Marketplace product codes)
maps to ``Other`` / ``Other (Other)``, which FOCUS prescribes when no category fits.

Example:
    >>> SERVICES["AmazonEC2"]
    ('Compute', 'Virtual Machines')
"""

from __future__ import annotations

from costline.sources import _sql
from costline.sources.base import Field

_AI = "AI and Machine Learning"
_MG = "Management and Governance"
_NET = "Networking"

SERVICES: dict[str, tuple[str, str]] = {
    # Compute
    "AmazonEC2": ("Compute", "Virtual Machines"),
    "AmazonLightsail": ("Compute", "Virtual Machines"),
    "AWSOutposts": ("Compute", "Virtual Machines"),
    "VMwareCloudOnAWS": ("Compute", "Virtual Machines"),
    "AWSLambda": ("Compute", "Serverless Compute"),
    "AmazonECS": ("Compute", "Containers"),
    "AmazonEKS": ("Compute", "Containers"),
    "AmazonECR": ("Compute", "Containers"),
    "AmazonECRPublic": ("Compute", "Containers"),
    "AWSAppRunner": ("Compute", "Containers"),
    "AmazonWorkSpaces": ("Compute", "End User Computing"),
    "AmazonAppStream": ("Compute", "End User Computing"),
    "AmazonBraket": ("Compute", "Quantum Compute"),
    "ComputeSavingsPlans": ("Compute", "Other (Compute)"),
    # Storage
    "AmazonS3": ("Storage", "Object Storage"),
    "AmazonGlacier": ("Storage", "Object Storage"),
    "AmazonS3GlacierDeepArchive": ("Storage", "Object Storage"),
    "AmazonEBS": ("Storage", "Block Storage"),
    "AmazonEFS": ("Storage", "File Storage"),
    "AmazonFSx": ("Storage", "File Storage"),
    "AWSBackup": ("Storage", "Backup Storage"),
    "AWSStorageGateway": ("Storage", "Storage Platforms"),
    "AWSStorageGatewayDeepArchive": ("Storage", "Storage Platforms"),
    # Databases
    "AmazonRDS": ("Databases", "Relational Databases"),
    "AmazonDynamoDB": ("Databases", "NoSQL Databases"),
    "AmazonDocDB": ("Databases", "NoSQL Databases"),
    "AmazonMCS": ("Databases", "NoSQL Databases"),
    "AmazonSimpleDB": ("Databases", "NoSQL Databases"),
    "AmazonNeptune": ("Databases", "Other (Databases)"),
    "AmazonElastiCache": ("Databases", "Caching"),
    "AmazonMemoryDB": ("Databases", "Caching"),
    "AmazonRedshift": ("Databases", "Data Warehouses"),
    "AmazonTimestream": ("Databases", "Time Series Databases"),
    "AmazonQLDB": ("Databases", "Ledger Databases"),
    # Networking
    "AWSDataTransfer": (_NET, "Network Connectivity"),
    "AWSDirectConnect": (_NET, "Network Connectivity"),
    "AWSCloudWAN": (_NET, "Network Connectivity"),
    "AmazonVPC": (_NET, "Network Infrastructure"),
    "AWSELB": (_NET, "Application Networking"),
    "AWSCloudMap": (_NET, "Application Networking"),
    "AWSAppMesh": (_NET, "Application Networking"),
    "AmazonCloudFront": (_NET, "Content Delivery"),
    "AmazonRoute53": (_NET, "Network Routing"),
    "AWSGlobalAccelerator": (_NET, "Network Routing"),
    "AWSNetworkFirewall": (_NET, "Network Security"),
    "awswaf": (_NET, "Network Security"),
    "AWSShield": (_NET, "Network Security"),
    # Analytics
    "AmazonAthena": ("Analytics", "Data Processing"),
    "AWSGlue": ("Analytics", "Data Processing"),
    "ElasticMapReduce": ("Analytics", "Data Processing"),
    "datapipeline": ("Analytics", "Data Processing"),
    "AmazonKinesis": ("Analytics", "Streaming Analytics"),
    "AmazonKinesisFirehose": ("Analytics", "Streaming Analytics"),
    "AmazonKinesisAnalytics": ("Analytics", "Streaming Analytics"),
    "AmazonMSK": ("Analytics", "Streaming Analytics"),
    "AmazonES": ("Analytics", "Search"),
    "AmazonCloudSearch": ("Analytics", "Search"),
    "AmazonQuickSight": ("Analytics", "Business Intelligence"),
    "AWSLakeFormation": ("Analytics", "Analytics Platforms"),
    "AWSDataExchange": ("Analytics", "Other (Analytics)"),
    # AI and Machine Learning
    "AmazonSageMaker": (_AI, "Machine Learning"),
    "AmazonBedrock": (_AI, "Generative AI"),
    "AmazonQ": (_AI, "Generative AI"),
    "AmazonRekognition": (_AI, "Machine Learning"),
    "AmazonTextract": (_AI, "Machine Learning"),
    "AmazonPersonalize": (_AI, "Machine Learning"),
    "AmazonForecast": (_AI, "Machine Learning"),
    "AmazonFraudDetector": (_AI, "Machine Learning"),
    "comprehend": (_AI, "Natural Language Processing"),
    "transcribe": (_AI, "Natural Language Processing"),
    "translate": (_AI, "Natural Language Processing"),
    "AmazonPolly": (_AI, "Natural Language Processing"),
    "AmazonKendra": (_AI, "Natural Language Processing"),
    "AmazonLex": (_AI, "Bots"),
    # Integration
    "AWSQueueService": ("Integration", "Messaging"),
    "AmazonSNS": ("Integration", "Messaging"),
    "AmazonMQ": ("Integration", "Messaging"),
    "AWSEvents": ("Integration", "Messaging"),
    "AmazonSES": ("Integration", "Messaging"),
    "AmazonStates": ("Integration", "Workflow Orchestration"),
    "AmazonMWAA": ("Integration", "Workflow Orchestration"),
    "AmazonSWF": ("Integration", "Workflow Orchestration"),
    "AmazonApiGateway": ("Integration", "API Management"),
    "AWSAppSync": ("Integration", "API Management"),
    "AppFlow": ("Integration", "Other (Integration)"),
    # Management and Governance
    "AmazonCloudWatch": (_MG, "Observability"),
    "AWSXRay": (_MG, "Observability"),
    "AmazonGrafana": (_MG, "Observability"),
    "AmazonPrometheus": (_MG, "Observability"),
    "AWSCloudTrail": (_MG, "Compliance"),
    "AWSConfig": (_MG, "Compliance"),
    "AWSBudgets": (_MG, "Cost Management"),
    "AWSCostExplorer": (_MG, "Cost Management"),
    "AWSBillingConductor": (_MG, "Cost Management"),
    "AWSSystemsManager": (_MG, "Endpoint Management"),
    "AWSCloudFormation": (_MG, "Architecture"),
    "AWSServiceCatalog": (_MG, "Other (Management and Governance)"),
    "AWSResilienceHub": (_MG, "Disaster Recovery"),
    "AWSElasticDisasterRecovery": (_MG, "Disaster Recovery"),
    "AWSSupportBusiness": (_MG, "Support"),
    "AWSSupportEnterprise": (_MG, "Support"),
    "AWSDeveloperSupport": (_MG, "Support"),
    "AWSBusinessSupport": (_MG, "Support"),
    # Security and identity
    "awskms": ("Security", "Secret Management"),
    "AWSSecretsManager": ("Security", "Secret Management"),
    "CloudHSM": ("Security", "Secret Management"),
    "AWSCertificateManager": ("Security", "Secret Management"),
    "AmazonGuardDuty": ("Security", "Threat Detection and Response"),
    "AmazonDetective": ("Security", "Threat Detection and Response"),
    "AWSSecurityHub": ("Security", "Security Posture Management"),
    "AmazonInspector": ("Security", "Security Posture Management"),
    "AmazonInspectorV2": ("Security", "Security Posture Management"),
    "AmazonMacie": ("Security", "Security Posture Management"),
    "AWSFMS": ("Security", "Security Posture Management"),
    "AmazonCognito": ("Identity", "Identity and Access Management"),
    "AWSDirectoryService": ("Identity", "Identity and Access Management"),
    # Internet of Things
    "AWSIoT": ("Internet of Things", "IoT Platforms"),
    "AWSGreengrass": ("Internet of Things", "IoT Platforms"),
    "IoTDeviceManagement": ("Internet of Things", "IoT Platforms"),
    "AWSIoTAnalytics": ("Internet of Things", "IoT Analytics"),
    "AWSIoTSiteWise": ("Internet of Things", "IoT Analytics"),
    # Media
    "AWSElementalMediaConvert": ("Media", "Content Creation"),
    "AWSElementalMediaLive": ("Media", "Media Streaming"),
    "AWSElementalMediaPackage": ("Media", "Media Streaming"),
    "AWSElementalMediaTailor": ("Media", "Media Streaming"),
    "AmazonIVS": ("Media", "Media Streaming"),
    "AmazonKinesisVideo": ("Media", "Media Streaming"),
    "AmazonGameLift": ("Media", "Gaming"),
    # Migration
    "AWSDatabaseMigrationSvc": ("Migration", "Data Migration"),
    "AWSDataSync": ("Migration", "Data Migration"),
    "AWSTransfer": ("Migration", "Data Migration"),
    "AWSApplicationMigrationSvc": ("Migration", "Resource Migration"),
    "AWSMigrationHubRefactorSpaces": ("Migration", "Resource Migration"),
    # Developer tools, web, business applications
    "CodeBuild": ("Developer Tools", "Continuous Integration and Deployment"),
    "AWSCodePipeline": ("Developer Tools", "Continuous Integration and Deployment"),
    "AWSCodeDeploy": ("Developer Tools", "Continuous Integration and Deployment"),
    "AWSCodeCommit": ("Developer Tools", "Source Code Management"),
    "AWSCodeArtifact": ("Developer Tools", "Other (Developer Tools)"),
    "CodeGuru": ("Developer Tools", "Quality Assurance"),
    "AWSDeviceFarm": ("Developer Tools", "Quality Assurance"),
    "AWSCloudShell": ("Developer Tools", "Development Environments"),
    "AWSCloud9": ("Developer Tools", "Development Environments"),
    "AWSAmplify": ("Web", "Application Platforms"),
    "AmazonWorkMail": ("Business Applications", "Productivity and Collaboration"),
    "AmazonWorkDocs": ("Business Applications", "Productivity and Collaboration"),
    "AmazonChime": ("Business Applications", "Productivity and Collaboration"),
    "AmazonConnect": ("Business Applications", "Other (Business Applications)"),
    "AmazonPinpoint": ("Business Applications", "Other (Business Applications)"),
}

OTHER = ("Other", "Other (Other)")


def service_category(code: Field) -> tuple[Field, Field]:
    """``(ServiceCategory, ServiceSubcategory)`` fields for a product-code field."""
    cats = " ".join(
        f"WHEN {_sql.lit(k).expr} THEN {_sql.lit(v[0]).expr}" for k, v in SERVICES.items()
    )
    subs = " ".join(
        f"WHEN {_sql.lit(k).expr} THEN {_sql.lit(v[1]).expr}" for k, v in SERVICES.items()
    )
    category = f"CASE {code.expr} {cats} ELSE {_sql.lit(OTHER[0]).expr} END"
    subcategory = f"CASE {code.expr} {subs} ELSE {_sql.lit(OTHER[1]).expr} END"
    return Field(category, code.sources), Field(subcategory, code.sources)
