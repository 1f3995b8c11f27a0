# Pulse: `make up` runs the whole stack locally, `make test` runs every test. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up down status demo test test-unit test-faults lint typecheck fmt migrate bench clean tools dashboards generate k8s-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## up: create .venv, install, start broker + services in the background, create the demo project, print keys
## (PROMETHEUS=1: also a Prometheus on 127.0.0.1:9090 scraping them, with the alert rules)
up: $(STAMP) $(if $(PROMETHEUS),tools)
	$(BIN)/pulse stack up $(if $(PROMETHEUS),--prometheus)

## demo: start the stack if needed, then fill its demo project with 90 days of a generated product (pulse generate)
demo: up
	PULSE_KAFKA_IDEMPOTENCE=false $(BIN)/pulse generate demo --days 90 --users 3000

## down: stop what `make up` started
down:
	@if [ -x $(BIN)/pulse ]; then $(BIN)/pulse stack down; else echo "nothing to stop (no .venv)"; fi

status: $(STAMP)
	$(BIN)/pulse stack status

migrate: $(STAMP)
	$(BIN)/pulse migrate

## tools: promtool and prometheus from Debian's package (rule tests, /metrics lint, `make up PROMETHEUS=1`)
tools:
	@command -v promtool >/dev/null || { apt-get update -qq || true; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

## generate: the files generated from code and checked in (tests compare): Grafana dashboards, the PrometheusRule
generate: dashboards
	$(BIN)/python -m pulse_common.prometheus_rule deploy/prometheus/rules.yml deploy/k8s/base/monitoring/prometheus-rule.yaml

dashboards: $(STAMP)
	$(BIN)/python -m pulse_common.grafana deploy/grafana/dashboards

## k8s-check: render every overlay with the pinned kubectl, validate it (also part of `make test`)
k8s-check: $(STAMP) tools
	$(BIN)/pytest tests/deploy/test_k8s.py

## test: lint, types, then unit, integration and end-to-end tests (own broker on a free port, fresh database)
test: $(STAMP) tools lint typecheck
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

## test-faults: only the fault-injection tests (tests/faults; also part of `make test`)
test-faults: $(STAMP)
	$(BIN)/pytest tests/faults

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: down
	rm -rf $(VENV) .pulse .mypy_cache .ruff_cache .pytest_cache

## bench: every benchmark (< 15 min here), one table of figures, baselines and targets; JSON under benchmarks/results/
bench: $(STAMP)
	$(BIN)/python -m benchmarks
