# Two commands set everything up on a fresh clone: `make run` and `make test`.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
DEV := COMPLIANCE_ENV=development FLASK_APP=wsgi

.PHONY: run test test-sqlite test-postgres lint install migrate demo bench crash-test load-test audit-deps clean chromium

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is required") if sys.version_info < (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(DEV) $(FLASK) db upgrade

demo: migrate
	$(DEV) $(FLASK) demo load

# The web server and one worker (email, periodic jobs) together; stopping one stops both.
run: demo
	@$(DEV) $(FLASK) demo logins
	@$(DEV) $(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(DEV) $(FLASK) run --host 127.0.0.1 --port 5000

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/bandit -q -r compliance workflows wsgi.py

# The browser tests drive Debian's Chromium (Playwright never downloads a browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

chromium: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium

# The whole suite on SQLite and, side by side on the other core, the database tests again on
# a throwaway PostgreSQL database (browser tests once: what they add over the page tests is
# the browser, not the database). Each run keeps its own pytest cache and prints its output
# whole when it ends.
test: lint chromium
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: install chromium
	$(PY) -m pytest

test-postgres: install
	scripts/with-test-postgres $(PY) -m pytest -m "db and not browser" -q -o cache_dir=.pytest_cache/postgres

# The load benchmark drives gunicorn with Debian's wrk (wrk2 is not packaged).
WRK := /usr/bin/wrk

$(WRK):
	$(SUDO) apt-get install -y -qq wrk || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk)

# Rules micro-benchmark, the API under load on PostgreSQL (a throwaway database) and SQLite,
# then the prescriber worklist at 100,000 patients on PostgreSQL (bench/README.md).
bench: install $(WRK)
	$(PY) bench/bench_rules.py
	scripts/with-test-postgres $(PY) bench/bench_api.py
	scripts/with-test-postgres $(PY) bench/bench_worklist.py --no-sqlite

# SIGKILL of gunicorn workers and PostgreSQL backends, 20 times, during RMA and dispense
# traffic; then no acknowledged answer may be missing or half-written (bench/crash_test.py).
# A killed backend restarts every connection of the local cluster: run it alone.
crash-test: install
	scripts/with-test-postgres $(PY) bench/crash_test.py

# 200 connections asking for RMAs for 10 minutes: p95, failures, and the crash test's
# integrity checks afterwards (bench/load_test.py, bench/README.md).
load-test: install $(WRK)
	scripts/with-test-postgres $(PY) bench/load_test.py

# Known advisories in every installed package. It asks PyPI's JSON API over the network, so
# it is not part of `make test` (the tests use no network); --strict fails when a package
# could not be checked, rather than passing on what it never saw.
audit-deps: install
	$(VENV)/bin/pip-audit --strict --skip-editable

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
