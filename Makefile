# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint typecheck bench emulator clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python -q -e ".[test]"
	touch $(STAMP)

## Run the main job: the emulator, the example DAGs through real Airflow, and a summary.
demo: venv
	$(BIN)/python scripts/demo.py

## All tests (tests needing Prometheus/Pushgateway skip loudly unless OVHAI_REQUIRE_STACK=1).
test: venv
	$(BIN)/ruff check ovhcloud_ai_provider tests examples benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -p no:cacheprovider -rs $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check ovhcloud_ai_provider tests examples benchmarks scripts

typecheck: venv
	$(BIN)/mypy

bench: venv
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

emulator: venv
	$(BIN)/python -m ovhcloud_ai_provider.testing.emulator --port 8765

clean:
	rm -rf $(VENV) .demo .airflow-test
