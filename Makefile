# Two commands for a new user: `make run` and `make test` (see README.md).
# Everything installs into .venv and frontend/node_modules; nothing global but the
# Debian packages the tests need (Chromium), installed only when missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
NPM ?= npm
FRONTEND_SOURCES := $(shell find frontend/src frontend/public frontend/scripts frontend/index.html frontend/vite.config.js -type f 2>/dev/null)

.PHONY: run test test-backend test-frontend lint bench worker migrate clean system-test-deps system-bench-deps screenshots lock upgrade

run: $(VENV)/.runtime frontend/dist/index.html
	$(PY) -m app serve

migrate: $(VENV)/.runtime
	$(PY) -m app migrate

test: $(VENV)/.test frontend/node_modules/.installed frontend/dist/index.html system-test-deps
	$(MAKE) lint
	$(MAKE) test-frontend
	$(MAKE) test-backend

test-backend: $(VENV)/.test
	$(PY) -m pytest

test-frontend: frontend/node_modules/.installed
	cd frontend && $(NPM) test

lint: $(VENV)/.test frontend/node_modules/.installed
	cd frontend && $(NPM) run lint
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --no-progress .github/workflows
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench
	$(VENV)/bin/mypy app tests bench
	$(VENV)/bin/lint-imports

# Drives `python -m app serve` with wrk beside a bare ceiling app; see docs/performance.md.
bench: $(VENV)/.bench frontend/dist/index.html system-test-deps system-bench-deps
	$(PY) -m bench

# --- installs ---------------------------------------------------------------

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Exactly the locked versions, checked by hash (requirements*.lock, from `make lock`);
# the project itself on top, without resolving anything again.
$(VENV)/.runtime: pyproject.toml requirements.lock | $(VENV)/bin/python
	$(PIP) install --quiet --require-hashes -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $@

$(VENV)/.test: pyproject.toml requirements-dev.lock $(VENV)/.runtime
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	touch $@

$(VENV)/.bench: $(VENV)/.test
	touch $@

# The lock files, from pyproject.toml: `make lock` after changing a dependency (the
# pins of the others stay), `make upgrade` for the newest versions of everything.
# uv (from PyPI) resolves for every platform and Python the project supports.
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --quiet
lock upgrade: | $(VENV)/bin/python
	$(PIP) install --quiet uv
	$(UV_COMPILE) $(if $(filter upgrade,$@),--upgrade) -o requirements.lock
	$(UV_COMPILE) $(if $(filter upgrade,$@),--upgrade) --extra test --extra bench \
		-c requirements.lock -o requirements-dev.lock

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && $(NPM) ci --no-audit --no-fund
	touch $@

# The build also checks each screen's JavaScript budget and fails past it.
frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && $(NPM) run build

# Screenshots of the main screens for docs/screenshots (both languages and themes,
# 1280 px and 390 px), taken from a real server in Chromium.
screenshots: $(VENV)/.test frontend/dist/index.html system-test-deps
	$(PY) -m tests.browser.screenshots docs/screenshots

# Debian packages the tests drive for real (Chromium for the browser tests, Dovecot as
# the IMAP server); installed once, only when missing.
SYSTEM_TEST_PACKAGES := chromium:chromium dovecot:dovecot-imapd
# The load generator of `make bench`.
SYSTEM_BENCH_PACKAGES := wrk:wrk
system-bench-deps:
	@$(MAKE) --no-print-directory system-test-deps SYSTEM_TEST_PACKAGES="$(SYSTEM_BENCH_PACKAGES)"

system-test-deps:
	@missing=""; for entry in $(SYSTEM_TEST_PACKAGES); do \
		command -v $${entry%%:*} >/dev/null 2>&1 || [ -x /usr/sbin/$${entry%%:*} ] \
			|| missing="$$missing $${entry#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist .pytest_cache .mypy_cache .ruff_cache
