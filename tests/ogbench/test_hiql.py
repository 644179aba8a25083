"""HIQL's pieces checked by hand (expectile loss, advantage weights, the value target), one Trainer step with the
EMA target update, and the goal sampler's relabeling on a hand-built episode table. No ogbench needed."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from hirl.data.tables import StepTables, tables_from_state_episodes
from hirl.learn.offline_gc.sampling import GoalSampler
from hirl.policies.offline_gc.goal_sampling import GoalSampling
from hirl.policies.offline_gc.gcbc import GCBC, GCBCConfig
from hirl.policies.offline_gc.hiql import HIQL, MAX_AWR_WEIGHT, HIQLConfig, awr_weights, expectile_loss
from hirl.learn.trainer import Trainer, TrainerConfig


def test_expectile_loss_by_hand() -> None:
    adv = torch.tensor([1.0, -1.0, 0.0])
    diff = torch.tensor([2.0, 2.0, -3.0])
    # adv >= 0: 0.7 * diff^2; adv < 0: 0.3 * diff^2
    np.testing.assert_allclose(expectile_loss(adv, diff, 0.7).numpy(), [2.8, 1.2, 6.3], rtol=1e-6)


def test_awr_weights_by_hand() -> None:
    w = awr_weights(torch.tensor([0.0, 1.0, -1.0, 10.0]), alpha=3.0)
    np.testing.assert_allclose(w.numpy(), [1.0, math.exp(3.0), math.exp(-3.0), MAX_AWR_WEIGHT], rtol=1e-6)


def _tables(T: int = 30, episodes: int = 2, S: int = 3) -> StepTables:
    """Episodes of T steps whose state is (episode, t, t^2 / 100); achieved goal = state."""
    states = [np.stack([np.full(T + 1, e), np.arange(T + 1), np.arange(T + 1) ** 2 / 100], 1).astype(np.float32)[:, :S]
              for e in range(episodes)]
    actions = np.random.default_rng(0).uniform(-1, 1, (T * episodes, 2)).astype(np.float32)
    return tables_from_state_episodes(states, np.split(actions, episodes))


def test_goal_sampler_relabels_within_the_episode() -> None:
    t = _tables()
    sampler = GoalSampler(t, 512, GoalSampling(subgoal_steps=5))
    b = {k: v.numpy() for k, v in sampler(0, np.random.default_rng(1)).items()}
    ep, step = b["obs"][:, 0], b["obs"][:, 1]
    # next state: one step later in the same episode
    np.testing.assert_array_equal(b["next_obs"][:, 1], np.minimum(step + 1, 29))
    # reward 0 / mask 0 exactly when the value goal is the current state
    cur = (b["value_goal"] == b["obs"]).all(1)
    np.testing.assert_array_equal(b["reward"], np.where(cur, 0.0, -1.0))
    np.testing.assert_array_equal(b["mask"], 1.0 - cur)
    assert 0.1 < cur.mean() < 0.35  # p_cur = 0.2 (random goals almost never coincide)
    # actor goals: strictly later in the same episode; subgoal: 5 steps ahead capped at the end; target <= goal
    assert (b["actor_goal"][:, 0] == ep).all() and (b["actor_goal"][:, 1] > step).all()
    np.testing.assert_array_equal(b["subgoal"][:, 1], np.minimum(step + 5, 30))
    np.testing.assert_array_equal(b["high_target"][:, 1], np.minimum(step + 5, b["actor_goal"][:, 1]))
    np.testing.assert_array_equal(b["high_target_obs"][:, 1], np.minimum(b["high_target"][:, 1], 29))
    # validation batches are fixed
    rows = np.arange(10)
    assert torch.equal(sampler.gather(rows)["actor_goal"], sampler.gather(rows)["actor_goal"])


def test_hiql_value_loss_matches_the_formula_and_one_trainer_step(tmp_path: Path) -> None:
    torch.manual_seed(0)
    t = _tables()
    model = HIQL(HIQLConfig(3, 2, 3, hidden=(16, 16), rep_dim=4, subgoal_steps=5)).fit(t.obs, t.achieved)
    batch = GoalSampler(t, 64, GoalSampling(subgoal_steps=5))(0, np.random.default_rng(2))
    loss, metrics = model.loss(batch)
    # the value loss by hand, from the module's own networks
    s, s2, g = model.norm(batch["obs"]), model.norm(batch["next_obs"]), model.goal_norm(batch["value_goal"])
    with torch.no_grad():
        n1, n2 = model.target_value(s2, g)
        t1, t2 = model.target_value(s, g)
        v1, v2 = model.value(s, g)
    r, m = batch["reward"], batch["mask"]
    adv = r + 0.99 * m * torch.minimum(n1, n2) - (t1 + t2) / 2
    w = torch.where(adv >= 0, 0.7, 0.3)
    by_hand = (w * (r + 0.99 * m * n1 - v1) ** 2 + w * (r + 0.99 * m * n2 - v2) ** 2).mean()
    assert metrics["value_loss"] == pytest.approx(by_hand.item(), rel=1e-5)
    assert math.isfinite(loss.item()) and loss.ndim == 0
    # one optimizer step through the one Trainer: the target moves by tau toward the updated online value
    before = [p.detach().clone() for p in model.target_value.parameters()]
    cfg = TrainerConfig(max_steps=1, batch_size=64, lr=1e-3, grad_clip=None, tensorboard=False, progress=False,
                        checkpoint_every=1)
    Trainer(model, cfg, tmp_path / "run", GoalSampler(t, 64, GoalSampling(subgoal_steps=5))).fit()
    for old, new, online in zip(before, model.target_value.parameters(), model.value.parameters(), strict=True):
        torch.testing.assert_close(new, 0.995 * old + 0.005 * online, rtol=1e-5, atol=1e-6)
    assert not all(torch.equal(o, n) for o, n in zip(before, model.target_value.parameters(), strict=True))


def test_gcbc_learns_a_goal_direction(tmp_path: Path) -> None:
    """GCBC on data whose action is the sign of (goal - state) along dim 1: a few hundred steps fit it."""
    t = _tables(T=20, episodes=4)
    t.action[:] = 1.0  # states only move forward: the action toward any future goal is +1
    model = GCBC(GCBCConfig(3, 2, 3, hidden=(32, 32))).fit(t.obs, t.achieved)
    Trainer(model, TrainerConfig(max_steps=300, batch_size=64, lr=3e-3, tensorboard=False, progress=False,
                                 checkpoint_every=300), tmp_path / "gcbc", GoalSampler(t, 64, GoalSampling())).fit()
    with torch.no_grad():
        a = model(torch.tensor(t.obs[:5]), torch.tensor(t.achieved[10:15]))
    np.testing.assert_allclose(a.numpy(), 1.0, atol=0.1)
