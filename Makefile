# tinybench: two commands on a fresh machine.
#   make demo   create .venv, install, run every notebook on the virtual board, print a summary
#   make test   create .venv, install, run the whole test suite
#   make lab    start JupyterLab with the tinybench kernel

PYTHON ?= python3
VENV   := .venv
# A classroom without internet: `make wheelhouse` once on a connected machine, copy the folder
# with the repo, and every install then comes from it.
WHEELHOUSE ?= wheelhouse
PIP_FROM := $(if $(wildcard $(WHEELHOUSE)/*.whl),--no-index --find-links $(WHEELHOUSE),)
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tinybench-installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONUNBUFFERED := 1

.PHONY: install demo test browser-test firmware-test system-packages lab lint format bench dataset wheelhouse clean help

help:
	@echo "make demo   - set up .venv and run the notebooks end to end on the virtual board"
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make lab    - set up .venv and start JupyterLab with the tinybench kernel"
	@echo "make browser-test  - only the JupyterLab-in-Chromium tests"
	@echo "make firmware-test - only the QEMU / simavr firmware tests"
	@echo "make system-packages - apt-get install chromium, arm/avr toolchains, qemu, simavr (root)"
	@echo "make lint   - ruff check and format check"
	@echo "make bench  - run the benchmarks in bench/ and print their figures"
	@echo "make wheelhouse - download every wheel into wheelhouse/ for offline installs"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_FROM) --upgrade pip
	$(PY) -m pip install --quiet $(PIP_FROM) -e ".[lab,dev,cluster]"
	$(PY) -m ipykernel install --sys-prefix --name tinybench --display-name "Python (tinybench)" >/dev/null
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tinybench demo

test: $(STAMP)
	$(PY) -m pytest

# The real-world tests alone: JupyterLab in headless Chromium, and firmware on QEMU and simavr.
# Without the Debian packages they skip and say what to install (`make system-packages`).
browser-test: $(STAMP)
	$(PY) -m pytest -m browser

firmware-test: $(STAMP)
	$(PY) -m pytest -m firmware

# Debian/Ubuntu, as root: chromium, the Arm and AVR toolchains, QEMU and simavr.
system-packages:
	.ci/system-packages

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
	$(PY) bench/capture_faults.py
	TINYBENCH_TFLM_LIBRARY=$${TINYBENCH_TFLM_LIBRARY:-$(abspath ../shared/vendor/Chirale_TensorFlowLite)} $(PY) bench/firmware.py
	$(PY) bench/browser_latency.py

dataset: $(STAMP)
	$(PY) scripts/make_gestures_dataset.py

wheelhouse:
	$(PYTHON) -m pip download --dest $(WHEELHOUSE) pip setuptools wheel ".[lab,dev]"

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis .tinybench-cache
