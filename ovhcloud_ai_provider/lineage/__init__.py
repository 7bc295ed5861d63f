"""OpenLineage support of the OVHcloud AI provider.

* :mod:`.naming`: the one place that turns volumes and models into OpenLineage ``(namespace, name)``;
* :mod:`.facets`: custom facets ``ovhAi_llmUsage``, ``ovhAi_trainingJob``, ``ovhAi_volume``, ``ovhAi_model``
  (JSON Schemas in ``schemas/``, identical to the repository's ``lineage/facets/``);
* :mod:`.operator_lineage`: ``inference_lineage`` / ``training_lineage`` behind the operators'
  ``get_openlineage_facets_on_*`` methods;
* :mod:`.hook_lineage`: ``report_inference_call`` / ``report_training_job`` for hooks used in ``@task``;
* :mod:`.assets`: the ``ovhai://`` Airflow asset URIs hook-level lineage travels in.

Importing this package imports nothing: DAG files parse without paying for lineage. See ``docs/lineage.md``.
"""
