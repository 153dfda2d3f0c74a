# The whole set-up on a fresh machine is `make demo` or `make test`: each creates .venv
# when it is missing and installs the project with its dependencies first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export QT_QPA_PLATFORM ?= offscreen

.PHONY: demo test test-stress lint typecheck check bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m provisioning.demo --output demo-output

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

# The same suite with every CPU kept busy by tests/stress.py (stopped whatever the outcome).
test-stress: $(STAMP)
	$(PY) -m tests.stress -q -p no:cacheprovider

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
