"""Seed determinism across MuJoCo versions: run the scripted experts on hirl's envs for fixed seeds and print one
SHA-256 digest of every observation and reward per env, plus how many chains/episodes succeeded.

Needs only mujoco, gymnasium and numpy beside envs/ (so it runs in a bare venv of another MuJoCo version with
`PYTHONPATH=.mypy`, where .mypy/hirl_envs is envs/):

    python experiments/mujoco/trajectory_digest.py --episodes 20 > runs/digest-$(python -c 'import mujoco; print(mujoco.__version__)').json
"""
from __future__ import annotations

import argparse
import hashlib
import json

import gymnasium as gym
import mujoco
import numpy as np

import hirl_envs  # noqa: F401  (registers the envs: a bare venv has no start-up hook)
from hirl_envs.maze.expert import MazeExpert
from hirl_envs.tabletop.expert import TabletopExpert


def _update(digest: "hashlib._Hash", obs: dict[str, np.ndarray], reward: float) -> None:
    for key in sorted(obs):
        digest.update(np.ascontiguousarray(obs[key], dtype=np.float64).tobytes())
    digest.update(np.float64(reward).tobytes())


def tabletop_digest(episodes: int, seed: int) -> dict[str, object]:
    """Digest of `episodes` 5-subtask chains driven by the scripted expert (noise 0.05, its own seeded noise)."""
    env, digest, completed = gym.make("hirl/Tabletop-v0", chain_length=5), hashlib.sha256(), []
    expert = TabletopExpert(env, noise=0.05, seed=seed)
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        expert.reset()
        _update(digest, obs, 0.0)
        done = False
        while not done:
            instruction = env.unwrapped.current_subtask  # type: ignore[attr-defined]
            action = expert.act(obs, instruction) if instruction is not None else np.zeros(env.action_space.shape, dtype=np.float32)
            obs, reward, terminated, truncated, info = env.step(action)
            _update(digest, obs, float(reward))
            done = terminated or truncated
        completed.append(len(info["completed_subtasks"]))
    env.close()
    return {"sha256": digest.hexdigest(), "avg_subtasks": float(np.mean(completed)), "episodes": episodes}


def maze_digest(episodes: int, seed: int) -> dict[str, object]:
    """Digest of `episodes` large-maze episodes driven by the BFS expert (noise 0.05)."""
    env, digest, success = gym.make("hirl/Maze-v0", layout="large"), hashlib.sha256(), []
    expert = MazeExpert(env, noise=0.05, seed=seed)
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        expert.reset()
        _update(digest, obs, 0.0)
        done = False
        while not done:
            action, _, _ = expert.act(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            _update(digest, obs, float(reward))
            done = terminated or truncated
        success.append(bool(info["is_success"]))
    env.close()
    return {"sha256": digest.hexdigest(), "success_rate": float(np.mean(success)), "episodes": episodes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="episodes per env")
    parser.add_argument("--seed", type=int, default=0, help="first env seed (episode i uses seed + i)")
    args = parser.parse_args()
    result = {"mujoco": mujoco.__version__, "tabletop": tabletop_digest(args.episodes, args.seed),
              "maze": maze_digest(args.episodes, args.seed)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
