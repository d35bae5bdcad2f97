# The two commands of the quickstart: `make up` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: up test test-fast venv bytecode lock services packages engine images-early compose-images tools browser lint typecheck pytest bench clean

# Exactly the versions in uv.lock (the tests passed with them), pip included: the locked uv is
# installed into a venv made without pip (by the host's pip when it has `--python`, pip 22.3 or
# later; else by the venv's own, from ensurepip), and uv makes the venv match the lock. After
# changing a dependency in pyproject.toml: `make lock`, and commit uv.lock.
UV_VERSION = $(shell PYTHON=$(PYTHON) bash scripts/lock-version.sh uv)

$(BIN)/.installed: pyproject.toml uv.lock
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install -q 'uv==$(UV_VERSION)' 2>/dev/null || \
		{ $(BIN)/python -m ensurepip -q && $(BIN)/python -m pip install -q 'uv==$(UV_VERSION)'; }
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/python -m uv sync -q --frozen --extra test --extra local
	touch $@

# pin the dependencies of pyproject.toml again (then commit uv.lock)
lock: venv
	$(BIN)/python -m uv lock

venv: $(BIN)/.installed

services:
	bash scripts/services.sh

engine:
	bash scripts/container-engine.sh >/dev/null

# the images docker-compose.yml runs, made here from Debian's packages (no registry needed);
# prints the LAAMBDA_*_IMAGE variables to export (README: "The compose layout")
compose-images:
	@eval "$$(bash scripts/container-engine.sh)"; bash scripts/compose-images.sh

# the system packages of `tools`, `browser` and `engine` together, in one apt-get run (as root;
# each of them still installs its own when run alone)
packages:
	bash scripts/system-packages.sh

# the engine and every image the tests use (tests/compose/images.sh runs the engine's script,
# then makes the compose layout's and moto's), made in the background (.cache/images.log) while
# the venv is made and lint, mypy and the other tests run: the tests that need them run the same
# scripts, which wait for this run (their locks) and then find the images made
images-early: packages
	@mkdir -p .cache; bash tests/compose/images.sh >/dev/null 2>.cache/images.log </dev/null &

# system programs builds need (bubblewrap, the build sandbox), installed when missing
tools:
	bash scripts/system-tools.sh

# Debian's Chromium for the dashboard's browser tests, installed when missing
browser:
	bash scripts/chromium.sh

up: venv tools
	$(BIN)/laambda up

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# on CI (a fresh clone, run once) without writing mypy's cache: 10% of its CPU
typecheck: venv
	$(BIN)/mypy $(if $(CI),--cache-dir=/dev/null) laambda tests bench

# Tests run in parallel (pytest-xdist): each worker has its own database, moto server, queue
# and live worker; a module stays on one worker (tests/conftest.py). More workers than cores
# pays: most of a test's time is spent waiting on a worker process, git, ssh or a browser.
PYTEST_WORKERS ?= 4
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist loadgroup

# The tests start hundreds of Python processes (xdist workers, the CLI, `laambda up`, workers,
# receivers): with PYTHONDONTWRITEBYTECODE set, no .pyc is ever written and each of them
# compiles FastAPI, pydantic, botocore, moto... and the rewritten test modules from source
# again (an xdist worker's collection: 13 s instead of 5 s). The tests write the caches.
pytest test-fast test bytecode $(BIN)/.bytecode: export PYTHONDONTWRITEBYTECODE :=

# The bytecode of the modules the tests import, written by one collection once per venv: uv
# compiles none ahead (compiling all of the venv, sympy and moto's every service included, cost
# twice as much CPU) and four workers collecting at once would each compile the same modules.
# A collection error is left for the run itself to report.
$(BIN)/.bytecode: $(BIN)/.installed
	$(BIN)/pytest --collect-only -q -p no:cacheprovider >/dev/null 2>&1 || true
	touch $@

bytecode: $(BIN)/.bytecode

pytest: venv services tools browser
	$(BIN)/pytest $(PYTEST_PARALLEL)

# the quick tests only (no worker process, browser, local runtime, build, Docker, subprocess of
# laambda or uv, `laambda up`, or wait by design: quota pacing, stream timeouts)
test-fast: venv services tools
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not slow"

# Everything, lint and types beside the tests. The Docker builder's tests and the compose
# layout's use a Docker-API engine (podman) and images made from Debian's packages
# (scripts/container-engine.sh, scripts/compose-images.sh), started first, in the background;
# on CI they must work, elsewhere they skip saying why.
# On a new machine the system packages (apt-get) and the venv (uv, from PyPI, then the tests'
# bytecode) are made at once.
test:
	@$(MAKE) --no-print-directory -j2 packages bytecode
	@$(MAKE) --no-print-directory images-early services tools browser
	@$(MAKE) --no-print-directory lint typecheck & checks=$$!; status=0; \
	$(BIN)/pytest $(PYTEST_PARALLEL) || status=$$?; \
	wait $$checks || status=1; exit $$status

bench: venv services tools
	$(BIN)/python bench/bench_build.py
	$(BIN)/python bench/bench_deploy.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
