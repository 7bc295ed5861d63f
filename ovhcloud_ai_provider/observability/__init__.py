"""Observability for the OVHcloud AI provider: metrics catalog and delivery, pricing, logging helpers.

Importing this package is cheap on purpose (the HTTP client imports it on every call path):
``prometheus_client`` is imported only when a sink is built, and Airflow is never imported here.

* :mod:`.catalog`   every metric family (names, types, labels, buckets)
* :mod:`.metrics`   the recording API: ``record_http_attempt``, ``record_llm_usage``,
  ``record_training_job_finished``, ``record_training_job_state``, ``flush``
* :mod:`.context`   ``task_observability(context)`` and ``current_task_labels()``
* :mod:`.delivery`  ``off`` / ``multiprocess`` / ``pushgateway`` modes
* :mod:`.exporter`  the per-host ``/metrics`` server over ``PROMETHEUS_MULTIPROC_DIR``, with folding
* :mod:`.pricing`   price catalog and cost estimates
* :mod:`.logging`   ``get_logger``, ``register_secret``, ``log_prompts_enabled``, event names
"""
