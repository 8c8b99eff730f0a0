# synthgov — two commands: `make demo` and `make test` (each sets everything up first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test services browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch for the [neural] extra: pinned to the CPU build that this kind of machine keeps on disk
	# (a looser spec makes pip download a CUDA build of several GB)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,neural,postgres]'
	@touch $(STAMP)

install: $(STAMP)

## Run the main job end to end on the bundled CPS1988 table (workspace: ./.synthgov or $SYNTHGOV_HOME).
demo: $(STAMP)
	$(BIN)/synthgov demo

## PostgreSQL for the catalog's durability and concurrency tests (127.0.0.1:5432, user postgres, trust
## auth, database `test`): started where installed; installed with apt-get where it is not (root or
## sudo); trust auth for 127.0.0.1 and the `test` database added when missing. Elsewhere those tests
## fail and say so (set SYNTHGOV_SKIP_POSTGRES=1 to skip them on a machine without PostgreSQL).
services:
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	if ! command -v pg_ctlcluster >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  ( $$SUDO apt-get install -y -qq postgresql >/dev/null 2>&1 || \
	    ( $$SUDO apt-get update -qq >/dev/null 2>&1 && $$SUDO apt-get install -y -qq postgresql >/dev/null 2>&1 ) ) || \
	  echo "PostgreSQL could not be installed: the catalog's PostgreSQL tests will fail (SYNTHGOV_SKIP_POSTGRES=1 skips them)"; \
	fi; \
	if command -v pg_ctlcluster >/dev/null 2>&1; then \
	  version=$$(ls /etc/postgresql | head -n1); \
	  pg_isready -q -h 127.0.0.1 -p 5432 || $$SUDO pg_ctlcluster --skip-systemctl-redirect $$version main start || true; \
	  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then \
	    hba=/etc/postgresql/$$version/main/pg_hba.conf; \
	    $$SUDO grep -q '^host all postgres 127.0.0.1/32 trust' $$hba || \
	      $$SUDO sed -i '1i host all postgres 127.0.0.1/32 trust' $$hba; \
	    $$SUDO pg_ctlcluster --skip-systemctl-redirect $$version main reload || true; \
	    psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null 2>&1 || true; \
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
