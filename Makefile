# Two commands for a newcomer: `make run` and `make test`. Everything else is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DASHBOARD := frontend/dist/index.html
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html \
	frontend/package.json frontend/vite.config.ts frontend/tsconfig.json

.PHONY: run test bench lint install chromium clean-data

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $@

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

$(DASHBOARD): frontend/node_modules/.package-lock.json $(FRONTEND_SOURCES)
	cd frontend && npm run build

install: $(STAMP) $(DASHBOARD)

## run: the whole system with simulated feeds (embedded PostgreSQL and Redis unless configured)
run: install
	$(BIN)/ioc run

## test: the test suite against real PostgreSQL and Redis, and the dashboard in Chromium
test: install chromium
	$(BIN)/pytest

## bench: every benchmark (ingest, areas, live, history, time machine, situations, frames) and the fault counts
bench: install chromium
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.assign
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.history
	$(BIN)/python -m bench.timemachine
	$(BIN)/python -m bench.situations
	$(BIN)/python -m bench.frames
	IOC_FAULTS_REPORT=bench/results/faults.json $(BIN)/pytest -q -s tests/ioc/test_fault_*.py

## lint: ruff, mypy (strict) and the TypeScript type-check
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	cd frontend && npm run check

# Debian's Chromium drives the browser tests; no test tool ever downloads a browser.
chromium:
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## clean-data: forget the embedded servers' data (stop `make run` first)
clean-data:
	rm -rf .ioc-data
