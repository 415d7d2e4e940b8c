# jsocdesk — two commands matter: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# A second venv without Qt (no PySide6, shiboken6, qasync, pytest-qt): tests/core and
# tests/demo must pass there too (the core and the emulator are Qt-free).
CORE_VENV := .venv-core
CORE_BIN := $(CORE_VENV)/bin
CORE_STAMP := $(CORE_VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
QT_DISTS := PySide6 shiboken6 qasync pytestqt

export QT_QPA_PLATFORM ?= offscreen

.PHONY: run test lint typecheck pytest pytest-core bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(CORE_BIN)/python:
	$(PY) -m venv $(CORE_VENV)
	$(CORE_BIN)/python -m pip install -q --upgrade pip

$(CORE_STAMP): pyproject.toml | $(CORE_BIN)/python
	$(CORE_BIN)/python -m pip install -q -e '.[test-core]'
	rm -f $(CORE_VENV)/.installed-*
	touch $(CORE_STAMP)

install: $(STAMP)

# Qt's X11 plugin needs system libraries a fresh desktop may lack: jsocdesk.sysdeps names them
# and installs them with apt-get when it can (root, or sudo), else prints the command.
run: $(STAMP)
	QT_QPA_PLATFORM= $(BIN)/python -m jsocdesk.sysdeps --install
	QT_QPA_PLATFORM= $(BIN)/jsocdesk --demo

lint: $(STAMP)
	$(BIN)/ruff check jsocdesk tests
	$(BIN)/ruff format --check jsocdesk tests
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# The Qt-less run: first prove that the venv really has no Qt, then the core and demo tests.
pytest-core: $(CORE_STAMP)
	$(CORE_BIN)/python -c "import importlib.util as u, sys; found = [m for m in sys.argv[1:] \
		if u.find_spec(m)]; sys.exit(f'$(CORE_VENV) must not have {found}' if found else 0)" $(QT_DISTS)
	$(CORE_BIN)/python -m pytest -q tests/core tests/demo

test: lint typecheck pytest-core pytest

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -s tests/bench -p no:randomly -o testpaths=tests/bench -o "norecursedirs=.* *.egg-info"

clean:
	rm -rf $(VENV) $(CORE_VENV) build dist *.egg-info

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
