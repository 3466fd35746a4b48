# The only two commands a fresh machine needs are `make demo` and `make test`:
# both create .venv from python3 when it is missing and install the package into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint bench soak screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per extra; pyproject.toml changes re-install.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/neptune-audit demo

test: $(VENV)/.installed-dev
	TZ=UTC $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check tui tests
	$(BIN)/ruff format --check tui tests
	$(BIN)/mypy

# The peers group compares with lnav and ripgrep when installed, and with DuckDB (a Python
# package installed here for the bench only, never for the tests; skipped if it cannot be).
bench: $(VENV)/.installed-dev
	-$(BIN)/python -m pip install --quiet duckdb
	$(BIN)/python tests/perf/bench.py

# Follow soak: every rotation scenario for 20 s at 20k records/s (a few minutes).
soak: $(VENV)/.installed-dev
	TZ=UTC $(BIN)/python tests/perf/soak.py --seconds 20 --rate 20000

screenshots: $(VENV)/.installed-dev
	TZ=UTC $(BIN)/python tests/screenshots.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
