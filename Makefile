# The whole set-up is `make demo` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup test demo bench lint typecheck clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changed (editable install: code changes need nothing).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: setup lint typecheck
	$(BIN)/python -m pytest -n 2 -q

demo: setup
	$(BIN)/imagegen demo

bench: setup
	mkdir -p bench/results
	$(BIN)/python -m bench --json > bench/results/latest.json.tmp && mv bench/results/latest.json.tmp bench/results/latest.json
	@cat bench/results/latest.json

clean:
	rm -rf $(VENV) build out .mypy_cache .ruff_cache .pytest_cache
