# Everything runs from a local virtualenv (.venv) that the first target creates.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint docs schema migrate makemigrations graphiql-assets ci bench capacity lock messages-extract messages-init messages-update messages-check

# The whole dependency tree comes from requirements-dev.lock (hashes checked), then the
# gateway itself without dependencies: make run, CI and the image install the same versions.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## run: install what is needed and serve the gateway on http://127.0.0.1:8000/graphql (SQLite in ./data)
run: $(STAMP)
	$(BIN)/python server.py

## test: install what is needed and run the whole test suite (SQLite and PostgreSQL): everything
## but the timing comparisons on TEST_WORKERS processes (pytest-xdist), then those alone
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not serial"
	$(BIN)/python -m pytest -m serial

## lint: ruff, mypy (strict), the import-linter layer contracts, and the documentation site built --strict
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## docs: build the documentation site (docs/, mkdocs.yml) into site/
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## schema: rewrite schema/schema.graphql from the code
schema: $(STAMP)
	$(BIN)/python -m schema

## migrate: apply pending migrations to DATABASE_URL
migrate: $(STAMP)
	$(BIN)/python server.py migrate

## makemigrations: write a migration for model changes (against a scratch SQLite file)
makemigrations: $(STAMP)
	DATABASE_URL=sqlite://$(CURDIR)/data/makemigrations.sqlite3 $(BIN)/tortoise makemigrations

## messages-extract: collect the mail's English words from mail/templates into mail/locales/messages.pot
messages-extract: $(STAMP)
	$(BIN)/pybabel -q extract --no-location --sort-output --project "Auth Gateway mail" --copyright-holder "the Auth Gateway authors" -F babel.cfg -o mail/locales/messages.pot .

## messages-init LANG=xx: start a catalog for another mail language (mail/locales/xx/LC_MESSAGES/messages.po)
messages-init: messages-extract
	$(BIN)/pybabel init -i mail/locales/messages.pot -d mail/locales -l $(LANG)

## messages-update: carry new and changed words into every catalog (changed ones come back fuzzy: translate them)
messages-update: messages-extract
	$(BIN)/pybabel update --no-fuzzy-matching -i mail/locales/messages.pot -d mail/locales

## messages-check: every catalog translates every word, placeholders kept (the gateway compiles the catalogs at start)
messages-check: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration/test_mail_languages.py

## graphiql-assets: fetch the pinned GraphiQL packages (web/graphiql/vendor/packages.toml) from npm; scripts/fetch_graphiql.py --check verifies them offline
graphiql-assets:
	$(PYTHON) scripts/fetch_graphiql.py

## lock: resolve pyproject.toml's pins again into requirements.lock (the image) and requirements-dev.lock (make, CI), with hashes
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet pip-tools==7.6.2
	.lock-venv/bin/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	.lock-venv/bin/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml

## bench: measure the gateway with wrk against bounds taken in the same run (PostgreSQL at BENCH_POSTGRES_URL, about 4 min); writes bench/RESULTS.md
bench: $(STAMP)
	$(BIN)/python -m bench.run

## capacity: what each operation costs PostgreSQL (statements, round trips, rows, WAL) and what 2 gateway processes did; writes bench/results/capacity.json (docs/capacity.md)
capacity: $(STAMP)
	$(BIN)/python -m bench.capacity

ci: test lint
