"""Fixtures of the OGBench tests: experiments/ogbench's scripts loaded as modules (they are not a package)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "experiments" / "ogbench"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sbs() -> ModuleType:
    """experiments/ogbench/side_by_side.py."""
    return _script("side_by_side")


@pytest.fixture(scope="module")
def swap() -> ModuleType:
    """experiments/ogbench/sampler_swap.py."""
    return _script("sampler_swap")
