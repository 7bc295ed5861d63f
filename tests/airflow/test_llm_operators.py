"""The AI Endpoints operators through real Airflow: mapped chat completions, batched embeddings, usage XCom."""

from __future__ import annotations

from tests.dagrun import run_dag, task_states, xcom

EXAMPLE = "examples/example_ovhcloud_ai_llm.py"


def test_example_llm_pipeline(af):
    run = run_dag(EXAMPLE, "ovhcloud_ai_llm_pipeline")
    states = task_states(run)
    assert states == {
        "answer_question[0]": "success",
        "answer_question[1]": "success",
        "answer_question[2]": "success",
        "embed_documents": "success",
        "usage_report": "success",
    }
    truth = af.accounting()
    chat_tokens = truth["tokens"]["Mistral-7B-Instruct-v0.3"]
    embed_tokens = truth["tokens"]["bge-multilingual-gemma2"]
    mapped_usage = [xcom(run, "answer_question", key="usage", map_index=i) for i in range(3)]
    assert sum(u["total_tokens"] for u in mapped_usage) == chat_tokens["total"]
    assert all(u["requests"] == 1 for u in mapped_usage)
    embed_usage = xcom(run, "embed_documents", key="usage")
    assert embed_usage["total_tokens"] == embed_tokens["total"]
    assert embed_usage["requests"] == 5  # 300 texts in batches of 64
    embeddings = xcom(run, "embed_documents")
    assert [item["index"] for item in embeddings["data"]] == list(range(300))
    report = xcom(run, "usage_report")
    assert report["total_tokens"] == chat_tokens["total"] + embed_tokens["total"]
    assert report["requests"] == truth["requests"]["total"]
    answer = xcom(run, "answer_question", map_index=1)
    assert answer["choices"][0]["message"]["content"]


def test_streamed_chat_and_usage_on_failure(af):
    # The embeddings' third batch fails for good: the task fails, yet the usage of the first two is in XCom.
    af.faults.error(status=400, skip=2, path_prefix="/v1/embeddings")
    run = run_dag("tests/dags/llm_dags.py", "ovhai_test_llm_calls")
    streamed = xcom(run, "chat_streamed")
    assert streamed["object"] == "chat.completion" and streamed["usage"]["total_tokens"] > 0
    assert xcom(run, "chat_streamed", key="usage")["total_tokens"] == streamed["usage"]["total_tokens"]
    assert task_states(run)["embed"] == "failed"
    usage = xcom(run, "embed", key="usage")
    assert usage["requests"] == 2
    assert usage["total_tokens"] == af.accounting()["tokens"]["BGE-M3"]["total"] > 0
