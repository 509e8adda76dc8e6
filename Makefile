# ECR Housekeeper. Every target sets up what it needs on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1
CDK := npx --no-install cdk --no-notices

.PHONY: help install test lint bench synth nag deploy demo clean

help:
	@echo "make demo    replay the seed's clean-up on a local emulated AWS account"
	@echo "make test    run every test (unit, property, integration, infra, e2e)"
	@echo "make lint    ruff and mypy"
	@echo "make bench   benchmarks; figures go to docs/PERFORMANCE.md"
	@echo "make synth   cdk synth with the pinned CLI (offline)"
	@echo "make nag     cdk-nag and cfn-lint on the synthesized template"
	@echo "make deploy  cdk deploy of the hub stack with the pinned CLI (needs AWS credentials and a bootstrapped account)"
	@echo "make install set up .venv and node_modules only"
	@echo "make clean   remove .venv, node_modules, cdk.out and caches"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch node_modules/.installed

install: $(STAMP) node_modules/.installed

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

synth: install
	$(CDK) synth --quiet

nag: install
	$(BIN)/python -m infra.quality_gates

# The app holds the hub and the spoke; `make deploy` deploys the hub (the spoke: docs/multi-account.md).
HUB_STACK ?= EcrHousekeeper
deploy: install
	$(CDK) deploy $(HUB_STACK)

demo: $(STAMP)
	$(BIN)/python -m demo

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
