# Two commands set everything up from nothing: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast cypher-check schema bench fuzz soak test-dgl clean sampling

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
	$(BIN)/python -m bench.report bench/results.json --update BENCHMARKS.md

# torch-scatter and torch-sparse publish no wheels for torch 2.13, so pip
# compiles them against the installed torch (about 10 minutes on two cores;
# pip caches the wheels). Without build isolation the build sees that torch.
# The pins are those of the `sampling` extra in pyproject.toml.
sampling: $(STAMP)
	$(BIN)/python -m pip install --no-build-isolation torch-scatter==2.1.2 torch-sparse==0.6.18 pygod==1.1.0

# The long reader fuzz run; `make test` runs a short one. Failing inputs land in out/fuzz.
FUZZ_MINUTES ?= 10
fuzz: $(STAMP)
	$(BIN)/python -m bench.fuzz --minutes $(FUZZ_MINUTES) --out out/fuzz

# Load and soak test of the API on 127.0.0.1 with a worker scoring; not part of `make test`.
SOAK_MINUTES ?= 5
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES) --out out/soak

# DGL 2.1.0, the newest DGL wheel for Python 3.11, runs only with torch <= 2.2.1
# and numpy < 2, so it gets its own environment. The project goes in without its
# torch pin; its other dependencies and the `dgl` and `dev` extras are read
# from pyproject.toml, so the two environments do not drift apart.
DGL_VENV ?= .venv-dgl
DGL_BIN := $(DGL_VENV)/bin
DGL_STAMP := $(DGL_VENV)/.installed
DGL_TORCH := 2.2.1

$(DGL_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DGL_VENV)
	$(DGL_BIN)/python -m pip install --quiet --upgrade pip
	$(DGL_BIN)/python -c "import re, tomllib; project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	extras = project['optional-dependencies']; \
	print('\n'.join(r for r in project['dependencies'] + extras['dgl'] + extras['dev'] if re.split('[^A-Za-z0-9._-]', r)[0] != 'torch'))" \
	    > $(DGL_VENV)/requirements.txt
	$(DGL_BIN)/python -m pip install --progress-bar off torch==$(DGL_TORCH) -r $(DGL_VENV)/requirements.txt
	$(DGL_BIN)/python -m pip install --quiet --no-deps -e .
	$(DGL_BIN)/python -c "import torch, dgl; print('$(DGL_VENV): torch', torch.__version__, 'dgl', dgl.__version__); \
	raise SystemExit(None if torch.__version__.split('+')[0] == '$(DGL_TORCH)' else 'expected torch $(DGL_TORCH)')"
	touch $(DGL_STAMP)

test-dgl: $(DGL_STAMP)
	$(DGL_BIN)/python -m pytest -q -m dgl tests/dgl

clean:
	rm -rf $(VENV) $(DGL_VENV) .pytest_cache demo-out
