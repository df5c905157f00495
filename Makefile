# Quick start: `make run` serves the product on the embedded SQLite database;
# `make test` installs what the tests need and runs the whole suite on SQLite and PostgreSQL.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: run test test-unit test-sqlite test-postgres corpus system-deps lint clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/helpdesk serve --demo

system-deps:
	scripts/install-system-deps.sh

test: $(INSTALLED) system-deps test-unit test-sqlite test-postgres corpus

test-unit: $(INSTALLED)
	$(PYTEST) tests/unit -q

test-sqlite: $(INSTALLED)
	HELPDESK_TEST_ENGINE=sqlite $(PYTEST) tests/integration -q

test-postgres: $(INSTALLED)
	HELPDESK_TEST_ENGINE=postgres $(PYTEST) tests/integration -q

corpus: $(INSTALLED)
	$(BIN)/python scripts/corpus.py

lint: $(INSTALLED)
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var
