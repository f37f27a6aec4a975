# The two commands a newcomer needs: `make run` and `make test`. Both set up everything they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres bench translations messages clean modeller

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The designer's browser modeller (bpmn-js) from the npm registry, pinned by modeller/package-lock.json and
# bundled into web/static/modeller/ (not committed). Rebuilt only when the lockfile or the sources change.
MODELLER_DEPS := modeller/node_modules/.installed-stamp
MODELLER_STAMP := web/static/modeller/.built-stamp

modeller: $(MODELLER_STAMP)

$(MODELLER_DEPS): modeller/package.json modeller/package-lock.json
	cd modeller && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(MODELLER_STAMP): $(MODELLER_DEPS) modeller/build.mjs $(wildcard modeller/src/*)
	cd modeller && node build.mjs
	touch $@

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d web/translations

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k lazy_gettext -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching

run: $(STAMP) translations modeller
	$(BIN)/tsunagu demo
	@echo "Tsunagu: http://127.0.0.1:5000  (stop with Ctrl-C)"
	TSUNAGU_SCHEDULER_IN_WEB=true $(BIN)/tsunagu serve

test: $(STAMP) translations modeller
	$(BIN)/ruff check engine web processes tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The database layers again on PostgreSQL, with the multi-process scheduler tests (used by .ci/run).
test-postgres: $(STAMP) translations
	TSUNAGU_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest tests/integration tests/web tests/system

# Issue 14's benchmarks, one table, written to bench/RESULTS.md (under 10 minutes on 2 cores). Every part runs on
# SQLite; parts 1 and 2 also on PostgreSQL when the server at BENCH_PG_URL answers. Every part on PostgreSQL:
# make bench BENCH_ARGS="--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_ARGS ?=
BENCH_PG_URL ?= $(PG_TEST_URL)
bench: $(STAMP) translations
	@if $(BIN)/python -c 'import sys, sqlalchemy; sqlalchemy.create_engine(sys.argv[1], connect_args={"connect_timeout": 3}).connect().close()' '$(BENCH_PG_URL)' 2>/dev/null; then \
		set -x; $(BIN)/python bench/run_all.py --postgres-url '$(BENCH_PG_URL)' $(BENCH_ARGS); \
	else \
		echo "PostgreSQL at $(BENCH_PG_URL) does not answer: parts 1 and 2 run on SQLite only"; \
		set -x; $(BIN)/python bench/run_all.py $(BENCH_ARGS); \
	fi

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache web/static/modeller modeller/node_modules
