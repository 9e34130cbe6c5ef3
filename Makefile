# Two commands for a newcomer: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(PYTHON) -m uv
STACK := deploy/local/stack.sh
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

down:  ## Stop the local stack (data stays in .stack/)
	$(STACK) down

status:  ## Where the stack is, as KEY=value lines
	@$(STACK) status

topics: up  ## Create the platform's public topics
	@$(STACK_ENV); .venv/bin/python -m platform_kit.topics_cli

run: up topics  ## Start the stack and every service, with the demo data
	@$(STACK) status
	@echo "The platform kit is up. Services will start here as they arrive (see README.md)."

test: up  ## Install, start what the tests need, run every test against the real broker and database
	@$(STACK_ENV); .venv/bin/python -m pytest $(PYTEST_ARGS)

bench: up  ## Measure the kit against the raw limits (plain asyncpg COPY, plain aiokafka)
	@$(STACK_ENV); .venv/bin/python -m bench $(BENCH_ARGS)

clean: down  ## Stop the stack and delete its data
	$(STACK) down --purge

.PHONY: help install up down status topics run test bench clean
