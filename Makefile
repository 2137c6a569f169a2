# mexp: the two entry points are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV  ?= .venv
PY    := $(VENV)/bin/python
CORES ?= $(shell nproc)
CONTRIB := opencv-contrib-python-headless

.PHONY: demo test test-fast fuzz install install-face-alignment install-slurm install-system check-cv2 lint check clean

install: $(VENV)/.installed

# The venv is rebuilt only when the dependency files change. After every install the cv2 that
# imports must be the contrib build (TV-L1 in cv2.optflow): check-cv2 repairs it if another
# OpenCV wheel (opencv-python, pulled by face-alignment) overwrote the shared cv2/ folder.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	$(MAKE) --no-print-directory check-cv2
	touch $@

check-cv2:
	@if ! $(PY) -c 'import cv2; cv2.optflow.DualTVL1OpticalFlow_create' 2>/dev/null; then \
	  echo "cv2 is not the contrib build: removing other OpenCV wheels and reinstalling $(CONTRIB)"; \
	  $(PY) -m pip uninstall -q -y opencv-python opencv-python-headless opencv-contrib-python $(CONTRIB); \
	  $(PY) -m pip install -q -c constraints.txt --force-reinstall --no-deps $(CONTRIB); \
	fi
	@$(PY) -c 'import cv2; cv2.optflow.DualTVL1OpticalFlow_create; print("cv2", cv2.__version__, "(contrib, TV-L1 available)")'

# Optional FAN landmark backend. face-alignment declares opencv-python; we install it without
# dependencies, add the ones it really needs, and keep the contrib cv2.
install-face-alignment: $(VENV)/.face-alignment

$(VENV)/.face-alignment: $(VENV)/.installed
	$(PY) -m pip install -q -c constraints.txt --no-deps face-alignment
	$(PY) -m pip install -q -c constraints.txt numba tqdm requests
	$(MAKE) --no-print-directory check-cv2
	touch $@

# The SLURM executor plugin for profiles/slurm. Its metadata asks for numpy >= 2.4.5 although
# it uses numpy only in its optional efficiency report; we keep the tested numpy and install the
# plugin without dependencies, adding the ones it needs.
install-slurm: $(VENV)/.slurm

$(VENV)/.slurm: $(VENV)/.installed
	$(PY) -m pip install -q -c constraints.txt --no-deps snakemake-executor-plugin-slurm snakemake-executor-plugin-slurm-jobstep
	$(PY) -m pip install -q -c constraints.txt throttler
	touch $@

# Debian packages for the real single-node SLURM test and the report test (root, as in CI):
# slurm-wlm, slurmdbd, munge, mariadb-server, chromium. Installed only when missing.
SYSTEM_PACKAGES := slurm-wlm slurmdbd munge mariadb-server chromium
install-system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The demo's tables, then the HTML report of the same targets (tables, figures, captions).
DEMO_TARGETS := results/demo_loso_metrics.csv results/demo_spotting_metrics.csv results/qc/demo_faces.csv
demo: install
	$(VENV)/bin/snakemake --cores $(CORES) $(DEMO_TARGETS)
	$(VENV)/bin/snakemake --report results/demo_report.html $(DEMO_TARGETS)

# The tests cover the optional FAN backend too, and prove that its install keeps contrib cv2.
# They run in TEST_WORKERS processes (pytest-xdist; auto: one per CPU), a test file per worker
# (--dist loadfile: a file's module fixtures are built once). TEST_WORKERS=0 runs them in one.
TEST_WORKERS ?= auto
test: install install-face-alignment install-slurm install-system
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The development subset: everything but the tests marked slow (workflow runs, network training,
# SLURM), a few minutes on 2 cores. CI runs `make check` and the whole `make test`.
test-fast: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not slow"

# The property tests exploring new random examples, 20 times as many as the fixed suite draws
# (make test derandomises them: tests/conftest.py). Keep what it finds as an @example of the test.
fuzz: install
	MEXP_HYPOTHESIS=fuzz $(PY) -m pytest -m "not slow" -p no:cacheprovider tests/test_faults.py -k fuzzed

lint: install
	$(VENV)/bin/python workflow/lint.py

# The checkers configured in pyproject.toml, then Snakemake's linter; CI (.ci/run) runs this before `make test`.
check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/snakefmt --check workflow Snakefile
	$(VENV)/bin/python workflow/lint.py

clean:
	rm -rf results logs benchmarks/*/ .snakemake
