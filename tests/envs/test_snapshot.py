"""SnapshotMixin: an env stepped ahead and restored continues bit for bit as if it had never been stepped."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import hirl_envs  # noqa: F401  (registers the envs)


def _run(env: gym.Env, actions: np.ndarray, lookahead_at: set[int], ahead: int) -> list[np.ndarray]:
    """Observation vectors of an episode driven by `actions`; at each step in lookahead_at, the unwrapped env is
    snapshotted, stepped `ahead` random steps, and restored."""
    base = env.unwrapped
    obs, _ = env.reset(seed=3)
    out = [np.concatenate([np.ravel(v) for v in obs.values()])]
    rng = np.random.default_rng(9)
    for t, a in enumerate(actions):
        if t in lookahead_at:
            snap = base.snapshot()
            for _ in range(ahead):
                base.step(rng.uniform(-1, 1, size=a.shape))
            base.restore(snap)
        obs, reward, term, trunc, _ = env.step(a)
        out.append(np.concatenate([np.ravel(v) for v in obs.values()] + [np.array([reward, term, trunc], float)]))
        if term or trunc:
            break
    return out


@pytest.mark.parametrize("env_id", ["hirl/Tabletop-v0", "hirl/Maze-v0"])
def test_restore_continues_bit_for_bit(env_id: str) -> None:
    env = gym.make(env_id)
    actions = np.random.default_rng(0).uniform(-1, 1, size=(60, env.action_space.shape[0]))
    plain = _run(env, actions, set(), 0)
    looked = _run(env, actions, {0, 7, 20, 41}, 25)
    env.close()
    assert len(plain) == len(looked)
    for a, b in zip(plain, looked, strict=True):
        np.testing.assert_array_equal(a, b)


def test_tabletop_restore_puts_back_light_and_chain() -> None:
    env = gym.make("hirl/Tabletop-v0")
    base = env.unwrapped
    env.reset(seed=1)
    snap = base.snapshot()
    light, index, rgba = base._light, base._index, base.model.geom_rgba[base._bulb].copy()
    base._set_light(1 - light)  # what pressing the button does
    base._index += 1
    base.restore(snap)
    assert (base._light, base._index) == (light, index)
    np.testing.assert_array_equal(base.model.geom_rgba[base._bulb], rgba)
    env.close()
