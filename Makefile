# XinDa (芯答). `make run` and `make test` are the two commands a new user needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export XINDA_HOME ?= $(CURDIR)/.xinda
STAMP := $(VENV)/.xinda-installed
# Every install goes through the constraints file, so pip never picks another torch.
PIP_INSTALL := $(BIN)/pip install --disable-pip-version-check -q -c requirements/constraints.txt

.PHONY: setup run test eval-gates lint bench bench-scale eval clean soak

E5_DIR := $(XINDA_HOME)/models/multilingual-e5-small

# The converter is idempotent: with the model already in place it returns in a second.
setup: $(STAMP)
	@$(BIN)/python -m index.e5_weights $(E5_DIR)
	@$(BIN)/python -m service.llm.model_files $(XINDA_HOME)/models

# Re-installs only when a requirements file or pyproject.toml changes; a second
# `make setup` with nothing changed costs a timestamp check.
$(STAMP): pyproject.toml requirements/base.in requirements/llm.in requirements/dev.in requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing torch (CPU build) and the XinDa stack into $(VENV)"
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip
	$(PIP_INSTALL) torch==2.13.0
	@echo "==> llama-cpp-python builds from source the first time (about 8 min on 2 cores; pip caches the wheel)"
	$(PIP_INSTALL) -r requirements/base.in -r requirements/llm.in -r requirements/dev.in
	$(PIP_INSTALL) --no-deps -e .
	@touch $(STAMP)

run: setup
	$(BIN)/xinda ingest
	@echo "==> serving the chat on http://127.0.0.1:8000/ui/ (API docs at /docs)"
	XINDA_LLM=$${XINDA_LLM:-local} $(BIN)/xinda serve

# `make test`: the test suite, then the evals with their CI gates (evals/gates.toml). The
# extractive backend answers the whole test split; the local LLM (about 15-25 s a question
# on 2 cores) a fixed stratified sample of it, XINDA_EVAL_LLM_SAMPLE items.
XINDA_EVAL_LLM_SAMPLE ?= 40
EVAL_GATED := $(BIN)/xinda eval --split test --gates evals/gates.toml

test: setup
	$(BIN)/python -m pytest -q
	@$(MAKE) --no-print-directory eval-gates

# Both evals run even when the first fails a gate, so one log shows every verdict; the
# target fails when either does. Reports: eval-report/{extractive,local}/report.{json,md,png}.
eval-gates: setup
	$(BIN)/xinda ingest
	@status=0; \
	echo "==> eval, extractive backend, test split"; \
	$(EVAL_GATED) --llm extractive --out eval-report/extractive || status=1; \
	echo "==> eval, local LLM, stratified sample of $(XINDA_EVAL_LLM_SAMPLE) test items"; \
	$(EVAL_GATED) --llm local --translate-with local --sample $(XINDA_EVAL_LLM_SAMPLE) \
		--out eval-report/local || status=1; \
	exit $$status

lint: setup
	$(BIN)/ruff check ingest index service ui evals tests
	$(BIN)/ruff format --check ingest index service ui evals tests
	$(BIN)/mypy

# A 10-minute mixed load on the XINDA_HOME index (SOAK_SECONDS, SOAK_CLIENTS to change).
soak: setup
	$(BIN)/xinda ingest
	$(BIN)/python tests/soak.py

# `make bench BENCH_ARGS="--no-llm --requests 20"` for a shorter run (README: Benchmark).
BENCH_ARGS ?=
bench: setup
	$(BIN)/python -m evals.bench $(BENCH_ARGS)

# Synthetic 100k and 1M chunk sets drawn around the XINDA_HOME index's real vectors: build
# time, disk, RSS, dense/BM25/hybrid latency, recall@10 vs exact; writes bench/scale.md.
# About 15-25 min on 2 cores; `make bench-scale BENCH_SCALE_SIZES=100000` for a quick run.
BENCH_SCALE_SIZES ?= 100000,1000000
bench-scale: setup
	$(BIN)/xinda ingest
	$(BIN)/python -m evals.bench_scale --sizes $(BENCH_SCALE_SIZES)

eval: setup
	$(BIN)/python -m evals.dataset evals/qa.jsonl
	$(BIN)/xinda ingest
	$(BIN)/xinda eval --split test --modes hybrid,dense,bm25 --llm extractive --out eval-report

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
