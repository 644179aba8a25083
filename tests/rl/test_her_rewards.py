"""HER's relabelled rewards equal what each env's compute_reward gives: goal rewards recomputed for the new goals,
Tabletop's chain reward (not a function of the goals) kept as stored with its transition."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.her import HerReplayBuffer

from hirl.rl.config import AlgoSpec
from hirl.rl.sb3 import StoredRewardHerReplayBuffer, build_model
from hirl_envs.tabletop.expert import TabletopExpert


def _filled(env_id: str, steps: int) -> tuple[HerReplayBuffer, gym.Env]:
    """A SAC+HER model on env_id whose buffer holds `steps` transitions of the scripted expert (one-subtask chains complete, so
    the chain reward 1.0 is in the buffer)."""
    env = gym.make(env_id, chain_length=1)
    spec = AlgoSpec(buffer_size=steps + 10, learning_starts=10**6, batch_size=64, device="cpu")
    model = build_model(spec, env, seed=0)
    expert = TabletopExpert(env, seed=0)
    obs, _ = env.reset(seed=0)
    for _ in range(steps):
        instruction = env.unwrapped.current_subtask  # type: ignore[attr-defined]
        action = expert.act(obs, instruction) if instruction else np.zeros(4, np.float32)
        next_obs, reward, terminated, truncated, info = env.step(action)
        batched = {k: v[None] for k, v in obs.items()}
        model.replay_buffer.add(batched, {k: v[None] for k, v in next_obs.items()}, action[None], np.array([reward]),
                                np.array([terminated or truncated]), [info])
        obs = next_obs if not (terminated or truncated) else env.reset()[0]
    return model.replay_buffer, env


def _finished(buffer: HerReplayBuffer, n: int) -> np.ndarray:
    """Rows of the first n transitions whose episode has ended (HER draws future goals only within those)."""
    rows = np.nonzero(buffer.ep_length[:n, 0] > 0)[0]
    assert len(rows) > 50
    return rows


def test_chain_reward_is_kept_by_her_relabelling() -> None:
    buffer, env = _filled("hirl/Tabletop-v0", 400)
    assert type(buffer) is StoredRewardHerReplayBuffer
    assert buffer.rewards[:400].max() == 1.0  # subtasks completed: non-zero rewards to keep
    idx = _finished(buffer, 400)
    assert buffer.rewards[idx, 0].max() == 1.0
    virtual = buffer._get_virtual_samples(idx, np.zeros(len(idx), dtype=int))
    np.testing.assert_array_equal(virtual.rewards.numpy().ravel(), buffer.rewards[idx, 0])
    env.close()


def test_goal_reward_is_recomputed_for_the_relabelled_goals() -> None:
    buffer, env = _filled("hirl/TabletopGoal-v0", 200)
    assert type(buffer) is HerReplayBuffer
    idx = _finished(buffer, 200)
    virtual = buffer._get_virtual_samples(idx, np.zeros(len(idx), dtype=int))
    expected = env.unwrapped.goal_reward(buffer.next_observations["achieved_goal"][idx, 0],  # type: ignore[attr-defined]
                                         virtual.observations["desired_goal"].numpy())
    np.testing.assert_array_equal(virtual.rewards.numpy().ravel(), expected)
    env.close()
