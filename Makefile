# Two commands do all set-up on a fresh machine with Python 3.11+ and make:
#   make demo   installs into .venv, generates the demo company, runs every stage, prints a summary
#   make test   installs dev dependencies and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip
CODE    = $(wildcard src tests benchmarks scripts)

.PHONY: install dev demo test lint format check docs clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

# The dev install includes the spark extra: the Spark allocation tests run in CI (Java 17+).
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[dev,spark]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: install
	cd $(CURDIR) && $(BIN)/costline demo

test: dev
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadgroup --cov=costline.core --cov=costline.schema --cov-fail-under=90 --cov-report=term:skip-covered

lint: dev
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

format: dev
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

docs: dev
	$(BIN)/python scripts/gen_cli_docs.py

bench: dev
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache costline-demo
