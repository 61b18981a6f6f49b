# Quick start: `make demo` then `make test`. Both bootstrap .venv on a fresh machine.
# `make test-fast` while developing: the tests that need no sandbox crawl, Chromium, Redis or training
# (tiers: markers in pyproject.toml, applied in tests/conftest.py).
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
MODEL   := classifier/artifacts/model.skops
CORPUS  := $(wildcard classifier/corpus/*.jsonl) classifier/data/userdict.txt

FAST    := not (crawl or browser or redis or training or slow)

.PHONY: demo test test-fast lint install system-deps model bench clean

install: $(STAMP) system-deps

# Debian's Chromium is the only browser Sweep uses (`playwright install` is never run); redis-server
# serves distributed crawls and their tests. The fonts: Chinese and colour emoji (猫🐈池, not 猫▯池) in
# the review UI and evidence screenshots.
system-deps:
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/truetype/wqy -a -x /usr/bin/redis-server \
	  -a -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf || { \
	  echo "installing Debian chromium, Chinese and emoji fonts for screenshots and redis-server (needs root)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei \
	    fonts-noto-color-emoji redis-server; }

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,distributed,plots,sandbox]'
	touch $@

model: $(MODEL)

# The venv only has to exist (order-only): reinstalling packages does not make the trained model stale.
$(MODEL): $(CORPUS) $(wildcard classifier/*.py) | $(STAMP)
	$(BIN)/sweep train

demo: install model
	$(BIN)/sweep demo

test: install model lint
	$(BIN)/python -m pytest

test-fast: install model
	$(BIN)/python -m pytest -m "$(FAST)"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: install model
	$(BIN)/python bench/crawl.py
	$(BIN)/python bench/classify.py

clean:
	rm -rf $(VENV) .pytest_cache sweep.db sweep.db-* sweep-accounts.db* build *.egg-info
