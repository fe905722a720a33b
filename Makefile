# medgov: the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help setup demo serve test test-browser lint format bench openapi clean

help:
	@echo "make demo   - set up the embedded defaults with demo data and serve http://127.0.0.1:8000"
	@echo "make test   - run the test suite (browser tests run when Chromium is installed)"
	@echo "make lint   - ruff, mypy and the import-layer contracts"
	@echo "make bench  - benchmarks (see docs/benchmarks.md)"

setup:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

demo: setup
	$(RUN) medgov demo

serve: setup
	$(RUN) medgov serve

test: setup
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then \
		echo "browser tests: running against $$(command -v chromium || echo /usr/bin/chromium)"; \
		DJANGO_ALLOW_ASYNC_UNSAFE=true $(RUN) pytest $(PYTEST_ARGS); \
	else \
		echo "browser tests: SKIPPED - no Chromium installed (apt-get install -y chromium)"; \
		$(RUN) pytest -m "not browser" $(PYTEST_ARGS); \
	fi

lint: setup
	$(RUN) ruff check src tests
	$(RUN) ruff format --check src tests
	$(RUN) lint-imports
	$(RUN) mypy src
	$(RUN) medgov manage makemigrations --check --dry-run

format: setup
	$(RUN) ruff format src tests
	$(RUN) ruff check --fix src tests

openapi: setup
	$(RUN) medgov manage export_openapi > docs/openapi.json

bench: setup
	$(RUN) medgov bench --patients $${PATIENTS:-10000}

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
