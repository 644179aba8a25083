# Set-up and entry points. `make demo` and `make test` are the README's two commands.
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The one source of versions: base and every extra resolved once by pip-compile (`make lock`); every install is
# `pip install -c $(LOCK)`, so no later pip call can move a pinned package.
LOCK   := requirements/lock.txt
# The extras `make setup` installs with the base, in the same resolver pass (comma-separated, e.g. dev,ogbench,ray).
EXTRAS ?= dev
comma  := ,
STAMP  := $(VENV)/.hirl-installed-$(subst $(comma),-,$(EXTRAS))
export MUJOCO_GL ?= egl
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-all bench lint docs lock upgrade-check clean clean-runs

setup: $(STAMP)

# pip first (the lock's), then hirl with its extras in one pass. The lock pins torch==2.13.0: on a machine with the
# CPU wheel on disk pip takes it (2.13.0+cpu satisfies ==2.13.0); elsewhere PyPI's 2.13.0; never a newer release.
$(STAMP): pyproject.toml setup.py envs/autoregister.py $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -c $(LOCK) pip
	$(PY) -m pip install --quiet -c $(LOCK) -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/hirl demo --out runs/demo

# pytest exits 5 when no test ran; that is not a failure of the suite.
test: setup
	$(PY) -m pytest -q -m "not slow"; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests ran"; rc=0; fi; exit $$rc

test-all: setup
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

# ruff (rules in pyproject.toml [tool.ruff]) and mypy (files and settings in [tool.mypy]); both come from the dev
# extra at the lock's versions. Any finding fails the target.
lint: setup
	$(VENV)/bin/ruff check hirl envs tests experiments examples setup.py docs/_hooks
	$(VENV)/bin/mypy

# The user guide (mkdocs.yml) into site/, warnings (broken links included) as errors; needs the docs extra, which this
# target adds to the venv. Read it with `python -m http.server -d site` or open site/index.html.
DOCS_EXTRAS ?= dev,docs
docs:
	$(MAKE) setup EXTRAS=$(DOCS_EXTRAS)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

bench: setup
	$(VENV)/bin/hirl bench envs

# Re-resolve the lock from pyproject.toml (base + every extra) and requirements/lock.in, in a scratch venv with the
# lock's pip-tools. Existing pins are kept where still allowed; `make lock LOCK_FLAGS=--upgrade` takes the newest.
# The torch CPU wheel on disk is 2.13.0+cpu: the local label is dropped so the lock also installs where only
# PyPI's 2.13.0 exists.
LOCK_VENV  := .venv-lock
LOCK_FLAGS ?=
lock:
	rm -rf $(LOCK_VENV) && python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet -c $(LOCK) pip pip-tools
	$(LOCK_VENV)/bin/pip-compile --quiet --all-extras --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --no-emit-trusted-host $(LOCK_FLAGS) -o $(LOCK) pyproject.toml requirements/lock.in
	sed -i -E 's/^(torch==[^+ ]+)\+[a-z0-9.]+/\1/' $(LOCK)
	rm -rf $(LOCK_VENV)

# A future user's `pip install`, tried first: the newest versions pyproject.toml allows (no lock) in a scratch venv,
# then the fast suite there (without tests/test_lock.py, which checks the lock that this venv departs from).
UPGRADE_VENV := .venv-upgrade
upgrade-check:
	rm -rf $(UPGRADE_VENV) && python3 -m venv $(UPGRADE_VENV)
	$(UPGRADE_VENV)/bin/pip install --quiet --upgrade pip
	$(UPGRADE_VENV)/bin/pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev,browser,ray,ogbench,robotics]"
	$(UPGRADE_VENV)/bin/python requirements/venv_vs_lock.py  # what moved past the lock (or was added)
	$(UPGRADE_VENV)/bin/python -m pytest -q -m "not slow" --ignore=tests/test_lock.py; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

# Build artefacts only: the venvs, the built site, caches. Runs, datasets and evaluations under runs/ are kept;
# `make clean-runs CONFIRM=1` deletes them.
clean:
	rm -rf $(VENV) $(LOCK_VENV) $(UPGRADE_VENV) site .pytest_cache

# Deletes every run, dataset and evaluation under runs/ (trained models included): says what it would delete and
# stops unless CONFIRM=1.
clean-runs:
	@if [ "$(CONFIRM)" != "1" ]; then \
	  echo "make clean-runs deletes everything under runs/:"; du -sh runs/* 2>/dev/null || echo "  (runs/ is empty or absent)"; \
	  echo "run 'make clean-runs CONFIRM=1' to delete it"; exit 1; fi
	rm -rf runs
