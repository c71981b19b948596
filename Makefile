# Stellary — the two commands a newcomer needs: `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test install bench clean-data coverage help

help:
	@echo "make up      - the whole system on http://localhost:3001 (Ctrl-C stops it)"
	@echo "make test    - the whole test suite"
	@echo "make bench   - the benchmarks in bench/ (needs nothing running)"

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

.data/secrets.env:
	@mkdir -p .data
	@umask 077; { \
	  echo "JWT_SECRET=$$($(PYTHON) -c 'import secrets;print(secrets.token_urlsafe(48))')"; \
	  echo "INTERNAL_TOKEN_SECRET=$$($(PYTHON) -c 'import secrets;print(secrets.token_urlsafe(48))')"; \
	} > $@
	@echo "generated $@ (kept out of git)"

up: $(STAMP) .data/secrets.env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m devtools.run -f Procfile -e deploy/dev.env,.data/secrets.env \
	  --preload gunicorn.app.wsgiapp,gunicorn.workers.gthread,gunicorn.workers.gasgi,gunicorn.arbiter,@procfile

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-data:
	rm -rf .data
