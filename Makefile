# bosun: `make demo` runs bosun on examples/quickstart; `make test` runs every check.
# Both set up what they need on a fresh machine (virtual environment, Debian
# packages, engines) and are safe to run again.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: all venv engines lint typecheck test test-unit demo bench schemas clean

all: test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

engines: venv
	scripts/engines.sh all

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

test-unit: venv
	$(BIN)/pytest -m "not docker and not podman and not caddy and not dns and not browser" $(PYTEST_ARGS)

test: venv engines lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

schemas: venv
	$(BIN)/bosun schema export --out schemas
	$(BIN)/python -m reconciler.reference --write README.md

demo: venv engines
	scripts/demo.sh

bench: venv engines
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
