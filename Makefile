# Two commands set everything up on a fresh machine:  make demo  and  make test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHARED ?= ../shared
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test bench lint typecheck clean

$(STAMP): pyproject.toml constraints-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints-dev.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints-dev.txt -e '.[train,onnx,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/sentiment tag examples/ -o out/tags.jsonl --store out/demo.sqlite --overwrite
	$(BIN)/sentiment show out/tags.jsonl

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout=600

bench: install
	$(BIN)/python benchmarks/bench_extract.py
	$(BIN)/python benchmarks/bench_classify.py

lint: install
	$(BIN)/ruff check sentiment tests benchmarks

typecheck: install
	$(BIN)/mypy sentiment

clean:
	rm -rf out .pytest_cache .mypy_cache
