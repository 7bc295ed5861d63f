"""Get, stop, logs and delete operators through real Airflow; the extra link; logs copied once per line."""

from __future__ import annotations

from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook
from ovhcloud_ai_provider.hooks.log_tail import LogTailer
from ovhcloud_ai_provider.links.ai_training import OVHCloudAITrainingJobLink
from tests.dagrun import load_dag, run_dag, task_states, xcom

DAGS = "tests/dags/training_dags.py"


def test_get_stop_logs_delete(af):
    job = OVHCloudAITrainingHook().submit_job(
        image="ubuntu:22.04", labels={"emulator-scenario": "long_queue"}, env_vars=[{"name": "K", "value": "v-secret"}]
    )
    run = run_dag(DAGS, "ovhai_test_job_admin", run_conf={"job_id": job["id"]})
    assert task_states(run) == {"get": "success", "stop": "success", "logs": "success", "delete": "success"}
    got = xcom(run, "get")
    assert got["id"] == job["id"] and got["spec"]["envVars"] == [{"name": "K", "value": "***"}]
    assert "[ovh]" in xcom(run, "logs")
    accounting = af.accounting()
    assert accounting["jobs"]["killed"] == 1 and accounting["jobs"]["deleted"] == 1


def test_job_reference_lineage_of_admin_operators(af):
    from ovhcloud_ai_provider.operators.ai_training import OVHCloudAITrainingGetJobOperator

    job = OVHCloudAITrainingHook().submit_job(image="ubuntu:22.04")
    operator = OVHCloudAITrainingGetJobOperator(task_id="get", job_id=job["id"])
    operator.execute({})
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == [] and lineage.outputs == []
    assert lineage.run_facets["externalQuery"].externalQueryId == job["id"]
    assert lineage.run_facets["ovhAi_trainingJob"].jobId == job["id"]


def test_extra_link_points_at_the_job_page(af):
    """Airflow 3 computes links on the worker when the task ends and stores them for the UI: read that."""
    run = run_dag(DAGS, "ovhai_test_submit_deferred")
    job_id = xcom(run, "submit")["id"]
    link = OVHCloudAITrainingJobLink()
    assert xcom(run, "submit", key=link.xcom_key) == f"https://ui.gra.ai.cloud.ovh.net/job/{job_id}"
    operator = load_dag(DAGS, "ovhai_test_submit_deferred").get_task("submit")
    assert [type(x) for x in operator.operator_extra_links] == [OVHCloudAITrainingJobLink]


def test_job_log_lines_reach_the_task_log_once(af, capfd):
    run = run_dag(DAGS, "ovhai_test_submit_sync", run_conf={"run_seconds": "4"})
    assert task_states(run) == {"submit": "success"}
    copied = [line for line in capfd.readouterr().out.splitlines() if "[ovh job " in line]
    texts = [line.split("[ovh job ", 1)[1] for line in copied]
    assert any("Job status is now RUNNING" in t for t in texts)
    assert any("epoch" in t for t in texts), texts
    assert len(texts) == len(set(texts)), "a job log line was copied twice"


def test_log_tailer_skips_what_it_already_printed():
    tailer = LogTailer()
    first = "2026-01-01T00:00:01Z a\n2026-01-01T00:00:02Z b\n2026-01-01T00:00:02Z c\n"
    assert tailer.new_lines(first) == ["2026-01-01T00:00:01Z a", "2026-01-01T00:00:02Z b", "2026-01-01T00:00:02Z c"]
    # The next poll's window overlaps the first and adds a line stamped at the same second, then a later one.
    second = "2026-01-01T00:00:02Z b\n2026-01-01T00:00:02Z c\n2026-01-01T00:00:02Z d\n2026-01-01T00:00:03Z e\n"
    assert tailer.new_lines(second) == ["2026-01-01T00:00:02Z d", "2026-01-01T00:00:03Z e"]
    assert tailer.new_lines(second) == []
    restored = LogTailer.from_state(tailer.to_state())
    assert restored.new_lines(second + "2026-01-01T00:00:04Z f\n") == ["2026-01-01T00:00:04Z f"]
