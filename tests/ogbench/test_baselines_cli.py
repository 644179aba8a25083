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


def test_run_config_networks_sets_a_components_fields(tmp_path: Path, maze_data: Path) -> None:
    """`networks: {gciql_cpu: {normalize: false, alpha: 0.5}}` reaches the trained network's saved config; a field the
    network lacks, or a component the agents do not use, is one line naming the key."""
    from hirl.config import load_config
    from hirl.errors import InputError
    from hirl.policies.offline_gc.gciql import GCIQL
    from hirl.learn.run import train_run
    from hirl.learn.run_config import RunConfig
    from hirl.runs.agents import component

    def config(networks: str) -> Path:
        path = tmp_path / "run.yaml"
        path.write_text(f"""imports: [hirl.learn.gc_plugin]
env: {ENV}
dataset: {maze_data}
agents: [gciql_cpu]
obs_keys: [observation]
text_encoder: hash
paraphrase_augment: 0.0
val_fraction: 0.0
networks: {networks}
train:
  baseline: {{max_steps: 2, batch_size: 16, checkpoint_every: 2, eval_every: 1000, torch_threads: 1}}
""")
        return path

    run = tmp_path / "run"
    assert main(["train", str(config("{gciql_cpu: {normalize: false, alpha: 0.5}}")), "--out", str(run)]) == 0
    model = GCIQL.load(run / "models" / "gciql_cpu")
    assert model.config.normalize is False and model.config.alpha == 0.5
    assert float(model.norm.std.min()) == 1.0 and float(model.norm.mean.abs().max()) == 0.0  # raw inputs
    with pytest.raises(InputError, match=r"networks\.gciql_cpu\.width: not a field of GCIQLConfig"):
        train_run(load_config(RunConfig, config("{gciql_cpu: {width: 3}}")), tmp_path / "r2", progress=False)
    with pytest.raises(InputError, match=r"networks\.gcbc_cpu: not a component of the run's agents \(gciql_cpu\)"):
        train_run(load_config(RunConfig, config("{gcbc_cpu: {normalize: false}}")), tmp_path / "r3", progress=False)
    with pytest.raises(InputError, match=r"networks\.high_image: this component's network takes no fields"):
        component("high_image").set_network_fields({"hidden": [8]})
