# The two commands a new user runs:  make demo   and   make test
# Both create .venv (if needed), install htlink into it, and run.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint install bench bench-peers golden clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/python -m pytest -n 2 tests

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

# Peer tools (clkhash, anonlink, recordlinkage) live in their own venv: clkhash
# pins an old `cryptography`, so it must never share htlink's environment.
benchmarks/.peers-venv/.stamp: benchmarks/peers-requirements.txt
	$(PYTHON) -m venv benchmarks/.peers-venv
	benchmarks/.peers-venv/bin/python -m pip install --quiet -r benchmarks/peers-requirements.txt
	@touch $@

bench-peers: benchmarks/.peers-venv/.stamp

bench: $(STAMP) bench-peers
	$(BIN)/python benchmarks/bench_encode.py --peers-python benchmarks/.peers-venv/bin/python
	$(BIN)/python benchmarks/bench_encode_memory.py
	$(BIN)/python benchmarks/bench_match.py --peers-python benchmarks/.peers-venv/bin/python --repeats 1 --results benchmarks/results/match-quick.json
	$(BIN)/python benchmarks/bench_match_quality.py --peers-python benchmarks/.peers-venv/bin/python
	$(BIN)/python benchmarks/bench_blocking.py --rows 100000 --results benchmarks/results/blocking-100k.json

# Regenerate the clkhash golden vectors (needs the peers venv)
golden: bench-peers
	benchmarks/.peers-venv/bin/python tests/golden/make_clkhash_vectors.py

clean:
	rm -rf $(VENV) demo-output .cache .pytest_cache .ruff_cache
