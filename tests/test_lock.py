"""requirements/lock.txt is the one source of versions: pyproject's ranges admit every pin, and the venv running the
tests holds exactly the lock's versions (`pip check` clean, no package moved, none installed beside it)."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
_spec = importlib.util.spec_from_file_location("venv_vs_lock", ROOT / "requirements" / "venv_vs_lock.py")
assert _spec is not None and _spec.loader is not None
venv_vs_lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(venv_vs_lock)  # requirements/ is not a package: the one lock-comparison code, loaded by path
lock_pins, venv_differences = venv_vs_lock.lock_pins, venv_vs_lock.venv_differences


def pyproject_requirements() -> list[tuple[str, Requirement]]:
    """(where, requirement) for the base dependencies and every extra of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [("dependencies", Requirement(r)) for r in project["dependencies"]]
    for extra, listed in project["optional-dependencies"].items():
        reqs += [(f"optional-dependencies.{extra}", Requirement(r)) for r in listed]
    return reqs


def test_lock_pins_every_pyproject_requirement_inside_its_range() -> None:
    pins = lock_pins(LOCK.read_text())
    wrong = []
    for where, req in pyproject_requirements():
        name = canonicalize_name(req.name)
        if name not in pins:
            wrong.append(f"pyproject.toml {where}: {req.name} is not in the lock (run `make lock`)")
        elif not req.specifier.contains(Version(pins[name]), prereleases=True):
            wrong.append(f"pyproject.toml {where}: {req} does not admit the lock's {pins[name]} (run `make lock`)")
    assert not wrong, "\n".join(wrong)


def test_lock_has_no_machine_specifics() -> None:
    text = LOCK.read_text()
    pins = lock_pins(text)
    assert "+" not in pins["torch"], "torch's local label (+cpu) must be dropped: PyPI has no such file"
    assert not re.search(r"^\s*(--find-links|--index-url|--extra-index-url|-f )", text, re.M)
    assert "/opt/" not in text and "file://" not in text


def test_venv_differences_name_the_package() -> None:
    pins = {"mujoco": "4.0.1", "torch": "2.13.0"}
    assert venv_differences(pins, {"mujoco": "4.0.1", "torch": "2.13.0+cpu", "hirl": "0.1.0"}) == []
    moved = venv_differences(pins, {"mujoco": "3.17.0", "torch": "2.13.0", "jupyter": "1.0"})
    assert len(moved) == 2 and moved[0].startswith("jupyter: installed 1.0, not in requirements/lock.txt")
    assert moved[1].startswith("mujoco: installed 3.17.0, lock requirements/lock.txt says 4.0.1")


def test_venv_matches_the_lock() -> None:
    if sys.prefix == sys.base_prefix:
        pytest.skip("not in a virtual environment: the lock describes the project's venv")
    differences = venv_differences(lock_pins(LOCK.read_text()), venv_vs_lock.installed())
    assert not differences, "\n".join(differences)
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout.strip().splitlines()[0]
