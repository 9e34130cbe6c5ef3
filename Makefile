# Two commands for a newcomer: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(PYTHON) -m uv
STACK := deploy/local/stack.sh
export STACK_DIR ?= $(CURDIR)/.stack
STACK_ENV = eval "$$($(STACK) status | grep -E '^(KAFKA_BOOTSTRAP_SERVERS|DATABASE_URL)=' | sed 's/^/export /')"

help:  ## What each target does
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

install: .venv/.installed  ## Install uv, then every Python package at the versions in uv.lock
.venv/.installed: pyproject.toml uv.lock shared/pyproject.toml $(wildcard services/*/pyproject.toml)
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --all-packages
	@touch $@

up: install  ## Start Kafka (KRaft) and PostgreSQL locally, without Docker (idempotent)
	$(STACK) up

down:  ## Stop the services and the local stack (data stays in .stack/)
	deploy/local/services.sh stop
	$(STACK) down

up-cluster: install  ## A three-node Kafka cluster (KRaft, RF 3, min ISR 2) on :19192,:19194,:19196, in .stack-cluster/
	$(STACK) up-cluster

down-cluster:  ## Stop the three-node cluster (data stays in .stack-cluster/; the single-node stack is untouched)
	$(STACK) down-cluster

status:  ## Where the stack is, as KEY=value lines
	@$(STACK) status

topics: up  ## Create the platform's public topics
	@$(STACK_ENV); .venv/bin/python -m platform_kit.topics_cli

services: up topics  ## Start the four services (idempotent); logs in .stack/logs/
	deploy/local/services.sh start

run: up topics  ## Start the stack and every service, and replay a year (2013) of demo data once
	@if [ ! -f $(STACK_DIR)/demo.loaded ]; then deploy/local/services.sh stop; \
	  .venv/bin/python deploy/demo --clock-env $(DEMO_ARGS) > $(STACK_DIR)/demo.env; fi
	deploy/local/services.sh start
	@$(STACK_ENV); set -a; . $(STACK_DIR)/demo.env; set +a; \
	  .venv/bin/python deploy/demo --once $(STACK_DIR)/demo.loaded $(DEMO_ARGS)
	@deploy/local/services.sh status
	@echo "The scoreboard (区流动人口计划生育服务管理中心): http://127.0.0.1:8103/"
	@echo "Sign in: paste a token into the page's sign-in box. A token for the district centre:"
	@echo "  MSP_KEY_DIR=$(STACK_DIR)/keys .venv/bin/msp token --role district --unit 370402000000"
	@echo "  (a town: --role town --unit 370402001000; a village: --role village --unit 370402001001; an auditor: --role auditor)"
	@echo "APIs need it too: curl -H \"Authorization: Bearer \$$TOKEN\" http://127.0.0.1:8103/api/scoreboard?period=2013"
	@echo "APIs: registry http://127.0.0.1:8101/docs, services log :8102/docs, assessment :8103/docs, notifier :8104/docs"
	@echo "Metrics (Prometheus): http://127.0.0.1:8101/metrics ... :8104/metrics; make observe runs Prometheus on :9090 with the alert rules"
	@echo "Stop everything with: make down"

tools:  ## Debian's Chromium, promtool and docker-compose, for the tests (only when missing)
	deploy/local/install-tools.sh

test-unit: install  ## The unit tests alone: nothing to start, a few seconds
	MSP_UNIT_ONLY=1 .venv/bin/python -m pytest -m unit $(PYTEST_ARGS)

# Two pytest workers, a test file each: 13-14 minutes instead of about 21 one at a time on two
# cores (most of a test's time is waiting for Kafka and the services). PYTEST_WORKERS=0 runs
# one test at a time.
PYTEST_WORKERS ?= 2
test: up tools  ## Install, start what the tests need, run every test against the real broker and database
	@$(STACK_ENV); .venv/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: up  ## Measure the kit against the raw limits (plain asyncpg COPY, plain aiokafka)
	@$(STACK_ENV); .venv/bin/python -m bench $(BENCH_ARGS)

soak: install  ## The fault suite's long form: a private stack, faults throughout, 200,000 events (SOAK_ARGS="--events 5000")
	.venv/bin/python -m tests.faults.soak $(SOAK_ARGS)

observe:  ## Prometheus on http://127.0.0.1:9090 against the running services (Ctrl-C stops it)
	STACK_DIR=$(STACK_DIR) deploy/observability/run-local.sh

clean: down  ## Stop everything and delete the local data (the next `make run` replays the demo again)
	$(STACK) down --purge
	rm -f $(STACK_DIR)/demo.env $(STACK_DIR)/demo.loaded

.PHONY: help install up down up-cluster down-cluster status topics services run tools test-unit test bench soak observe clean
