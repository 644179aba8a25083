"""`hirl train` + `hirl eval` of each OGBench baseline (GCIVL, GCIQL, QRL, CRL; the _cpu components) on a tiny
point-maze navigate dataset generated with OGBench's oracle: a few gradient steps, then evaluation episodes of 20
steps on OGBench's 5 tasks, through the CLI's entry point in this process."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("ogbench")

from hirl.cli import main
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.hierarchy.replan import ReplanConfig
from hirl.runs import RunDir

ENV = "ogbench/pointmaze-medium-v0"


@pytest.fixture(scope="module")
def maze_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 navigate episodes of 80 steps (the oracle's BFS direction plus OGBench's noise 0.5)."""
    out = tmp_path_factory.mktemp("maze") / "data"
    collect(CollectConfig(env=ENV, env_kwargs={"collection": "navigate", "max_episode_steps": 80}, episodes=2, workers=1,
                          noise=0.5, replan=ReplanConfig(detector="chain_progress", timeout=100_000)), out, progress=False)
    return out


@pytest.mark.parametrize("agent", ["gcivl_cpu", "gciql_cpu", "qrl_cpu", "crl_cpu"])
def test_train_and_eval_each_baseline(tmp_path: Path, maze_data: Path, agent: str) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"""imports: [hirl.learn.gc_plugin]
env: {ENV}
env_kwargs: {{max_episode_steps: 20}}
dataset: {maze_data}
agents: [{agent}]
obs_keys: [observation]
text_encoder: hash
paraphrase_augment: 0.0
val_fraction: 0.0
train:
  baseline: {{max_steps: 6, batch_size: 32, lr: 0.0003, grad_clip: null, checkpoint_every: 6, eval_every: 1000,
              torch_threads: 1}}
eval: {{episodes: 5, chain_length: 1, videos: 0}}
""")
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run)]) == 0
    summary = json.loads(RunDir(run).summary_path.read_text())
    assert summary["components"][agent]["steps"] == 6
    assert (run / "models" / agent / "weights.safetensors").is_file()
    assert main(["eval", str(run), "--episodes", "5"]) == 0
    per_task = json.loads((run / "eval" / "report.json").read_text())["policies"][agent]["per_subtask"]
    assert sorted(per_task) == [f"task{i}" for i in range(1, 6)]  # OGBench's 5 evaluation tasks, one episode each
    assert all(v["attempted"] == 1 for v in per_task.values())
