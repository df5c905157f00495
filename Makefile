# Quick start: `make run` serves the product on the embedded SQLite database;
# `make test` installs what the tests need and runs the whole suite on SQLite and PostgreSQL.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider

# The agent web app: npm ci when the lock file changes, vite build when a source changes.
FRONTEND := frontend
FRONTEND_DEPS := $(FRONTEND)/node_modules/.package-lock.json
FRONTEND_BUILT := helpdesk/static/index.html
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/public -type f -not -name '*.test.ts' 2>/dev/null) \
	$(addprefix $(FRONTEND)/,index.html vite.config.ts tsconfig.json package.json)

.PHONY: run test test-unit test-frontend test-sqlite test-postgres corpus system-deps lint clean frontend frontend-check

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(INSTALLED)

$(FRONTEND_DEPS): $(FRONTEND)/package-lock.json $(FRONTEND)/package.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(FRONTEND_BUILT): $(FRONTEND_DEPS) $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm run --silent build -- --logLevel warn

frontend: $(FRONTEND_BUILT)

frontend-check: $(FRONTEND_DEPS)
	cd $(FRONTEND) && npm run --silent typecheck

run: $(INSTALLED) frontend
	$(BIN)/helpdesk serve --demo

system-deps:
	scripts/install-system-deps.sh

test: $(INSTALLED) system-deps test-unit test-frontend test-sqlite test-postgres corpus

test-unit: $(INSTALLED)
	$(PYTEST) tests/unit -q

# The agent app's pure logic (frontend/src/*.test.ts), with vitest in Node: no browser, no server.
test-frontend: $(FRONTEND_DEPS)
	cd $(FRONTEND) && npm test --silent

# tests/e2e drives the built agent app in Chromium, so these build it first.
test-sqlite: $(INSTALLED) frontend
	HELPDESK_TEST_ENGINE=sqlite $(PYTEST) tests/integration tests/e2e -q

test-postgres: $(INSTALLED) frontend
	HELPDESK_TEST_ENGINE=postgres $(PYTEST) tests/integration tests/e2e -q

corpus: $(INSTALLED)
	$(BIN)/python scripts/corpus.py

lint: $(INSTALLED) frontend-check
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var helpdesk/static $(FRONTEND)/node_modules test-artifacts
