# Clientdesk: `make run` to try it, `make test` before you push. Needs only python3 (3.11+) and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
export UV_COMPILE_BYTECODE := 1
# Nothing may be skipped in CI: a missing browser or database is an error there.
CI ?= false
export CI

.PHONY: help install run test lint test-sqlite test-postgres test-loadtest bench loadtest lock clean chromium

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

$(VENV)/.installed: requirements/dev.txt | $(UV)
	@test -x $(PY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(PY) requirements/dev.txt
	@touch $@

install: $(VENV)/.installed  ## create .venv and install the pinned dependencies

run: install  ## migrate, load demo data on first run, start web server + task worker
	@mkdir -p var
	$(PY) manage.py migrate --no-input --verbosity 0
	$(PY) manage.py seed_demo
	@echo
	@echo "  Clientdesk is starting at  http://127.0.0.1:8000"
	@echo "  Staff console:             http://127.0.0.1:8000/staff/"
	@$(PY) manage.py seed_demo --print-logins | tail -n +3
	@echo "  Emails are printed below by the worker. Ctrl-C stops both processes."
	@echo
	exec $(VENV)/bin/honcho start -f Procfile.dev

lint: install  ## ruff, formatting, mypy, import layers, migrations, deploy checks
	@mkdir -p var
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy clientdesk config
	$(VENV)/bin/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.prod SECRET_KEY=$$(printf 'x%.0s' {1..64})-check \
	  ALLOWED_HOSTS=portal.example.com SITE_URL=https://portal.example.com \
	  $(PY) manage.py check --deploy --fail-level WARNING

chromium:  ## install Debian's Chromium for the browser tests when missing
	@bash scripts/ensure-chromium.sh

test-sqlite: install chromium  ## the whole pytest suite on SQLite (with browser tests)
	$(PY) -m pytest

test-postgres: install chromium  ## the whole pytest suite on a throwaway PostgreSQL server
	$(PY) scripts/with_postgres.py -- $(PY) -m pytest

# `make loadtest`: locust against gunicorn (2 workers) on a throwaway PostgreSQL, then the data
# invariants (docs/loadtest.md). Figures land in var/bench/loadtest.json.
LOADTEST_USERS ?= 50
LOADTEST_DURATION ?= 5m

loadtest: install  ## load test: LOADTEST_USERS=50 for LOADTEST_DURATION=5m, then the invariants
	@mkdir -p var/bench
	$(PY) scripts/loadtest.py --users $(LOADTEST_USERS) --duration $(LOADTEST_DURATION) \
	  --json var/bench/loadtest.json

test-loadtest: install  ## the 1-minute load test (50 users) that `make test` runs
	@mkdir -p var/bench
	$(PY) scripts/loadtest.py --users 50 --duration 1m --json var/bench/loadtest-ci.json

test: lint test-sqlite test-postgres test-loadtest  ## everything CI runs

# `make bench`: every scenario of docs/performance.md on SQLite, then on a throwaway
# PostgreSQL, each on a freshly generated data set (BENCH_SIZE: S = 10 000 customers,
# M = a million customers with 3 M contacts, 10 M activity rows, 5 M ledger entries). Each
# figure is set beside floors measured in the same run; the JSON lands in var/bench/ and the
# tables in docs/performance.md (BENCH_DOC). `make bench BENCH_SIZE=S BENCH_RUNS=50
# BENCH_DOC=/tmp/performance.md` is a quick look that leaves the committed figures alone.
BENCH_SIZE ?= M
BENCH_RUNS ?= 200
BENCH_ROUNDS ?= 3
BENCH_ARGS ?=
BENCH_DOC ?= docs/performance.md
BENCH_ENV := DJANGO_SETTINGS_MODULE=config.settings.dev DEBUG=0
# PostgreSQL as in production: durable commits, memory sized for a million customers.
BENCH_PG_OPTIONS := -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
	-c shared_buffers=2GB -c effective_cache_size=8GB -c work_mem=16MB
BENCH_STEPS = $(PY) manage.py migrate --no-input -v0; \
	echo "== $$1: generating the $(BENCH_SIZE) data set"; \
	$(PY) manage.py generate_dataset --customers $(BENCH_SIZE) --no-progress; \
	echo "== $$1: measuring"; \
	$(PY) manage.py bench --runs $(BENCH_RUNS) --rounds $(BENCH_ROUNDS) $(BENCH_ARGS) \
	  --json var/bench/bench-$$1.json

bench: install  ## measure every hot path at scale on SQLite + PostgreSQL (BENCH_SIZE=M|S)
	@mkdir -p var/bench
	@set -euo pipefail; export $(BENCH_ENV); \
	dir=$$(mktemp -d /tmp/clientdesk-bench-XXXXXX); trap 'rm -rf "$$dir"' EXIT; \
	export DATABASE_URL=sqlite:///$$dir/db.sqlite3; \
	bash -euo pipefail -c '$(BENCH_STEPS)' bench sqlite
	@export $(BENCH_ENV) WITH_POSTGRES_OPTIONS="$(BENCH_PG_OPTIONS)"; \
	$(PY) scripts/with_postgres.py -- bash -euo pipefail -c \
	  'export DATABASE_URL="$${DATABASE_URL%/*}/postgres"; $(BENCH_STEPS)' bench postgresql
	@export $(BENCH_ENV) DATABASE_URL=sqlite:///var/bench-doc.sqlite3; \
	$(PY) manage.py bench --doc $(BENCH_DOC) \
	  --write-doc var/bench/bench-sqlite.json var/bench/bench-postgresql.json

lock:  ## re-pin requirements/*.txt from pyproject.toml (with hashes)
	$(UV) pip compile pyproject.toml --generate-hashes --no-header --python-version 3.11 -o requirements/base.txt
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --no-header --python-version 3.11 -o requirements/dev.txt

clean:  ## remove the virtualenv, tool env and local data
	rm -rf $(VENV) $(TOOLS) var
