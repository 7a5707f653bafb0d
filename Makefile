# tinybench: two commands on a fresh machine.
#   make demo   create .venv, install, run every notebook on the virtual board, print a summary
#   make test   create .venv, install, run the whole test suite
#   make lab    start JupyterLab with the tinybench kernel

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tinybench-installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export MPLBACKEND := Agg
export PYTHONUNBUFFERED := 1

.PHONY: install demo test lab lint format bench dataset clean help

help:
	@echo "make demo   - set up .venv and run the notebooks end to end on the virtual board"
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make lab    - set up .venv and start JupyterLab with the tinybench kernel"
	@echo "make lint   - ruff check and format check"
	@echo "make bench  - run the benchmarks in bench/ and print their figures"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[lab,dev]"
	$(PY) -m ipykernel install --sys-prefix --name tinybench --display-name "Python (tinybench)" >/dev/null
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tinybench demo

test: $(STAMP)
	$(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

lint: $(STAMP)
	$(VENV)/bin/ruff check tinybench tests bench scripts
	$(VENV)/bin/ruff format --check tinybench tests bench scripts

format: $(STAMP)
	$(VENV)/bin/ruff format tinybench tests bench scripts

bench: $(STAMP)
	$(PY) bench/capture_throughput.py
	$(PY) bench/tradeoff.py
	$(PY) bench/live_latency.py

dataset: $(STAMP)
	$(PY) scripts/make_gestures_dataset.py

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis .tinybench-cache
