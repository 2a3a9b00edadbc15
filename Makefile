# Skarbiec: `make run` serves a demo installation over HTTPS, `make test` is the whole CI.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Package and service commands need root; use sudo when not root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_USER ?= root
PG_DB ?= skarbiec
PG_URL ?= postgres://$(PG_USER)@127.0.0.1:5432/$(PG_DB)
# Extra pytest arguments, e.g. make test PYTEST_ARGS="tests/core -x"
PYTEST_ARGS ?=
# Two processes (the CI machine has 2 cores); a module's tests stay on one (shared fixtures).
PYTEST_PARALLEL ?= -n 2 --dist loadfile
RUN_ARGS ?=
# Extra `skarbiec bench` arguments, e.g. make bench BENCH_ARGS="--members 400 --seconds 30"
BENCH_ARGS ?=

.PHONY: run test lint install install-test chromium nginx pgbouncer postgres messages screenshots bench icons node-tools libreoffice

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install --quiet -e . -c constraints.txt

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]' -c constraints.txt

# Compiled translations (.mo) are built, not committed; msgfmt comes from gettext.
messages:
	@if find src/skarbiec -name '*.po' -path '*/locale/*' | grep -q .; then \
	  if ! command -v msgfmt >/dev/null; then \
	    $(SUDO) apt-get update && $(SUDO) apt-get install -y gettext; \
	  fi; \
	  $(BIN)/skarbiec compilemessages --ignore='.venv' --ignore='var' --ignore='.git'; \
	fi

run: install messages
	$(BIN)/skarbiec migrate
	$(BIN)/skarbiec demo
	$(BIN)/skarbiec run $(RUN_ARGS)

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; \
	fi

# LibreOffice Calc opens the history CSV in a Polish locale in tests/ledger/test_csv_spreadsheet.py
# (amounts must arrive as numbers, R-L5): members open it in a spreadsheet, so the test uses one.
libreoffice:
	@if ! command -v soffice >/dev/null; then \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends libreoffice-calc-nogui; \
	fi

# Test tools from the npm registry, pinned by package-lock.json: axe-core for the WCAG 2.1 AA check
# of every page and app screen (tests/e2e/test_axe.py). Not shipped with the application.
node-tools: node_modules/axe-core/axe.min.js

node_modules/axe-core/axe.min.js: package.json package-lock.json
	@if ! command -v npm >/dev/null; then \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends npm; \
	fi
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# Debian's nginx for the production-layout test (tests/operations/test_deploy_nginx.py, R-D1).
nginx:
	@if [ ! -x /usr/sbin/nginx ]; then \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends nginx; \
	fi

# Debian's PgBouncer for the transaction-pooling test (tests/operations/test_pgbouncer.py).
pgbouncer:
	@if [ ! -x /usr/sbin/pgbouncer ]; then \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends pgbouncer; \
	fi

postgres:
	@if ! command -v pg_isready >/dev/null; then \
	  echo "PostgreSQL 15 is needed for the tests: apt-get install postgresql" >&2; exit 1; \
	fi
	@if ! pg_isready -q -h 127.0.0.1; then \
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done; \
	fi
	@pg_isready -h 127.0.0.1
	@if ! psql "$(PG_URL)" -qAtc 'select 1' >/dev/null 2>&1; then \
	  if ! psql -h 127.0.0.1 -U $(PG_USER) -d postgres -qAtc 'select 1' >/dev/null 2>&1; then \
	    $(SUDO) su postgres -c "createuser -s $(PG_USER)"; \
	  fi; \
	  createdb -h 127.0.0.1 -U $(PG_USER) $(PG_DB); \
	fi

# Static gates: lint, format, types, import layers, migrations in step with the models.
lint: install-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src
	$(BIN)/lint-imports
	env -u DATABASE_URL SKARBIEC_DATA_DIR=var/test-lint $(BIN)/skarbiec makemigrations --check --dry-run

# Any pytest failure fails make, including exit code 5 ("no tests collected"). Coverage (branch)
# is gathered over both databases and checked against fail_under when the whole suite ran.
test: install-test chromium nginx pgbouncer postgres messages node-tools libreoffice lint
	env -u DATABASE_URL -u SKARBIEC_SCREENSHOTS SKARBIEC_DATA_DIR=var/test-sqlite $(BIN)/pytest $(PYTEST_PARALLEL) --cov --cov-report= --cov-fail-under=0 $(PYTEST_ARGS)
	env -u SKARBIEC_SCREENSHOTS DATABASE_URL=$(PG_URL) SKARBIEC_DATA_DIR=var/test-pg $(BIN)/pytest $(PYTEST_PARALLEL) --cov --cov-append --cov-report= --cov-fail-under=0 $(PYTEST_ARGS)
	@if [ -z "$(PYTEST_ARGS)" ]; then $(BIN)/coverage report --precision=1; fi

# Refreshes docs/screenshots from the browser tests (SQLite only). `make test` leaves them alone:
# without SKARBIEC_SCREENSHOTS=1 the tests write their screenshots to a temporary directory.
screenshots: install-test chromium messages node-tools
	env -u DATABASE_URL SKARBIEC_SCREENSHOTS=1 SKARBIEC_DATA_DIR=var/screenshots $(BIN)/pytest tests/e2e $(PYTEST_ARGS)

# The performance figures P1–P4 of SPEC §11 (README "Performance"): drops and recreates the
# database $(PG_DB)_bench, starts `skarbiec run` on it and writes benchmarks/results/.
bench: install postgres messages
	DATABASE_URL=$(PG_URL) SKARBIEC_DATA_DIR=var/bench $(BIN)/skarbiec bench --database $(PG_DB)_bench $(BENCH_ARGS)

# The app's PNG icons (PWA manifest, 192 and 512 px) drawn in chromium from the default mark,
# members/static/members/mark.svg; run after changing the mark and commit the PNGs.
icons: install-test chromium
	$(BIN)/python tools/render_icons.py
