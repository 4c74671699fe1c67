# The two commands a newcomer needs: `make run` (the whole stack) and `make test` (every check).
# Both install what they need first, into ./.venv; re-running them is cheap and idempotent.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install lint format typecheck imports unit test run clean

help:
	@echo "make run   - start the whole stack on the embedded default (not available yet, see README)"
	@echo "make test  - install everything, then lint, type-check, check import rules and run all tests"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports --no-cache

unit: install
	$(BIN)/pytest

test: lint typecheck imports unit

run: install
	@echo "make run: the 1Click stack (devnet, API, worker) is not built yet."
	@echo "Today the repository holds the nearintents protocol library; 'make test' checks it."
	@exit 1

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis src/*.egg-info
