# Set-up and entry points. `make demo` and `make test` are the README's two commands.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.hirl-installed
export MUJOCO_GL ?= egl
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-all bench lint clean

setup: $(STAMP)

# torch==2.13.0 first: it is the CPU wheel on disk; anything else would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml setup.py envs/autoregister.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/hirl demo --out runs/demo

# pytest exits 5 when no test ran; that is not a failure of the suite.
test: setup
	$(PY) -m pytest -q -m "not slow"; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests ran"; rc=0; fi; exit $$rc

test-all: setup
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

# ruff (rules in pyproject.toml [tool.ruff]) and mypy (files and settings in [tool.mypy]); both are pinned in the
# dev extra, installed here if an older venv lacks them. Any finding fails the target.
lint: setup
	test -x $(VENV)/bin/ruff -a -x $(VENV)/bin/mypy || $(PY) -m pip install --quiet -e ".[dev]"
	$(VENV)/bin/ruff check hirl envs tests experiments examples setup.py
	$(VENV)/bin/mypy

bench: setup
	$(VENV)/bin/hirl bench envs

clean:
	rm -rf $(VENV) runs .pytest_cache
