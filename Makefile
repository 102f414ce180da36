# newsingest: the two commands are `make run` (set up, then crawl the bundled sources)
# and `make test` (set up, then lint, type-check and run the whole test suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install run demo test lint check-python clean

help:
	@echo "make run    set up, start the embedded PostgreSQL, migrate, crawl the bundled sources"
	@echo "make demo   set up, crawl the bundled sample site from 127.0.0.1 (no internet needed)"
	@echo "make test   set up, lint, type-check and run all tests"

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newsingest needs Python 3.11 or newer (set PYTHON=...)")'

$(STAMP): pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Quiet: warnings, errors and one line per source (make V=1 run: INFO logs too). When
# some source failed, newsingest exits 1 and make says "Error 1" (make's own status is 2).
run: install
	$(BIN)/newsingest $(if $(V),-v) db upgrade
	$(BIN)/newsingest $(if $(V),-v) crawl --all

demo: install
	$(BIN)/newsingest demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
