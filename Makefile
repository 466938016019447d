# Kyrgyz-Tajik border study: `make help` lists the targets, in pipeline order.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RAW    ?= ../shared/data
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv lock data check reports test test-fast clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP) ## create .venv from the pinned lock (only when missing or the lock changed)

lock: ## re-pin requirements.lock from pyproject.toml in a throwaway venv (existing pins kept; UPGRADE=1 re-resolves all)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip setuptools
	grep -v '^#' requirements.lock > .lock-venv/constraints.txt
	.lock-venv/bin/python -m pip install --quiet ".[test]" $(if $(UPGRADE),,-c .lock-venv/constraints.txt)
	{ echo "# Pinned by 'make lock' from pyproject.toml (dependencies + test extra). Do not edit."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v -e '^analysis[= @]' -e '^pip=='; } > requirements.lock
	rm -rf .lock-venv

data: $(STAMP) ## rebuild data/ from the raw files in RAW (default ../shared/data)
	$(BIN)/analysis data build --raw $(RAW)

check: $(STAMP) ## verify data/ checksums and contracts, print coverage
	$(BIN)/analysis data check

reports: $(STAMP) ## the main job: check the data, then build every stale report into reports/
	$(BIN)/analysis data check
	$(BIN)/analysis run

test: $(STAMP) ## lint (ruff check, ruff format --check), then the whole test suite (what CI runs)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## lint, then the tests not marked slow: every module, under 90 s (edit-test loop)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -m "not slow"

clean: ## remove the venv and caches (keeps data/ and reports/)
	rm -rf $(VENV) .pytest_cache .lock-venv
