# The two commands a newcomer needs: `make run` (the whole stack) and `make test` (every check).
# Both install what they need first: the Python venv in ./.venv, the npm packages (anvil, the 1Click
# TypeScript SDK) in ./node_modules, and, for `make test`, the PostgreSQL server binaries (with
# apt-get, when missing). Re-running them is cheap and idempotent: only changed inputs redo work.

PYTHON ?= python3
NPM    ?= npm
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: help install venv npm postgres chromium lint format typecheck imports unit test run bench clean

help:
	@echo "make run   - start the whole stack (devnet, 1Click API on :8080, worker) in ./.oneclick"
	@echo "make test  - install everything, then lint, type-check, check import rules and run all tests"
	@echo "make bench - run the benchmarks in bench/ (a few minutes)"

# --- installing ---------------------------------------------------------------------------------

$(STAMP): pyproject.toml
	@echo "==> Python: installing into $(VENV) (pyproject.toml changed or first run)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# Exact versions from package-lock.json. --ignore-scripts: anvil's binary comes in its per-platform
# package (@foundry-rs/anvil-linux-amd64, ...) and needs no install script.
$(NPM_STAMP): package.json package-lock.json
	@command -v $(NPM) >/dev/null || { echo "npm not found: install node 20 and npm" >&2; exit 1; }
	@echo "==> npm: installing node_modules (package-lock.json changed or first run)"
	$(NPM) ci --no-audit --no-fund --ignore-scripts
	@touch $(NPM_STAMP)

venv: $(STAMP)

npm: $(NPM_STAMP)

# Checks every time (instant when present); installs Debian's postgresql with apt-get if missing.
postgres:
	@bash scripts/ensure-postgres >/dev/null

# The /track page test drives headless Chromium; installs Debian's chromium with apt-get if missing.
chromium:
	@bash scripts/ensure-chromium >/dev/null

install: venv npm postgres

# --- checking -----------------------------------------------------------------------------------

lint: venv
	@echo "==> lint"
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: venv
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

typecheck: venv
	@echo "==> typecheck"
	$(BIN)/mypy

imports: venv
	@echo "==> import rules"
	$(BIN)/lint-imports --no-cache

# ONECLICK_PG_BIN tells tests/conftest.py where the PostgreSQL binaries are (the same directory
# scripts/ensure-postgres found or installed), so `make test` and the fixture always agree.
unit: venv npm postgres chromium
	@echo "==> pytest"
	@pg_bin="$$(bash scripts/ensure-postgres)" && chromium_bin="$$(bash scripts/ensure-chromium)" && \
		ONECLICK_PG_BIN="$$pg_bin" ONECLICK_CHROMIUM="$$chromium_bin" $(BIN)/pytest

test: install lint typecheck imports unit

# --- running ------------------------------------------------------------------------------------

# `oneclick up`: the devnet, the API on :8080 and a worker, state in ./.oneclick (Ctrl-C stops
# everything; running it again resumes). Extra options: make run UP_ARGS="--port 9000".
run: venv npm
	$(BIN)/oneclick up $(UP_ARGS)

# Benchmarks (not part of make test): prints a table, saves bench/results/<timestamp>.json (and .md).
# HTTP is measured with wrk, installed with apt-get when missing (scripts/ensure-wrk).
bench: venv npm postgres
	@bash scripts/ensure-wrk >/dev/null
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis src/*.egg-info
