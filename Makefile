# Quorum: `make run` to try it, `make test` to test it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# `make run` installs what running needs; `make test` (and bench) add the test tools on top.
RUN_STAMP := $(VENV)/.installed-run-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)
PYTEST_ARGS ?= -n 2

.PHONY: run test bench install clean messages catalogs

install: $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Quorum needs Python 3.11 or newer (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "Could not create a virtual environment: on Debian/Ubuntu run: sudo apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[postgres]'
	@rm -f $(VENV)/.installed-run-*
	@touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install -q -e '.[test,postgres]'
	@rm -f $(VENV)/.installed-test-*
	@touch $@

run: $(RUN_STAMP)
	$(BIN)/quorum serve

test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Translations (docs/TRANSLATING.md): `make messages` after changing any string a person reads (extracts
# app/translations/messages.pot and merges it into every language's .po); `make catalogs` builds the .mo
# files (the app also builds a missing or stale one when it starts). tests/i18n fails on a stale catalog.
PYBABEL := $(BIN)/pybabel
KEYWORDS := -k _l -k _n:1,2 -k _p:1c,2 -k _lp:1c,2 -k pgettext:1c,2
messages: $(TEST_STAMP)
	$(PYBABEL) extract -F babel.cfg $(KEYWORDS) --no-location --sort-output --omit-header --no-wrap -o app/translations/messages.pot .
	for l in de fr es nl pt; do $(PYBABEL) update -i app/translations/messages.pot -d app/translations -l $$l --no-fuzzy-matching --ignore-obsolete --no-wrap; done

catalogs: $(RUN_STAMP)
	$(PYBABEL) compile -d app/translations --statistics

clean:
	rm -rf $(VENV) .pytest_cache
