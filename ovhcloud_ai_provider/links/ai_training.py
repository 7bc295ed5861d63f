"""Extra link from a task to its AI Training job's page in the OVHcloud UI.

Airflow 3 computes links on the worker when the task finishes and reads them from XCom afterwards, so the
operators push the job's ``infoUrl`` right after submit, before deferring.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

XCOM_JOB_URL_KEY = "ovh_job_url"
XCOM_JOB_ID_KEY = "ovh_job_id"


class OVHCloudAITrainingJobLink(BaseOperatorLink):
    name = "OVHcloud AI Training job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        url = XCom.get_value(key=XCOM_JOB_URL_KEY, ti_key=ti_key)
        return str(url) if url else ""


def persist_job_link(context: Any, job: dict[str, Any]) -> None:
    """Push the job id and page URL to XCom (what the link and users need), never failing the task."""
    ti = context.get("ti") if hasattr(context, "get") else None
    if ti is None:
        return
    status = job.get("status") or {}
    try:
        ti.xcom_push(key=XCOM_JOB_ID_KEY, value=job.get("id"))
        if status.get("infoUrl"):
            ti.xcom_push(key=XCOM_JOB_URL_KEY, value=status["infoUrl"])
    except Exception as exc:  # an XCom backend hiccup must not lose a submitted job
        import structlog

        structlog.get_logger(__name__).warning("training_job.link_not_saved", error=str(exc))
