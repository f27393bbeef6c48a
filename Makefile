# The whole set-up is `make demo` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
RUNTIME_STAMP := $(VENV)/.installed-runtime
# The independent policy baseline (checkov) lives in its own venv: its pins conflict with the project's.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup test demo bench bench-quick lint typecheck clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changed (editable install: code changes need nothing).
# The demo needs only the runtime dependencies; the tests add linters, type checker and hypothesis.
$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $(RUNTIME_STAMP)

$(CHECKOV_STAMP): policies/requirements-scanner.txt
	$(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r policies/requirements-scanner.txt
	touch $(CHECKOV_STAMP)

setup: $(STAMP) $(CHECKOV_STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy follows only the pulumi_aws submodules the program imports (pyproject [tool.mypy]): wrong
# argument names of AWS resources are type errors, without following all of pulumi_aws (pulumi/pulumi#6837).
typecheck: setup
	$(BIN)/mypy

# The Lambda dependency layer (build/layer/python) for linux arm64 / CPython 3.12, from
# services/requirements-lambda.txt; needs PyPI. Run before `pulumi up` (the preview never builds it).
layer: setup
	$(BIN)/python -m imagegen_platform.packaging

test: setup lint typecheck
	$(BIN)/python -m pytest -n 2 -q

demo: $(RUNTIME_STAMP)
	$(BIN)/imagegen demo

# python -m bench writes bench/results/latest.json itself, prints the table on stderr and the JSON on stdout.
bench: setup
	$(BIN)/python -m bench --json

bench-quick: setup
	$(BIN)/python -m bench --quick --json

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build out .mypy_cache .ruff_cache .pytest_cache
