# synthgov — two commands: `make demo` and `make test` (each sets everything up first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test services browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## Run the main job end to end on the bundled CPS1988 table (workspace: ./.synthgov or $SYNTHGOV_HOME).
demo: $(STAMP)
	$(BIN)/synthgov demo

## Start the local services the integration tests use, where this machine has them (PostgreSQL).
services:
	@if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  if command -v pg_ctlcluster >/dev/null 2>&1; then \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start || true; \
	  fi; \
	fi

## Headless Chromium for the report's browser test: Debian's package, installed where apt-get can
## (root or sudo); elsewhere the browser test skips and says why.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ( $$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    ( $$SUDO apt-get update -qq >/dev/null 2>&1 && $$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 ) ) || \
	  echo "chromium could not be installed: the browser test will skip"; \
	fi

## Install, start services, run the whole suite (unit, integration, doctests).
test: $(STAMP) services browser
	$(BIN)/python -m pytest

## Benchmarks (not part of the test suite): see benchmarks/README in RESULTS.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_copula.py

clean:
	rm -rf $(VENV) .synthgov .pytest_cache .hypothesis build dist src/*.egg-info
