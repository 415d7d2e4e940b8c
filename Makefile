# jsocdesk — two commands matter: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

export QT_QPA_PLATFORM ?= offscreen

.PHONY: run test lint typecheck pytest bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	QT_QPA_PLATFORM= $(BIN)/jsocdesk --demo

lint: $(STAMP)
	$(BIN)/ruff check jsocdesk tests
	$(BIN)/ruff format --check jsocdesk tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -s tests/bench -p no:randomly -o testpaths=tests/bench -o norecursedirs=

clean:
	rm -rf $(VENV) build dist *.egg-info
