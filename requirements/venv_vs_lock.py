"""Where a venv departs from requirements/lock.txt: one line per package installed at another version than the
lock's, or installed and not in the lock. tests/test_lock.py fails on any such line; `make upgrade-check` prints
them for its unpinned venv (what a future user's `pip install` would move).

    python requirements/venv_vs_lock.py          # the running interpreter's site-packages against the lock
"""
from __future__ import annotations

import re
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

LOCK = Path(__file__).resolve().parent / "lock.txt"
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


def installed() -> dict[str, str]:
    """{canonical name: version} of the distributions in this interpreter's site-packages (only there: Ray puts its
    vendored copies, ray/thirdparty_files with psutil and colorama, on sys.path)."""
    site = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=site)}


def venv_differences(pins: dict[str, str], found: dict[str, str], lock_name: str = "requirements/lock.txt") -> list[str]:
    """One line per package where `found` departs from the lock: another version, or not in the lock. A local label
    (2.13.0+cpu, the wheel on disk) matches its public version (2.13.0)."""
    lines = []
    for name, version in sorted(found.items()):
        if name in pins:
            if Version(version).public != Version(pins[name]).public:
                lines.append(f"{name}: installed {version}, lock {lock_name} says {pins[name]}")
        elif not UNLOCKED.match(name):
            lines.append(f"{name}: installed {version}, not in {lock_name} (run `make lock` or remove it)")
    return lines


def main() -> int:
    lines = venv_differences(lock_pins(LOCK.read_text()), installed())
    print("\n".join(lines) if lines else f"{sys.prefix}: every installed package is at the lock's version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
