"""A tiny trained Tabletop run (12 demos of 5 subtasks: every skill in its vocabulary, hash text encoder, a few
optimizer steps) shared by the teleop tests:
it checks plumbing; the benchmark (experiments/corrections_benchmark.py) measures learning."""
import pytest

from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.learn.run_config import TrainingBudgets
from hirl.learn.run import train_run
from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig
from hirl.learn.trainer import TrainerConfig


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("teleop")
    data = root / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=12, workers=1, seed=3, chain_length=5), data, progress=False)
    tiny = TrainerConfig(max_steps=12, batch_size=32, eval_every=6, checkpoint_every=6, progress=False, tensorboard=False)
    cfg = RunConfig(dataset=str(data), collect=CollectSpec(episodes=12, chain_length=5, seed=3), agents=["hier_language"],
                    text_encoder="hash", val_fraction=0.25,
                    train=TrainingBudgets(low=tiny, high=tiny, baseline=tiny, image=tiny),
                    eval=EvalSpec(episodes=1, chain_length=2, videos=0))
    run = root / "run"
    train_run(cfg, run, progress=False)
    return run


@pytest.fixture(scope="session")
def two_agent_run(tiny_run, tmp_path_factory):
    """tiny_run's data and budgets, trained for a language and a state hierarchy (hier_language, hier_state): the run
    the tests of sessions of another agent than the default correct."""
    import dataclasses

    from hirl.config import load_config

    cfg = dataclasses.replace(load_config(RunConfig, tiny_run / "config.yaml"), agents=["hier_language", "hier_state"])
    run = tmp_path_factory.mktemp("teleop_state") / "run"
    train_run(cfg, run, progress=False)
    return run
