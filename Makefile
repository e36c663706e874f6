# ToteTaxi — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
HOST  ?= 127.0.0.1
PORT  ?= 8000

# A Python ≥ 3.12 from the machine: $PYTHON, pyenv's (per .python-version), or python3.13/3.12/python3 on PATH.
BASE_PYTHON := $(shell bin/find-python)

.PHONY: demo test venv install install-dev migrate lint bench serve clean prod-check

$(PY):
	@test -n "$(BASE_PYTHON)" || { echo "No Python >= 3.12 found: install one (pyenv install 3.12) or set PYTHON=/path/to/python3.12"; exit 1; }
	$(BASE_PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

venv: $(PY)

# Reinstall only when pyproject.toml changes (stamp files).
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	DEBUG=1 $(PY) manage.py migrate --noinput

# The server's and the consumer's own output goes to log files under var/ (their paths are printed), so the
# last thing on screen is what a new user needs: the addresses and the staff logins, printed once the
# server answers. Both run in the background and stop together on Ctrl+C.
DEMO_LOGS := --log 'Request log=var/demo-server.log' --log 'Job log=var/demo-jobs.log'
demo: install migrate
	@command -v tesseract >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng; } || \
	  echo "tesseract unavailable: scanned COIs will go to manual review"
	DEBUG=1 $(PY) manage.py loaddata catalog email_templates
	DEBUG=1 $(PY) manage.py seed_demo --seed 2027
	@mkdir -p var
	@echo "Starting the server on $(HOST):$(PORT) and a Huey consumer…"
	@DEBUG=1 $(PY) manage.py run_huey --quiet >var/demo-jobs.log 2>&1 & HUEY_PID=$$!; \
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT) >var/demo-server.log 2>&1 & SERVER_PID=$$!; \
	trap 'kill $$SERVER_PID $$HUEY_PID 2>/dev/null; wait' EXIT; trap 'exit 0' INT TERM; \
	DEBUG=1 $(PY) manage.py demo_login --host '$(HOST)' --port '$(PORT)' --wait 60 --pid $$SERVER_PID $(DEMO_LOGS) \
		|| { tail -n 20 var/demo-server.log; exit 1; }; \
	wait $$SERVER_PID

# Two workers: these machines have 2 cores (each worker gets its own test database).
TEST_WORKERS ?= 2
test: install-dev
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install-dev
	$(PY) -m ruff check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

# Benchmarks (not tests): each prints ratios against a baseline measured in the same run.
# api/export/admin need PostgreSQL (DATABASE_URL or the local default postgres://postgres@127.0.0.1:5432).
BENCHES ?= api webhooks export admin documents reports logistics load
bench: install-dev
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit 1; done

# The production shape without containers (README "Production"): DEBUG=0, gunicorn + one Huey consumer on
# PostgreSQL and Redis ($DATABASE_URL's server, $REDIS_URL), checked over HTTP; cleans up after itself.
prod-check: install-dev
	$(PY) bin/prod-check

clean:
	rm -rf $(VENV) db.sqlite3* var staticfiles test-artifacts
