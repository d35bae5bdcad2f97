# The two commands of the quickstart: `make up` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: up test venv services browser engine lint typecheck pytest bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/.installed

services:
	bash scripts/services.sh

engine:
	bash scripts/container-engine.sh >/dev/null

browser:
	bash scripts/chromium.sh

up: venv
	$(BIN)/laambda up

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy laambda receiver tests migrations bench

pytest: venv services browser
	$(BIN)/pytest

# The Docker builder's tests need a Docker-API engine: the script starts one (podman) and
# prints its DOCKER_HOST. On CI it must work; elsewhere those tests skip, saying why.
test: venv services browser lint typecheck
	@engine_env="$$(bash scripts/container-engine.sh)" || { \
	  if [ -n "$${CI:-}" ]; then echo "container engine failed to start" >&2; exit 1; fi; \
	  echo "no container engine here: the Docker builder's tests will skip" >&2; }; \
	eval "$$engine_env"; $(BIN)/pytest

bench: venv services
	$(BIN)/python bench/bench_build.py
	$(BIN)/python bench/bench_deploy.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
