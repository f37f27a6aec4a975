# The two commands a newcomer needs: `make run` and `make test`. Both set up everything they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres translations messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d web/translations

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k lazy_gettext -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching

run: $(STAMP) translations
	$(BIN)/tsunagu demo
	@echo "Tsunagu: http://127.0.0.1:5000  (stop with Ctrl-C)"
	TSUNAGU_SCHEDULER_IN_WEB=true $(BIN)/tsunagu serve

test: $(STAMP) translations
	$(BIN)/ruff check engine web processes tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The database layers again on PostgreSQL, with the multi-process scheduler tests (used by .ci/run).
test-postgres: $(STAMP) translations
	TSUNAGU_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest tests/integration tests/web tests/system

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache
