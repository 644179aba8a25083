"""Non-default action heads end to end: `head:` of a run config -> hirl.learn.run.train_run (low level, flat and
chain-of-thought, adapt) -> hirl.eval.evaluate.evaluate_run, on a tiny Tabletop dataset with the hash text encoder and
a few optimizer steps (plumbing, not learning)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.eval.evaluate import evaluate_run
from hirl.learn.run import train_run
from hirl.learn.run_config import AdaptSpec, CollectSpec, EvalSpec, RunConfig, TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.policies.heads import HeadConfig
from hirl.policies.heads.diffusion import DiffusionHeadConfig
from hirl.runs import RunDir, load_agent


@pytest.fixture(scope="module")
def tabletop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("heads_e2e") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=4, workers=1, seed=5, chain_length=2), path, progress=False)
    return path


def config(data: Path, head: HeadConfig, agents: list[str], adapt: bool = False) -> RunConfig:
    tiny = TrainerConfig(max_steps=8, batch_size=16, eval_every=4, checkpoint_every=4, progress=False, tensorboard=False)
    return RunConfig(dataset=str(data), collect=CollectSpec(episodes=4, chain_length=2, seed=5), agents=agents,
                     text_encoder="hash", val_fraction=0.25, head=head,
                     train=TrainingBudgets(low=tiny, high=tiny, baseline=tiny, image=tiny),
                     adapt=AdaptSpec(enabled=adapt, rounds=1, episodes=1, steps=4),
                     eval=EvalSpec(episodes=1, chain_length=1, videos=0))


def test_chunk_head_trains_adapts_and_evaluates(tabletop: Path, tmp_path: Path) -> None:
    head = HeadConfig(kind="chunk", horizon=4, execute=2, history=2, grip="binary", loss="l1")
    cfg = config(tabletop, head, ["hier_language", "flat", "cot"], adapt=True)
    run = tmp_path / "run"
    summary = train_run(cfg, RunDir(run), progress=False)
    assert set(summary["components"]) == {"low_language", "high_language", "flat", "cot"}
    for c in ("low_language", "flat", "cot"):
        saved = json.loads((run / "models" / c / "config.json").read_text())["config"]["head"]
        assert (saved["kind"], saved["horizon"], saved["history"], saved["grip"]) == ("chunk", 4, 2, "binary")
    assert "head" not in json.loads((run / "models" / "high_language" / "config.json").read_text())["config"]
    assert summary["adapt"]["hier_language"][0]["components"]["low_language"]["steps"] == 4
    report = evaluate_run(run, ["oracle_high", "flat", "cot", "hier_language+adapt"], out=tmp_path / "eval", cfg=cfg)
    for m in report["policies"].values():
        assert m["episodes"] == 1 and m["latency"]["control_step_ms"]["p99"] > 0
    # the same trained chunk head run with temporal ensembling: an eval-time override of the run config
    low = load_agent(run, "oracle_high", cfg=cfg, overrides=()).low
    assert low.runner.config.execution == "receding"
    ensembled = load_agent(run, "oracle_high", overrides=["head.execution=ensemble"]).low
    assert ensembled.runner.config.execution == "ensemble" and ensembled.runner.config.horizon == 4
    again = evaluate_run(run, ["oracle_high"], out=tmp_path / "ensemble", overrides=["head.execution=ensemble"])
    assert again["policies"]["oracle_high"]["episodes"] == 1


def test_diffusion_head_trains_and_evaluates(tabletop: Path, tmp_path: Path) -> None:
    head = DiffusionHeadConfig(kind="diffusion", horizon=4, execute=4, diffusion_train_steps=20, diffusion_steps=3,
                      denoiser_width=32, denoiser_blocks=1)
    cfg = config(tabletop, head, ["hier_language"])
    run = tmp_path / "run"
    train_run(cfg, RunDir(run), progress=False)
    report = evaluate_run(run, ["oracle_high"], out=tmp_path / "eval", cfg=cfg)
    assert report["policies"]["oracle_high"]["episodes"] == 1
    low = load_agent(run, "oracle_high", cfg=cfg).low
    assert low.model.config.head.kind == "diffusion" and low.runner.config.diffusion_steps == 3
