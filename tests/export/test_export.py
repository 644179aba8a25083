"""`hirl export`: a tiny trained run's language hierarchy and flat policy exported, loaded by the standalone
hirl_policy.py in a separate Python process where hirl cannot be imported, and acting exactly as hirl's own agents on
the same observations (replans at the start, on completions, on timeouts included); agents that cannot be exported
fail in one line."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hirl.cli import main
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.errors import InputError
from hirl.export.torchscript import export_agent
from hirl.integrations import adapter
from hirl.learn.run import train_run
from hirl.learn.run_config import EvalSpec, RunConfig, TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.hierarchy.replan import ReplanConfig
from hirl.runs import RunDir
from hirl.runs.agents import load_agent

ENV = "hirl/Tabletop-v0"
TIMEOUT = 7  # the run's replan timeout: the high level is asked again every 7 steps without a completion
COMPLETIONS = (3, 11)  # steps at which the test's info reports a completed subtask (chain_progress fires next step)
STEPS = 25  # control steps compared per agent

# runs in `python -I` (no PYTHONPATH, no user site) from a copy of the export folder: hirl must stay unimportable
STANDALONE = """
import json, sys
sys.modules["hirl"] = None  # an installed hirl (e.g. editable) must not be reachable either
sys.modules["hirl_envs"] = None
sys.path.insert(0, sys.argv[1])
import numpy as np
from hirl_policy import load_policy
data = np.load(sys.argv[2], allow_pickle=False)
spec = json.loads(open(sys.argv[3]).read())
policy = load_policy(sys.argv[1])
policy.reset(spec["command"])
actions = []
for t in range(len(data["done"])):
    obs = {k: data["obs/" + k][t] for k in spec["keys"]}
    actions.append(policy.act(obs, done=bool(data["done"][t])))
loaded = [m for m, mod in sys.modules.items() if mod is not None and m.split(".")[0] in ("hirl", "hirl_envs")]
assert not loaded, f"hirl was imported: {loaded}"
np.save(sys.argv[4], np.stack(actions))
print(json.dumps({"instruction": policy.instruction}))
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    """hier_language + flat trained for 4 steps each on 3 expert episodes (hash text encoder)."""
    root = tmp_path_factory.mktemp("export")
    collect(CollectConfig(env=ENV, episodes=3, workers=1, seed=3, chain_length=2), root / "data", progress=False)
    tiny = TrainerConfig(max_steps=4, batch_size=16, eval_every=2, checkpoint_every=2, progress=False, tensorboard=False)
    cfg = RunConfig(dataset=str(root / "data"), agents=["hier_language", "flat"], text_encoder="hash",
                    obs_keys=["observation", "touch"], val_fraction=0.34,
                    train=TrainingBudgets(low=tiny, high=tiny, baseline=tiny),
                    replan=ReplanConfig(detector="chain_progress", timeout=TIMEOUT),
                    eval=EvalSpec(episodes=1, chain_length=1, videos=0))
    run_dir = RunDir(root / "run")
    train_run(cfg, run_dir, progress=False)
    return run_dir


def hirl_rollout(run: RunDir, agent_name: str) -> tuple[dict[str, np.ndarray], list[str], list[str | None], Any]:
    """STEPS steps of hirl's own agent in the env: (observations, done flags for the standalone, reasons, command).
    The info the agent sees reports a completed subtask after the steps in COMPLETIONS."""
    ad = adapter(ENV)
    env = ad.make()
    agent = load_agent(run, agent_name, env)
    obs, info = env.reset(seed=5, options=ad.reset_options(2))
    command = ad.command(info)
    agent.reset(command)
    rows: dict[str, list[np.ndarray]] = {}
    actions, reasons, completed = [], [], []
    for t in range(STEPS):
        action = agent.act(obs, {"completed_subtasks": completed})
        for k, v in obs.items():
            rows.setdefault(k, []).append(np.asarray(v))
        rows.setdefault("action", []).append(action)
        reasons.append(agent.trace[-1].reason if hasattr(agent, "trace") else None)
        actions.append(action)
        obs, _, terminated, truncated, info = env.step(action)
        if t in COMPLETIONS:
            completed = [*completed, f"subtask {t}"]
        assert not (terminated or truncated)
    env.close()
    return {k: np.stack(v) for k, v in rows.items()}, [str(s) for s in command.subtasks], reasons, agent


def standalone_actions(export: Path, rows: dict[str, np.ndarray], done: list[bool], command: list[str],
                       tmp: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """The actions hirl_policy.py gives in a separate `python -I` process, from a copy of the export folder."""
    copy = tmp / "deployed"
    shutil.copytree(export, copy)
    np.savez(tmp / "steps.npz", done=np.array(done), **{f"obs/{k}": v for k, v in rows.items() if k != "action"})
    (tmp / "spec.json").write_text(json.dumps({"command": command, "keys": [k for k in rows if k != "action"]}))
    proc = subprocess.run([sys.executable, "-I", "-c", STANDALONE, str(copy), str(tmp / "steps.npz"),
                           str(tmp / "spec.json"), str(tmp / "actions.npy")], capture_output=True, text=True,
                          cwd=tmp, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return np.load(tmp / "actions.npy"), json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("agent_name", ["hier_language", "flat"])
def test_exported_policy_acts_as_hirl_without_hirl(run: RunDir, agent_name: str, tmp_path: Path) -> None:
    assert main(["export", str(run.path), agent_name, "--out", str(tmp_path / "exported")]) == 0
    manifest = json.loads((tmp_path / "exported" / "manifest.json").read_text())
    assert manifest["observation"]["keys"] == ["observation", "touch"] and manifest["action"]["shape"] == [4]
    rows, command, reasons, agent = hirl_rollout(run, agent_name)
    done = [r == "completion" for r in reasons]
    actions, last = standalone_actions(tmp_path / "exported", rows, done, command, tmp_path)
    np.testing.assert_allclose(actions, rows["action"], atol=1e-5)
    if agent_name == "hier_language":
        assert manifest["kind"] == "hierarchical" and manifest["instructions"] == agent.high.model.candidates
        assert manifest["replan"]["timeout"] == TIMEOUT
        assert {"start", "completion", "timeout"} <= set(reasons)  # every replan path was compared
        assert last["instruction"] == agent.subgoal.value
    else:
        assert manifest["kind"] == "flat" and set(manifest["networks"]) == {"flat"}


def test_agents_that_cannot_be_exported_fail_in_one_line(run: RunDir, tmp_path: Path) -> None:
    for name in ("expert", "oracle_high", "hier_state"):
        with pytest.raises(InputError, match=f"agent '{name}' is not exportable: hirl export writes hier_language, flat"):
            export_agent(run.path, name, tmp_path / "x")
    with pytest.raises(InputError, match="unknown agent 'hier_langauge'"):
        export_agent(run.path, "hier_langauge", tmp_path / "x")
    with pytest.raises(InputError, match="hirl_policy_missing_run"):
        export_agent(tmp_path / "hirl_policy_missing_run", "flat", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_unknown_instruction_is_one_line(run: RunDir, tmp_path: Path) -> None:
    export_agent(run.path, "flat", tmp_path / "exported")
    sys.path.insert(0, str(tmp_path / "exported"))
    try:
        from hirl_policy import ExportError, load_policy  # type: ignore[import-not-found]

        policy = load_policy(tmp_path / "exported")
        with pytest.raises(ExportError, match="instruction 'juggle' is not one the exported policy knows"):
            policy.reset("juggle")
        with pytest.raises(ExportError, match="act before reset"):
            policy.act(np.zeros(55))
    finally:
        sys.path.remove(str(tmp_path / "exported"))
        sys.modules.pop("hirl_policy", None)
