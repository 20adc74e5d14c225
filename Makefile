# Two commands set everything up from nothing: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast cypher-check schema bench test-dgl clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/iotgraph demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

cypher-check:
	bash tools/cypher-check/run.sh

schema: $(STAMP)
	$(BIN)/iotgraph schema > api/schema.graphql

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache demo-out
