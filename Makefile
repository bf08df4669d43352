# errkit: the two commands a new user types.
#   make demo  - set up .venv, generate the synthetic faces, train and evaluate ERR-Net
#   make test  - set up .venv, run the test suite and the docstring examples, build the docs
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.errkit-installed
DEMO_CONFIG ?= configs/errnet_synthetic.py

.PHONY: venv demo test test-fast docs plugins clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

$(STAMP): $(BIN)/python pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(BIN)/python -m pip install -q -e ".[dev]"
	@for p in plugins/*/; do [ -f $$p/pyproject.toml ] && $(BIN)/python -m pip install -q -e $$p || true; done
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/python tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo
	$(BIN)/python tools/test.py $(DEMO_CONFIG) work_dirs/demo/last_checkpoint --work-dir work_dirs/demo --show-dir work_dirs/demo/vis

test: venv
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --doctest-modules errkit
	$(MAKE) docs

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow"
	$(BIN)/python -m pytest -q --doctest-modules errkit

docs: venv
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build work_dirs .pytest_cache
