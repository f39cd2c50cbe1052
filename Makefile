# The two commands of the README, and the steps they share. `.ci/run` calls `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint stop install

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[local,dev]'
	touch $(STAMP)

# Start the local broker and registry (or use KAFKA_BOOTSTRAP_SERVERS/SCHEMA_REGISTRY_URL),
# then create the routed job topics and their dead-letter topics.
run: $(STAMP)
	$(BIN)/keel broker start
	$(BIN)/keel broker status
	$(BIN)/keel topics ensure

# Lint, type-check, then the whole suite; the suite starts and stops its own broker.
test: lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

stop: $(STAMP)
	$(BIN)/keel broker stop
