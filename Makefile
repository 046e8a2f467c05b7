# The two commands a newcomer needs:  `make run`  and  `make test`.
# Both create .venv and install everything on first use.

VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# The CPU build of PyTorch; install it before sentence-transformers so pip does not pull CUDA.
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=

.PHONY: setup run test lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)"
	$(BIN)/pip install --quiet -e '.[local,embedded,dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

## Run the product on its embedded defaults: schema, the sample handbook, then a terminal chat.
run: setup
	$(BIN)/supportbot demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The whole test suite, with lint and type checks first.
test: lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/knowledge_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
