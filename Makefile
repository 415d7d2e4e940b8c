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

# Qt's X11 plugin needs system libraries a fresh desktop may lack: jsocdesk.sysdeps names them
# and installs them with apt-get when it can (root, or sudo), else prints the command.
run: $(STAMP)
	QT_QPA_PLATFORM= $(BIN)/python -m jsocdesk.sysdeps --install
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
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -s tests/bench -p no:randomly -o testpaths=tests/bench -o "norecursedirs=.* *.egg-info"

clean:
	rm -rf $(VENV) build dist *.egg-info

# --- frozen one-folder bundle (packaging/, issue 9) ------------------------------------------
# `make dist` builds the wheel and dist/jsocdesk/ in a private venv pinned by
# packaging/requirements-dist.txt; `make dist-check` runs the frozen binary (tests/dist/).
DIST_VENV := build/dist-venv
DIST_STAMP := $(DIST_VENV)/.installed-$(shell cat packaging/requirements-dist.txt | cksum | cut -d' ' -f1)
DIST_EXE := dist/jsocdesk/jsocdesk

.PHONY: dist dist-check

$(DIST_STAMP): packaging/requirements-dist.txt
	rm -rf $(DIST_VENV)
	$(PY) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install -q --upgrade pip
	$(DIST_VENV)/bin/python -m pip install -q -r packaging/requirements-dist.txt
	touch $(DIST_STAMP)

$(DIST_EXE): $(DIST_STAMP) $(wildcard $(shell git ls-files jsocdesk packaging resources pyproject.toml 2>/dev/null))
	rm -rf dist/jsocdesk dist/jsocdesk-*.whl build/lib build/bdist.*
	$(DIST_VENV)/bin/python -m build --wheel --outdir dist .
	$(DIST_VENV)/bin/python -m pip install -q --no-deps --force-reinstall dist/jsocdesk-*.whl
	$(DIST_VENV)/bin/python -m pip check
	cd $(DIST_VENV) && bin/pyinstaller --noconfirm --log-level WARN \
		--distpath $(CURDIR)/dist --workpath $(CURDIR)/build/pyinstaller \
		$(CURDIR)/packaging/jsocdesk.spec
	@du -sh dist/jsocdesk

dist:
	rm -f $(DIST_EXE)
	$(MAKE) $(DIST_EXE)

dist-check: $(STAMP) $(DIST_EXE)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -s -m slow tests/dist
