# The whole set-up on a fresh machine is `make demo` or `make test`: each creates .venv
# when it is missing and installs the project with its dependencies first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export QT_QPA_PLATFORM ?= offscreen

.PHONY: demo test test-stress catalogues lint typecheck check bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

# UI text: each .po compiles to the .mo beside it (generated, not committed) when the .po
# is newer. The wheel build does the same through setup.py.
PO := $(wildcard room_client/locale/*/LC_MESSAGES/*.po room_server/locale/*/LC_MESSAGES/*.po provisioning/locale/*/LC_MESSAGES/*.po)
MO := $(PO:.po=.mo)

catalogues: $(MO)

%.mo: %.po | $(STAMP)
	$(VENV)/bin/pybabel compile --input-file $< --output-file $@

demo: $(STAMP) catalogues
	$(PY) -m provisioning.demo --output demo-output

# Two workers (pytest-xdist): the tests wait on server processes and sockets far more than
# they compute, so two share two cores well; every test is independent of the others'
# order and process. TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= 2

test: $(STAMP) catalogues
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

# The same suite with every CPU kept busy by tests/stress.py (stopped whatever the outcome).
test-stress: $(STAMP) catalogues
	$(PY) -m tests.stress -q -p no:cacheprovider

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache $(MO)
