"""DIAYN: the discriminator reward against a hand-computed value, the replay buffer's recomputed rewards, and a short
end-to-end run on the toy point env exported into a skill library and driven by a HierarchicalAgent."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.rollout import run_episode
from hirl.policies.scripted import ScriptedHighLevel
from hirl.skills.diayn import (
    DiaynEnv, DiaynLowLevel, diayn_library, diayn_reward, load_discriminator, save_diayn, train_diayn,
)
from hirl.types import Command
from tests.fixtures.point_env import PointGoalEnv


def test_reward_matches_the_hand_computed_value():
    # K = 4, logits (0, ln 3, 0, 0): q = (1/6, 3/6, 1/6, 1/6); p(z) = 1/4
    logits = torch.tensor([[0.0, math.log(3.0), 0.0, 0.0], [0.0, math.log(3.0), 0.0, 0.0]])
    r = diayn_reward(logits, torch.tensor([1, 0]))
    assert r[0].item() == pytest.approx(math.log(0.5) - math.log(0.25))  # = ln 2
    assert r[1].item() == pytest.approx(math.log(1 / 6) - math.log(0.25))  # = ln(2/3) < 0
    uniform = diayn_reward(torch.zeros(1, 8), torch.tensor([5]))
    assert uniform.item() == pytest.approx(0.0, abs=1e-6)  # an undecided discriminator pays nothing


def test_short_run_exports_skills_that_a_hierarchical_agent_runs(tmp_path):
    env = DiaynEnv(PointGoalEnv(max_steps=1000), n_skills=4, obs_key="observation", feature_idx=[0, 1], horizon=20)
    obs, _ = env.reset(seed=0, options={"skill": 2})
    assert obs.shape == (6,) and obs[2 + 2] == 1.0 and env.skill == 2
    model, disc, cb = train_diayn(env, steps=300, seed=0, net_arch=(16, 16), learning_starts=100)
    buf = model.replay_buffer
    batch = buf.sample(32)
    with torch.no_grad():
        feats, z = buf.skill_features(batch.next_observations)
        expected = diayn_reward(disc(feats), z).view(-1, 1)
    np.testing.assert_allclose(batch.rewards.numpy(), expected.numpy(), rtol=1e-5)  # the rewards SAC learns from
    assert cb.updates == (300 - 100) // 4 + 1  # one discriminator step every train_freq env steps once learning started

    directory = save_diayn(tmp_path / "diayn", model, disc, env)
    back = load_discriminator(directory)
    x = torch.randn(5, 2)
    torch.testing.assert_close(back(x), disc(x))
    library = diayn_library(directory)
    assert library.names == ["diayn_0", "diayn_1", "diayn_2", "diayn_3"]
    assert all(s.timeout == 20 and s.detector == "never" for s in library)
    low = DiaynLowLevel.load(directory)
    order = iter(["diayn_1", "diayn_3", "diayn_0"] * 10)
    high = ScriptedHighLevel(lambda o, c: library.get(next(order)).subgoal)
    agent = HierarchicalAgent(high, low, library.termination(None), initiation=library.initiation)
    base = PointGoalEnv(max_steps=60)
    r = run_episode(base, agent, lambda info: Command("wander"), seed=1)
    assert r.steps == 60 and r.subgoals == 3  # three skills of 20 steps each, each ended by its timeout
    assert [e.reason for e in agent.trace if e.reason] == ["start", "timeout", "timeout"]
