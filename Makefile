# Two commands do all set-up on a fresh machine with Python 3.11+ and make:
#   make demo   installs into .venv, generates the demo company, runs every stage, prints a summary
#   make test   installs dev dependencies (and headless Chromium) and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip
CODE    = $(wildcard src tests benchmarks scripts)

.PHONY: install dev demo test lint format check docs clean bench browser-deps browser-deps-optional

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

# The dev install includes the spark extra (the Spark allocation tests run in CI, Java 17+) and
# the service extra (the state store tests run against SQLite and the local PostgreSQL).
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[dev,spark,service]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: install
	cd $(CURDIR) && $(BIN)/costline demo

# Headless Chromium for the browser tests (Debian chromium + chromium-driver), installed with
# apt-get only when /usr/bin/chromium or /usr/bin/chromedriver is missing; fails when it cannot.
browser-deps:
	bash scripts/browser-deps.sh

# What `make test` runs: where it cannot install (no apt-get, not root) it warns and goes on,
# and the browser tests then FAIL naming `make browser-deps`.
browser-deps-optional:
	bash scripts/browser-deps.sh --optional

test: dev browser-deps-optional
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
