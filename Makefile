# Safari Auto — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SCALE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
SCALE_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint install install-dev browser bench clean fuzz fuzz-pg load chaos soak

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: the whole system on the embedded default (SQLite) in demo mode, DEBUG off, on 127.0.0.1:3010
run: install
	mkdir -p -m 700 data && chmod 700 data  # the database, owner-only
	DEMO=$${DEMO:-1} $(PY) manage.py migrate --noinput
	DEMO=$${DEMO:-1} $(PY) manage.py collectstatic --noinput -v 0
	DEMO=$${DEMO:-1} $(PY) manage.py ensure_admin
	DEMO=$${DEMO:-1} $(PY) manage.py sora import sora/fixtures/trilogies.json || true
	DEMO=$${DEMO:-1} bin/run-all

## browser: Debian's Chromium for the dashboard tests (needs root and apt-get)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium missing: install Debian's chromium package (browser tests need it)"; fi; \
	fi

lint: install-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

## test: the whole suite, with coverage (subprocesses included) and an 80 % floor per app
test: install-dev browser
	rm -f .coverage .coverage.*
	$(PY) -m coverage run -m pytest tests
	@if $(PY) -m tests.services_up; then \
	  echo "== unit and integration tests again on the scale profile (Postgres + Redis), 12 h ahead =="; \
	  DATABASE_URL=$(SCALE_DATABASE_URL) REDIS_URL=$(SCALE_REDIS_URL) TEST_CLOCK_SHIFT_HOURS=12 \
	    $(PY) -m coverage run -m pytest tests/unit tests/integration; \
	elif [ "$${CI:-}" = "true" ]; then \
	  echo "Postgres or Redis is down: the scale profile must run in CI"; exit 1; \
	else echo "Postgres/Redis not reachable: scale-profile run skipped"; fi
	$(PY) -m coverage combine -q
	$(PY) -m coverage report --skip-covered --sort=cover | tail -n 25
	$(PY) .ci/coverage_gate.py

## fuzz: the long API fuzz run on SQLite (FUZZ_CASES per route and mode, new cases each run)
FUZZ_CASES ?= 200
FUZZ_SEED ?= random
FUZZ_PG ?= postgres://postgres@127.0.0.1:5432/test
fuzz: install-dev
	FUZZ_CASES=$(FUZZ_CASES) FUZZ_SEED=$(FUZZ_SEED) $(PY) -m pytest tests/fuzz -q -s

## fuzz-pg: the same run on Postgres (the scale profile's database)
fuzz-pg: install-dev
	DATABASE_URL=$(FUZZ_PG) DATABASE_TEST_NAME=test_fuzz FUZZ_CASES=$(FUZZ_CASES) \
	  FUZZ_SEED=$(FUZZ_SEED) $(PY) -m pytest tests/fuzz -q -s

## bench: the benchmarks (not part of `make test`); figures land in bench-results/
BENCH_PG := postgres://postgres@127.0.0.1:5432/bench
bench: install-dev
	mkdir -p bench-results
	rm -f bench-results/*.sqlite3*
	SQLITE_PATH=bench-results/bench.sqlite3 $(PY) manage.py bench scheduler
	SQLITE_PATH=bench-results/crm-bench.sqlite3 $(PY) manage.py bench crm
	SQLITE_PATH=bench-results/dm-bench.sqlite3 $(PY) manage.py bench dm
	SQLITE_PATH=bench-results/dashboard-bench.sqlite3 $(PY) manage.py bench dashboard --scale
	@if $(PY) -m tests.services_up; then \
	  psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS bench WITH (FORCE)"; \
	  psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE bench"; \
	  redis-cli -h 127.0.0.1 -n 1 flushdb >/dev/null; \
	  DATABASE_URL=$(BENCH_PG) REDIS_URL=redis://127.0.0.1:6379/1 $(PY) manage.py bench scheduler; \
	else echo "Postgres/Redis not reachable: scale-profile bench skipped"; fi

## load: the load suite: 50 API clients for 60 s against daphne on SQLite, then on Postgres +
## Redis (a database of its own; LOAD_POSTGRES_URL, LOAD_REDIS_URL); figures in bench-results/
LOAD_REDIS_URL ?= redis://127.0.0.1:6379/0
load: install-dev
	@if $(PY) -m tests.services_up; then profile=both; \
	else echo "Postgres/Redis not reachable: SQLite only"; profile=sqlite; fi; \
	LOAD_REDIS_URL=$(LOAD_REDIS_URL) $(PY) manage.py load --clients 50 --seconds 60 --profile $$profile

## chaos: every fault of the chaos suite CHAOS_TIMES times (docs/RELIABILITY.md)
CHAOS_TIMES ?= 20
chaos: install-dev
	$(PY) manage.py chaos --times $(CHAOS_TIMES)

## soak: SOAK_MINUTES of mixed work in demo mode, memory sampled (docs/RELIABILITY.md)
SOAK_MINUTES ?= 30
soak: install-dev
	$(PY) manage.py soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) data .coverage .coverage.* htmlcov artifacts bench-results
