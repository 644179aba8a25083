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


CONFIGS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "experiments").rglob("*.yaml"))
OTHER_CONFIGS = {  # not runs
    "experiments/tabletop/corrections_loop.yaml": "hirl.teleop.sessions.config:CorrectionLoopConfig",
    "experiments/tabletop/corrections_loop_strong.yaml": "hirl.teleop.sessions.config:CorrectionLoopConfig",
    "experiments/tabletop/corrections_loop_redo.yaml": "hirl.teleop.sessions.config:CorrectionLoopConfig",
}
SCRIPT_CONFIGS = {  # read by their script's own checker (a function of the script: path -> what it reads)
    "experiments/tabletop/corrections_ablation.yaml": "experiments/tabletop/corrections_ablation.py:variants",
    "experiments/tabletop/corrections_ablation_noshift.yaml": "experiments/tabletop/corrections_ablation.py:variants",
}


def test_every_experiment_config_loads():
    """Every YAML under experiments/ builds its config (its base: files resolved, its registry names validated): a
    renamed field or a broken base: chain fails here, not at the start of a benchmark."""
    import importlib

    from hirl.config import load_config, read_config_file
    from hirl.runs import config_kind, run_kind

    import importlib.util

    assert "experiments/maze/large/rl_low.yaml" in CONFIGS and set(OTHER_CONFIGS) | set(SCRIPT_CONFIGS) <= set(CONFIGS)
    for name in CONFIGS:
        path = ROOT / name
        assert "base" not in read_config_file(path), name
        if name in SCRIPT_CONFIGS:
            script, func = SCRIPT_CONFIGS[name].split(":")
            spec = importlib.util.spec_from_file_location(Path(script).stem, ROOT / script)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            assert getattr(module, func)(path), name
        elif name in OTHER_CONFIGS:
            module, cls = OTHER_CONFIGS[name].split(":")
            load_config(getattr(importlib.import_module(module), cls), path)
        else:
            run_kind(config_kind(path)).read_config(path)
