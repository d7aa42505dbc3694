# IntradayJules developer entry points (GNU make). `make` or `make help` lists the targets.
# Everything runs from the repository root; all state lives in .venv/ and .local/ (both ignored).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3
UV_VERSION := 0.13.8

# --- uv: the one on PATH when it is exactly UV_VERSION, else a private copy in .local/tools ------
TOOLS_DIR := .local/tools
LOCAL_UV := $(TOOLS_DIR)/bin/uv
ifeq ($(word 2,$(shell uv --version 2>/dev/null)),$(UV_VERSION))
UV := uv
UV_DEP :=
else
UV := $(LOCAL_UV)
UV_DEP := $(LOCAL_UV)
endif

# uv uses the machine's Python 3.11+ (never downloads one) and the project environment .venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
unexport VIRTUAL_ENV

RUN := $(UV) run --no-sync
CHROMIUM ?= /usr/bin/chromium
export JULES_CHROMIUM := $(CHROMIUM)
KAFKA_LOCAL := deploy/local/kafka/kafka-local.sh
SETUP_STAMP := .local/setup.stamp
DEMO_STAMP := .local/demo.stamp
PYPROJECTS := $(wildcard pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml apps/*/pyproject.toml)
COVERAGE_XML := .local/coverage.xml

# mypy: every source tree, and every test tree that holds Python files (mypy rejects empty ones).
MYPY_SRC := $(wildcard libs/*/src services/*/src apps/*/src)
MYPY_TESTS := $(foreach d,$(wildcard libs/*/tests services/*/tests apps/*/tests tests),$(if $(shell find $(d) -name '*.py' -print -quit),$(d)))

.PHONY: paper help setup browser kafka-fetch kafka-up kafka-down kafka-status lint format unit integration \
        test demo demo-model up down bench bench-peers bench-kafka bench-models schemas reference \
        lock clean distclean FORCE

help: ## list the targets
	@echo "usage: make <target>   (PYTHON=$(PYTHON), uv $(UV_VERSION): $(UV))"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(LOCAL_UV): $(if $(filter $(UV_VERSION),$(word 2,$(shell $(LOCAL_UV) --version 2>/dev/null))),,FORCE)
	@echo "bootstrapping uv $(UV_VERSION) into $(TOOLS_DIR) with $(PYTHON)"
	$(PYTHON) -m venv $(TOOLS_DIR)
	$(TOOLS_DIR)/bin/pip install --quiet --disable-pip-version-check --force-reinstall uv==$(UV_VERSION)

FORCE:

setup: $(SETUP_STAMP) ## create/refresh .venv from uv.lock (all workspace packages + dev tools)

# Reruns when uv.lock or any pyproject.toml changes, or when .venv is gone.
$(SETUP_STAMP): uv.lock $(PYPROJECTS) $(if $(wildcard .venv/bin/python),,FORCE) | $(UV_DEP)
	$(UV) sync --locked --all-packages
	@mkdir -p $(@D) && touch $@

kafka-fetch: ## resolve the Apache Kafka broker jars from Maven Central (once)
	$(KAFKA_LOCAL) fetch

kafka-up: ## start the local Kafka broker on 127.0.0.1:9092 (no-op when running)
	$(KAFKA_LOCAL) start

kafka-down: ## stop the local Kafka broker
	$(KAFKA_LOCAL) stop

kafka-status: ## show whether the local Kafka broker runs (exit 1 when not)
	$(KAFKA_LOCAL) status

lint: $(SETUP_STAMP) ## ruff check, ruff format --check, mypy, import-linter (runs all, fails if any fails)
	@failed=""; \
	run() { echo "+ $$*"; "$$@" || failed="$$failed [$$*]"; }; \
	run $(RUN) ruff check .; \
	run $(RUN) ruff format --check .; \
	run $(RUN) mypy $(MYPY_SRC); \
	for tests in $(MYPY_TESTS); do run $(RUN) mypy "$$tests"; done; \
	run $(RUN) lint-imports; \
	if [ -n "$$failed" ]; then echo "lint failed:$$failed" >&2; exit 1; fi

format: $(SETUP_STAMP) ## ruff format, then ruff check --fix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

unit: $(SETUP_STAMP) ## pytest: everything not marked integration
	$(RUN) pytest -m "not integration"

# The report's browser test drives Debian's Chromium (package chromium) with Playwright; as root
# the target installs it with apt-get, otherwise it says what to install.
browser: ## install Debian's Chromium for the browser tests (once; apt-get, needs root)
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "the browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi

integration: $(SETUP_STAMP) kafka-fetch ## pytest: tests/integration against a real Kafka broker
	$(RUN) pytest -m integration tests/integration

test: $(SETUP_STAMP) kafka-fetch browser lint ## setup, lint, then all tests (unit + integration) with coverage: what CI runs
	$(RUN) pytest --cov --cov-report=term-missing:skip-covered --cov-report=xml:$(COVERAGE_XML)

# The demo installs what it runs: the jules CLI and the services' engines, without the trainer
# (torch) or the dev tools; --inexact leaves a full `make setup` environment as it is.
$(DEMO_STAMP): uv.lock $(PYPROJECTS) $(if $(wildcard .venv/bin/python),,FORCE) | $(UV_DEP)
	$(UV) sync --locked --package jules --no-dev --inexact
	@mkdir -p $(@D) && touch $@

demo: $(DEMO_STAMP) ## backtest three crypto instruments on real data: a rule strategy, then the demo ONNX policy
	$(RUN) jules backtest --config examples/demo.yaml
	$(RUN) jules backtest --config examples/demo-onnx.yaml

demo-model: $(SETUP_STAMP) ## train the demo ONNX policy on real data (CPU; bench/train_time.py times it) into examples/models/demo-policy
	rm -rf .local/demo-registry
	$(RUN) jules-train supervised --config examples/train.yaml --registry .local/demo-registry
	mkdir -p examples/models/demo-policy
	cp .local/demo-registry/btc-perp-demo/1/model.onnx .local/demo-registry/btc-perp-demo/1/card.json \
	    .local/demo-registry/btc-perp-demo/1/experiment.json examples/models/demo-policy/

up: $(SETUP_STAMP) ## start the broker and the six services on a replayed feed (jules up)
	$(RUN) jules up

paper: $(SETUP_STAMP) ## paper trading: the broker, a fake Binance exchange (recorded market) and the six services (jules up --paper)
	$(RUN) jules up --paper -c examples/paper.yaml

down: ## stop the session started by `make up` or `make paper` (jules down)
	$(RUN) jules down

bench-peers: | $(UV_DEP) ## create .local/bench-peers with NautilusTrader and backtrader (bench only)
	$(UV) venv --allow-existing .local/bench-peers --python $(PYTHON)
	$(UV) pip install --python .local/bench-peers/bin/python -r bench/requirements-peers.txt

bench: $(SETUP_STAMP) bench-peers ## backtest speed and memory, side by side with the peers; CLI start-up; cost per piece of a bar; tick-driven runs; sweep trials/minute
	$(RUN) python bench/ftx_ema.py
	$(RUN) python bench/backtest_throughput.py
	$(RUN) python bench/cli_startup.py
	$(RUN) python bench/event_costs.py
	$(RUN) python bench/strategy_costs.py
	$(RUN) python bench/tick_backtests.py
	$(RUN) python bench/demo_install_size.py
	$(RUN) python bench/sweep_throughput.py

bench-kafka: $(SETUP_STAMP) kafka-fetch ## topic-replay throughput, tick-to-order latency, service RSS, hop costs, paper-session tick-to-fill latency
	$(RUN) python bench/replay_throughput.py
	$(RUN) python bench/replay_throughput.py --client confluent --universe 0
	$(RUN) python bench/tick_to_order_latency.py
	$(RUN) python bench/tick_to_order_latency.py --client confluent
	$(RUN) python bench/pipeline_costs.py
	$(RUN) python bench/live_market_data.py
	$(RUN) python bench/paper_latency.py

bench-models: $(SETUP_STAMP) ## ONNX decision latency of the demo model; env steps/s while training; training time
	$(RUN) python bench/onnx_decision_latency.py
	$(RUN) python bench/env_steps.py
	$(RUN) python bench/train_time.py

schemas: $(SETUP_STAMP) ## export the JSON Schemas of the v1 events to libs/contracts/schemas/v1
	$(RUN) python -m jules_contracts.schema write libs/contracts/schemas/v1

reference: $(SETUP_STAMP) ## generate the backtest config reference and JSON Schema into docs/
	$(RUN) python -m jules_backtest.reference write docs

lock: | $(UV_DEP) ## update uv.lock and export requirements.lock.txt (constraints for plain pip)
	$(UV) lock
	$(UV) export --quiet --frozen --all-packages --no-hashes --no-emit-workspace \
	    --format requirements-txt -o requirements.lock.txt

clean: ## stop the local broker; remove .venv, caches, coverage and .local/kafka
	-$(KAFKA_LOCAL) stop
	rm -rf .venv .local/kafka $(SETUP_STAMP) $(COVERAGE_XML) .pytest_cache .mypy_cache \
	    .ruff_cache .import_linter_cache .hypothesis .coverage .coverage.* htmlcov
	find . -path ./.git -prune -o -path ./.local -prune -o -type d -name __pycache__ -print0 \
	    | xargs -0 rm -rf

distclean: clean ## clean, and also remove .local (the uv bootstrap and the Kafka jars)
	rm -rf .local
