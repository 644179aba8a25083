"""The plugin example of docs/custom-env.md end to end, as a user runs it: Gymnasium's Reacher-v5 (an env hirl did
not write) through examples/reacher_plugin — `hirl collect --import` with 2 worker processes, `hirl train` of the
example config (its `imports:` key), `hirl eval` of the run (the saved config imports the plugin again). Each
command is a fresh process with examples/ on PYTHONPATH; nothing is installed. 6 episodes, a few optimizer steps."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hirl.cli import main
from hirl.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "reacher_plugin"
TINY_BUDGET = (("max_steps", 8), ("batch_size", 32), ("eval_every", 4), ("checkpoint_every", 4), ("progress", "false"),
               ("tensorboard", "false"))  # a few optimizer steps per network: the plumbing, not the learning
TINY = [f"train.{n}.{k}={v}" for n in ("low", "high", "baseline") for k, v in TINY_BUDGET]


def _hirl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "examples"), MUJOCO_GL="egl", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "hirl.cli", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_reacher_plugin_collect_train_eval(tmp_path: Path) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    done = _hirl("collect", "--env", "Reacher-v5", "--import", "reacher_plugin.plugin", "--episodes", "6",
                 "--workers", "2", "--out", str(data), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["episodes"] == 6 and summary["success_rate"] >= 0.5  # the heuristic expert reaches most targets

    done = _hirl("train", str(EXAMPLE / "reacher.yaml"), f"dataset={data}", "val_fraction=0.2", *TINY,
                 "--out", str(run), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"low_state", "high_state", "flat"} <= {p.name for p in (run / "models").iterdir()}

    done = _hirl("eval", str(run), "--episodes", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((run / "eval" / "report.json").read_text())
    assert set(report["policies"]) == {"hier_state", "flat"}
    assert all(m["episodes"] == 2 for m in report["policies"].values())


def test_an_env_without_adapter_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["collect", "--env", "Pendulum-v1", "--episodes", "1", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Gymnasium env without a hirl adapter" in err and "docs/custom-env.md" in err
    assert main(["collect", "--env", "Reacher-v5", "--import", "no_such_plugin.mod", "--episodes", "1",
                 "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("hirl collect: error: --import[0]: cannot import plugin module 'no_such_plugin.mod' "
                   "(ModuleNotFoundError: No module named 'no_such_plugin')")


def test_entry_point_plugins_load_on_the_first_registry_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed package's "hirl.plugins" entry point is imported when a registry misses a name (once)."""
    import importlib.metadata
    import sys

    import hirl.plugins
    from hirl.registry import REPLAN_RULES

    point = importlib.metadata.EntryPoint("fixture", "tests.fixtures.point_env", hirl.plugins.PLUGIN_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [point] if group == point.group else [])
    monkeypatch.setattr(hirl.plugins, "_entry_points_loaded", False)
    monkeypatch.delitem(sys.modules, "tests.fixtures.point_env", raising=False)
    assert "no_such_rule" not in REPLAN_RULES and "tests.fixtures.point_env" in sys.modules
    broken = importlib.metadata.EntryPoint("broken", "no_such_plugin.mod", hirl.plugins.PLUGIN_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    monkeypatch.setattr(hirl.plugins, "_entry_points_loaded", False)
    with pytest.raises(InputError, match=r"entry point 'broken' \(hirl.plugins: no_such_plugin.mod\) failed to load"):
        REPLAN_RULES.get("no_such_rule")
