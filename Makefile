# The README's two commands are `make demo` and `make test`; both install first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The venv's tools first, so `dbt` and `dagster` resolve to the locked ones with no venv activated.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DO_NOT_TRACK := 1
# Two workers: the CI machine has two cores. Tests are handed out two at a time, so the heavy
# modules the conftest puts first are shared by both workers (see `heavy` in pyproject.toml).
PYTEST_ARGS ?= -n 2 --maxschedchunk 2

.PHONY: install demo test lint ui receiver bench bench-peers clean audit lock

MANIFEST := dbt/target/manifest.json
DBT_SOURCES := dbt/dbt_project.yml dbt/profiles.yml $(shell find dbt/models dbt/tests dbt/macros -type f 2>/dev/null)

install: $(VENV)/.installed $(MANIFEST)

# Everything from the lock (exact versions CI tested), then the project itself without deps.
# uv installs the lock in well under a minute where pip takes many (README, Development):
# a uv on PATH is used, else the lock's own uv pin is put in the venv with pip; when uv
# cannot be had, pip installs the same lock. Either way requirements.lock decides.
PIP := $(BIN)/python -m pip --disable-pip-version-check
UV_PIN := $(shell grep -m1 '^uv==' requirements.lock)
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@if { command -v uv >/dev/null 2>&1 || $(PIP) install --quiet "$(UV_PIN)"; } && \
		uv pip install --quiet --python $(BIN)/python "pip>=24" -r requirements.lock && \
		uv pip install --quiet --python $(BIN)/python --no-deps -e . ; then \
		echo "installed requirements.lock with $$(uv --version)"; \
	else \
		echo "uv not available: installing requirements.lock with pip" && \
		$(PIP) install --quiet --upgrade "pip>=24" && \
		$(PIP) install --quiet -r requirements.lock && \
		$(PIP) install --quiet --no-deps -e . ; \
	fi
	# A pin in pyproject.toml that the lock does not satisfy (a Dependabot bump) fails here.
	$(PIP) check
	touch $@

# dagster-dbt reads the manifest when the code location loads; it is built here, never committed.
$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	$(BIN)/dbt parse --quiet --project-dir dbt --profiles-dir dbt

demo: install
	$(BIN)/wareader demo

test: install lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Webserver and daemon on the local instance (dagster.yaml written by `wareader init`).
ui: install
	$(BIN)/wareader init
	$(BIN)/dagster dev -w workspace.yaml

bench: install
	$(BIN)/python -m benchmarks.ingest_and_clean --sizes 10000,100000

# The export parser against whatstk and chat-miner, which live in their own environment
# (benchmarks/requirements-peers.lock), never in the project's.
BENCH_VENV := .venv-bench
bench-peers: install
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock -r benchmarks/requirements-peers.lock
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BENCH_VENV)/bin/python -m benchmarks.export_parsers

# pip-audit over the lock; exit 2 (and "AUDIT NOT DONE") when no vulnerability service answers.
audit: install
	$(BIN)/python -m tools.audit_lock --lock requirements.lock

# The one lock command: resolve pyproject.toml (all extras) in a scratch venv and pin everything.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,ops]"
	.lock-venv/bin/python -m pip freeze --exclude-editable > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(BENCH_VENV) data .dagster_home dbt/target dbt/logs
