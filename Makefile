# Two entry points, as the README's Quick start: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/acap: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	# bytecode up front, as a regular install has it (an editable one is otherwise compiled on
	# every start where PYTHONDONTWRITEBYTECODE is set)
	$(BIN)/python -m compileall -q acap app
	touch $(BIN)/acap

.PHONY: setup demo test bench fixtures
setup: $(BIN)/acap

demo: setup
	$(BIN)/acap demo --out acap-demo

test: setup
	$(BIN)/python -m pytest -q -n 2

bench: setup
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

# Regenerate the R reference fixtures (needs R: apt-get install r-base-core r-cran-psych ...).
fixtures:
	for f in tests/r/*.R; do Rscript $$f || exit 1; done
