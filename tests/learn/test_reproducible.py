"""A run config gives the same trained weights whatever the process did before (network initialisation is seeded
from the run's seed and the component's name, not drawn from the process's global torch RNG)."""
import hashlib

import torch

from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.learn.run import init_seed, train_run
from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig, TrainingBudgets
from hirl.learn.trainer import TrainerConfig


def _digest(directory):
    return hashlib.sha256((directory / "weights.safetensors").read_bytes()).hexdigest()


def test_same_config_same_weights_after_other_random_draws(tmp_path):
    data = tmp_path / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=3, workers=1, seed=5, chain_length=1), data, progress=False)
    tiny = TrainerConfig(max_steps=4, batch_size=16, eval_every=4, checkpoint_every=4, progress=False, tensorboard=False)
    cfg = RunConfig(dataset=str(data), collect=CollectSpec(episodes=3, chain_length=1, seed=5), agents=["hier_language"],
                    text_encoder="hash", val_fraction=0.0, train=TrainingBudgets(low=tiny, high=tiny),
                    eval=EvalSpec(episodes=1, chain_length=1, videos=0))
    train_run(cfg, tmp_path / "a", progress=False)
    torch.rand(1000)  # the process's global torch RNG moves on (as collection, encoders or other runs would)
    train_run(cfg, tmp_path / "b", progress=False)
    for c in ("low_language", "high_language"):
        assert _digest(tmp_path / "a" / "models" / c) == _digest(tmp_path / "b" / "models" / c)
    assert init_seed(0, "low_language") != init_seed(0, "high_language") != init_seed(1, "high_language")
