"""requirements/lock.txt is the one source of versions: pyproject's ranges admit every pin, and the venv running the
tests holds exactly the lock's versions (`pip check` clean, no package moved, none installed beside it)."""
from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
# Installed but never in the lock: the project itself, and what a CUDA build of torch brings on a GPU machine (the
# lock is resolved against the CPU wheel, whose metadata has none of these).
UNLOCKED = re.compile(r"^(hirl|nvidia-.*|triton|cuda-.*)$")


def lock_pins(text: str) -> dict[str, str]:
    """{canonical name: version} of every `name==version` line of a pip-compile output."""
    pins = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def venv_differences(pins: dict[str, str], installed: dict[str, str]) -> list[str]:
    """One line per package where the installed set departs from the lock: another version, or not in the lock.
    A local label (2.13.0+cpu, the wheel on disk) matches its public version (2.13.0)."""
    lines = []
    for name, version in sorted(installed.items()):
        if name in pins:
            if Version(version).public != Version(pins[name]).public:
                lines.append(f"{name}: installed {version}, lock {LOCK.relative_to(ROOT)} says {pins[name]}")
        elif not UNLOCKED.match(name):
            lines.append(f"{name}: installed {version}, not in {LOCK.relative_to(ROOT)} (run `make lock` or remove it)")
    return lines


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
    # the venv's site-packages only: Ray puts its vendored copies (ray/thirdparty_files: psutil, colorama) on sys.path
    site = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=site)}
    differences = venv_differences(lock_pins(LOCK.read_text()), installed)
    assert not differences, "\n".join(differences)
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout.strip().splitlines()[0]
