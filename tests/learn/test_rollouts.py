"""Rollout evaluation while `hirl train` trains an imitation run (train.<budget>.rollout_every): each network is
tracked by the agent that uses it (the language low level with the expert's high level, the high level with the
freshly trained low level), on the run's own eval protocol, with a video in TensorBoard; on by default in runs at
least rollout_every steps long; skipped, in one line, when the env cannot be made."""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.learn.rollouts import tracking_agent
from hirl.learn.run import train_run
from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig, TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.runs import RunDir
from hirl.tracking import TrackingConfig


@pytest.fixture(scope="module")
def tabletop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tt") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=4, workers=1, seed=3, chain_length=2), path, progress=False)
    return path


def rollout_rows(run: Path, component: str) -> list[dict[str, str]]:
    with open(run / "train" / component / "metrics.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["split"] == "rollout"]


def config(dataset: Path, low: TrainerConfig, other: TrainerConfig) -> RunConfig:
    return RunConfig(dataset=str(dataset), collect=CollectSpec(episodes=4, chain_length=2, seed=3),
                     agents=["hier_language", "flat"], text_encoder="hash", val_fraction=0.25,
                     train=TrainingBudgets(low=low, high=other, baseline=other, image=other),
                     eval=EvalSpec(episodes=1, chain_length=1, videos=0), env_kwargs={"max_episode_steps": 60})


def test_which_agent_tracks_which_network() -> None:
    cfg = RunConfig(agents=["hier_language", "flat"], text_encoder="hash")
    assert tracking_agent(cfg, "low_language", []) == "oracle_high"  # its high level is not trained yet
    assert tracking_agent(cfg, "high_language", ["low_language"]) == "hier_language"
    assert tracking_agent(cfg, "flat", ["low_language", "high_language"]) == "flat"
    state = RunConfig(agents=["hier_state"], text_encoder="hash")
    # the expert's own goals (run ahead in the env) drive a state low level alone
    assert tracking_agent(state, "low_state", []) == "oracle_state"
    assert tracking_agent(state, "high_language", []) is None  # not without its low level
    assert tracking_agent(state, "high_state", ["low_state"]) == "hier_state"


def test_train_run_logs_rollouts_of_each_network(tabletop: Path, tmp_path: Path) -> None:
    base = TrainerConfig(batch_size=32, eval_every=6, checkpoint_every=6, progress=False)
    low = replace(base, max_steps=12, rollout_every=6, rollout_episodes=2, tensorboard=True,
                  tracking=TrackingConfig(videos=1, frame_every=20, video_size=32))
    other = replace(base, max_steps=6, rollout_every=6, rollout_episodes=1, tensorboard=False)
    run = tmp_path / "run"
    train_run(config(tabletop, low, other), RunDir(run), progress=False)
    rows = rollout_rows(run, "low_language")
    assert [int(r["step"]) for r in rows] == [6, 12]
    for r in rows:  # 2 one-subtask chains: success and chain length are fractions of 2, and equal
        assert float(r["success_rate"]) in (0.0, 0.5, 1.0) and r["success_rate"] == r["avg_chain_length"]
        assert float(r["high_level_queries_per_episode"]) >= 1  # the expert's high level was asked (oracle_high)
    assert [int(r["step"]) for r in rollout_rows(run, "high_language")] == [6]
    assert [int(r["step"]) for r in rollout_rows(run, "flat")] == [6]
    assert float(rollout_rows(run, "flat")[0]["high_level_queries_per_episode"]) == 0  # flat: no high level

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "train" / "low_language" / "tb"), size_guidance={"images": 0})
    acc.Reload()
    assert [e.step for e in acc.Images("rollout/video_0")] == [6, 12]
    assert [e.step for e in acc.Scalars("rollout/success_rate")] == [6, 12]


def test_rollouts_are_on_by_default_but_not_in_runs_shorter_than_their_interval(tabletop: Path, tmp_path: Path) -> None:
    assert TrainerConfig().rollout_every > 0 and TrainerConfig().tracking == TrackingConfig()
    tiny = TrainerConfig(max_steps=4, batch_size=16, eval_every=4, checkpoint_every=4, progress=False, tensorboard=False)
    run = tmp_path / "run"
    train_run(config(tabletop, tiny, tiny), RunDir(run), progress=False)
    assert rollout_rows(run, "low_language") == []


def test_a_network_whose_env_cannot_be_made_trains_without_rollouts(tabletop: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from hirl.learn.kind import ImitationKind

    def missing(*args: object, **kwargs: object) -> None:
        raise ImportError("the env's package is not installed")

    monkeypatch.setattr(ImitationKind, "make_env", missing)
    base = TrainerConfig(batch_size=16, eval_every=4, checkpoint_every=4, progress=False, tensorboard=False)
    every = replace(base, max_steps=4, rollout_every=4, rollout_episodes=1)
    run = tmp_path / "run"
    train_run(config(tabletop, every, every), RunDir(run), progress=False)
    assert rollout_rows(run, "low_language") == [] and (run / "models" / "low_language").is_dir()
    out = capsys.readouterr().out
    assert "rollouts: cannot make hirl/Tabletop-v0 to track low_language (ImportError: the env's package is not " \
           "installed); it trains without rollouts" in out
