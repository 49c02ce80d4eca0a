# voices: the two commands of the README, and the tools around them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
# setuptools warns at every editable install that a folder named like a package shadows it;
# here that folder is the package itself, so the warning only hides what matters.
QUIET_INSTALL := PYTHONWARNINGS="ignore:Editable installation"
BIN := $(VENV)/bin
WORKSPACE ?= workspace

.PHONY: demo test check bench format clean cluster cluster-stop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# The runtime only: faster-whisper, no torch.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(QUIET_INSTALL) $(BIN)/pip install --quiet -e .
	touch $@

# Everything the tests need, the openai-whisper engine (with CPU torch) included.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(QUIET_INSTALL) $(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-run $(VENV)/.installed-cluster

# The runtime and the PostgreSQL driver, for a cluster.
$(VENV)/.installed-cluster: pyproject.toml | $(BIN)/python
	$(QUIET_INSTALL) $(BIN)/pip install --quiet -e ".[postgres]"
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/voices demo --workspace $(WORKSPACE)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

check: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A real cluster on this machine, for trying and for CI: PostgreSQL (Debian's package), a
# Prefect server on it, the work pool, two workers and the deployments; then
# `VOICES_WORKSPACE=$(WORKSPACE) voices run|status|publish` use it. `make cluster-stop` stops it.
cluster: $(VENV)/.installed-cluster
	$(BIN)/voices cluster start --workspace $(WORKSPACE)

cluster-stop: $(VENV)/.installed-cluster
	$(BIN)/voices cluster stop --workspace $(WORKSPACE)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .mypy_cache .ruff_cache
