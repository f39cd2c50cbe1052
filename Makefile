# The two commands of the README, and the steps they share. `.ci/run` calls `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

KUSTOMIZE_VERSION := v5.8.2
KUSTOMIZE := $(BIN)/kustomize

ASYNCAPI_SPECS_VERSION := 6.11.1
ASYNCAPI_SPECS := $(VENV)/asyncapi/node_modules/@asyncapi/specs/package.json

.PHONY: run test lint stop install lock

install: $(STAMP) $(KUSTOMIZE) $(ASYNCAPI_SPECS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# Dependency groups (PEP 735, `--group`) need pip 25.1+; a venv starts with Python's bundled pip.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'pip>=25.1'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[local,load,console]' --group dev
	touch $(STAMP)

# kustomize renders deploy/k8s in the tests. It is built from the Go module proxy into .venv/bin;
# without a Go toolchain the install stops here and says so, rather than let the manifest tests
# go unchecked.
$(KUSTOMIZE): | $(STAMP)
	@command -v go >/dev/null 2>&1 || { \
		echo "error: no Go toolchain: it builds kustomize, which the deploy/k8s tests need" >&2; \
		exit 1; }
	GOBIN="$(abspath $(BIN))" go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

# The official AsyncAPI JSON schemas (npm's @asyncapi/specs), which the test of
# `keel schemas asyncapi` validates against; without npm the install stops here and says so.
$(ASYNCAPI_SPECS): | $(STAMP)
	@command -v npm >/dev/null 2>&1 || { \
		echo "error: no npm: it installs @asyncapi/specs, which the AsyncAPI test needs" >&2; \
		exit 1; }
	npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/asyncapi \
		@asyncapi/specs@$(ASYNCAPI_SPECS_VERSION)

# The container image's pinned, hashed dependencies: keel's core install (pyproject.toml's
# dependencies, no extras, no dependency groups) and the build backend that makes its wheel
# (deploy/build-requirements.in).
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	$(PIP_COMPILE) --output-file deploy/requirements.lock pyproject.toml
	$(PIP_COMPILE) --output-file deploy/build-requirements.lock deploy/build-requirements.in

# Start the local broker and registry (or use KAFKA_BOOTSTRAP_SERVERS/SCHEMA_REGISTRY_URL),
# then create the demo's job topics and their dead-letter topics,
# then run the demo worker with a live line of counts while a demo producer feeds it.
# Ctrl-C stops both: the worker drains and commits, the producer flushes. RUN_SECONDS=N stops
# them after N seconds instead.
# keel has no default routes: the demo's (keel.producers.demo.DEMO_ROUTES, which a unit test
# holds this line to) reach all three commands as KEEL_ROUTES.
DEMO_ROUTES := {"keel.jobs.SendEmail": {"topic": "jobs.email", "partitions": 12}, "keel.jobs.GenerateReport": {"topic": "jobs.reports", "partitions": 3}, "keel.jobs.ProcessPayment": {"topic": "jobs.payments", "partitions": 12}}
RUN_SECONDS ?= 0
run: export KEEL_ROUTES = $(DEMO_ROUTES)
run: $(STAMP)
	$(BIN)/keel broker start
	$(BIN)/keel topics ensure
	@echo "worker keel.consumers.demo:app + demo producer (20 jobs/s); Ctrl-C stops both"
	@$(BIN)/keel demo --rate 20 > .keel-demo.log 2>&1 & demo=$$!; \
	trap 'kill -TERM $$demo 2>/dev/null; wait $$demo' EXIT; \
	if [ "$(RUN_SECONDS)" -gt 0 ]; then limit="timeout -s INT $(RUN_SECONDS)"; fi; \
	$$limit $(BIN)/keel worker keel.consumers.demo:app --progress || [ $$? -eq 124 ]

# Lint, type-check, then the whole suite; the suite starts and stops its own broker.
test: lint $(KUSTOMIZE) $(ASYNCAPI_SPECS)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

stop: $(STAMP)
	$(BIN)/keel broker stop
