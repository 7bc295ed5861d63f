"""Provider registration: the dict Airflow reads through the ``apache_airflow_provider`` entry point.

The connection forms are declared here (``conn-fields``, ``ui-field-behaviour``) so that Airflow 3.2+
builds them without importing our hooks.
"""

from __future__ import annotations

from typing import Any

_ENDPOINTS = "OVHcloud AI Endpoints"
_TRAINING = "OVHcloud AI Training"
_PKG = "ovhcloud_ai_provider"


def _config_option(description: str, type_: str, example: str | None, default: str | None) -> dict[str, Any]:
    return {
        "description": description,
        "version_added": "0.1.0",
        "type": type_,
        "example": example,
        "default": default,
    }


def get_provider_info() -> dict[str, Any]:
    from ovhcloud_ai_provider import __version__

    return {
        "package-name": "airflow-provider-ovhcloud-ai",
        "name": "OVHcloud AI",
        "description": "OVHcloud AI Endpoints (OpenAI-compatible LLM inference) and AI Training (GPU jobs), "
        "with Prometheus metrics, structured logs and OpenLineage.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _ENDPOINTS,
                "external-doc-url": "https://help.ovhcloud.com/csm/en-public-cloud-ai-endpoints-getting-started",
                "tags": ["ai", "llm"],
            },
            {
                "integration-name": _TRAINING,
                "external-doc-url": "https://help.ovhcloud.com/csm/en-public-cloud-ai-training-getting-started",
                "tags": ["ai", "gpu"],
            },
        ],
        "hooks": [
            {"integration-name": _ENDPOINTS, "python-modules": [f"{_PKG}.hooks.ai_endpoints"]},
            {"integration-name": _TRAINING, "python-modules": [f"{_PKG}.hooks.ai_training"]},
        ],
        "operators": [
            {"integration-name": _ENDPOINTS, "python-modules": [f"{_PKG}.operators.ai_endpoints"]},
            {"integration-name": _TRAINING, "python-modules": [f"{_PKG}.operators.ai_training"]},
        ],
        "sensors": [{"integration-name": _TRAINING, "python-modules": [f"{_PKG}.sensors.ai_training"]}],
        "triggers": [{"integration-name": _TRAINING, "python-modules": [f"{_PKG}.triggers.ai_training"]}],
        "asset-uris": [
            {
                "schemes": ["ovhai"],
                "handler": f"{_PKG}.lineage.assets.sanitize_uri",
                "factory": f"{_PKG}.lineage.assets.create_asset",
                "to_openlineage_converter": f"{_PKG}.lineage.assets.convert_asset_to_openlineage",
            }
        ],
        "extra-links": [f"{_PKG}.links.ai_training.OVHCloudAITrainingJobLink"],
        "connection-types": [
            {
                "connection-type": "ovhcloud_ai_endpoints",
                "hook-class-name": f"{_PKG}.hooks.ai_endpoints.OVHCloudAIEndpointsHook",
                "hook-name": _ENDPOINTS,
                "conn-fields": {
                    "embedding_batch_size": {
                        "label": "Embedding batch size",
                        "description": "Most inputs sent in one embeddings request (the 2 MB limit also applies).",
                        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 64},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries on 429, 502, 503, 504 and connection errors.",
                        "schema": {"type": ["integer", "null"], "minimum": 0, "default": 5},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"password": "API token", "host": "Base URL (optional)"},
                    "placeholders": {"host": "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"},
                },
            },
            {
                "connection-type": "ovhcloud_ai_training",
                "hook-class-name": f"{_PKG}.hooks.ai_training.OVHCloudAITrainingHook",
                "hook-name": _TRAINING,
                "conn-fields": {
                    "region": {
                        "label": "Region",
                        "description": "AI Training region (gra when empty); the token is bound to it.",
                        "schema": {"type": ["string", "null"], "enum": ["gra", "bhs", None]},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries of GET/PUT/DELETE on 429, 502, 503, 504 and connection errors "
                        "(job submission is never blindly re-sent).",
                        "schema": {"type": ["integer", "null"], "minimum": 0, "default": 5},
                    },
                },
                "ui-field-behaviour": {
                    # The region dropdown replaces Login (the seed's place for it, still read when the
                    # dropdown is empty, e.g. for generic or URI connections).
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"password": "AI Training token", "host": "Base URL (optional)"},
                    "placeholders": {"host": "https://gra.ai.cloud.ovh.net"},
                },
            },
        ],
        "config": {
            "ovhcloud_ai": {
                "description": "Observability of the OVHcloud AI provider.",
                "options": {
                    "metrics_mode": _config_option(
                        "How metrics leave task processes: off, multiprocess (PROMETHEUS_MULTIPROC_DIR + "
                        "ovhcloud-ai-metrics-exporter) or pushgateway (last-run gauges). Unset: multiprocess "
                        "when PROMETHEUS_MULTIPROC_DIR is set, else off.",
                        "string",
                        "multiprocess",
                        None,
                    ),
                    "pushgateway_url": _config_option(
                        "Pushgateway URL for metrics_mode = pushgateway.", "string", "http://pushgateway:9091", None
                    ),
                    "price_catalog": _config_option(
                        "Path of a JSON price catalog merged over the shipped one (estimated cost).",
                        "string",
                        "/opt/airflow/ovh-prices.json",
                        None,
                    ),
                    "lineage_datastores": _config_option(
                        "JSON map of data store alias to {type: s3|swift, endpoint, region}, correcting how "
                        "OpenLineage names volumes of custom data stores.",
                        "string",
                        '{"MYS3": {"type": "s3", "endpoint": "https://s3.gra.io.cloud.ovh.net"}}',
                        None,
                    ),
                    "log_prompts": _config_option(
                        "Log prompts and completions in llm.request.completed events.", "boolean", "False", "False"
                    ),
                },
            }
        },
    }
