"""The thin experiment scripts import the library API they drive (a renamed or moved name fails here, not hours
into a benchmark): each one's --help runs."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "experiments").rglob("*.py"))


def test_there_are_scripts():
    assert "experiments/benchmark.py" in SCRIPTS and "experiments/maze/rl_benchmark.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_runs(script):
    out = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage:" in out.stdout
