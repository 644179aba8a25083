"""Seed determinism across MuJoCo versions: run the scripted experts on hirl's envs for fixed seeds and print one
SHA-256 digest of every observation and reward per env, plus how many chains/episodes succeeded.

Needs only mujoco, gymnasium and numpy beside envs/ (so it runs in a bare venv of another MuJoCo version with
`PYTHONPATH=.mypy`, where .mypy/hirl_envs is envs/):

    python experiments/mujoco/trajectory_digest.py --episodes 20 --npz runs/tabletop-A.npz
    python experiments/mujoco/trajectory_digest.py --compare runs/tabletop-A.npz runs/tabletop-B.npz

--npz keeps every Tabletop observation of the run; --compare prints, per episode pair, the first step where two
runs differ and the largest difference (how far two MuJoCo versions drift apart, not just whether they do).
"""
from __future__ import annotations

import argparse
import hashlib
import json
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

import hirl_envs  # noqa: F401  (registers the envs: a bare venv has no start-up hook)
from hirl_envs.maze.expert import MazeExpert
from hirl_envs.tabletop.expert import TabletopExpert


def _update(digest: Any, obs: dict[str, np.ndarray], reward: float) -> None:
    for key in sorted(obs):
        digest.update(np.ascontiguousarray(obs[key], dtype=np.float64).tobytes())
    digest.update(np.float64(reward).tobytes())


def tabletop_digest(episodes: int, seed: int, keep: list[np.ndarray] | None = None) -> dict[str, object]:
    """Digest of `episodes` 5-subtask chains driven by the scripted expert (noise 0.05, its own seeded noise); with
    `keep`, each episode's (T, 52) observations are appended to it."""
    env, digest, completed = gym.make("hirl/Tabletop-v0", chain_length=5), hashlib.sha256(), []
    idle = np.zeros(env.action_space.shape, dtype=np.float32)  # after the chain: hold still until the time limit
    expert = TabletopExpert(env, noise=0.05, seed=seed)
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        expert.reset()
        _update(digest, obs, 0.0)
        rows, done = [obs["observation"]], False
        while not done:
            instruction = env.unwrapped.current_subtask  # type: ignore[attr-defined]
            obs, reward, terminated, truncated, info = env.step(expert.act(obs, instruction) if instruction else idle)
            _update(digest, obs, float(reward))
            rows.append(obs["observation"])
            done = terminated or truncated
        completed.append(len(info["completed_subtasks"]))
        if keep is not None:
            keep.append(np.array(rows))
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


def compare(a_path: str, b_path: str) -> dict[str, object]:
    """Per episode: the first step whose observation differs between two --npz files, and the largest difference."""
    a, b = np.load(a_path), np.load(b_path)
    episodes = []
    for key in sorted(a.files, key=lambda k: int(k.split("_")[1])):
        x, y = a[key], b[key]
        n = min(len(x), len(y))
        diff = np.abs(x[:n] - y[:n]).max(axis=1)
        first = int(np.argmax(diff > 0)) if (diff > 0).any() else None
        episodes.append({"steps": [len(x), len(y)], "first_differing_step": first, "max_abs_diff": float(diff.max())})
    return {"a": a_path, "b": b_path, "episodes": episodes,
            "max_abs_diff": max(float(e["max_abs_diff"]) for e in episodes)}  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="episodes per env")
    parser.add_argument("--seed", type=int, default=0, help="first env seed (episode i uses seed + i)")
    parser.add_argument("--npz", default=None, help="also save every Tabletop episode's observations here")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None, help="compare two --npz files instead")
    args = parser.parse_args()
    if args.compare:
        print(json.dumps(compare(*args.compare), indent=2))
        return
    keep: list[np.ndarray] = []
    result = {"mujoco": mujoco.__version__, "tabletop": tabletop_digest(args.episodes, args.seed, keep),
              "maze": maze_digest(args.episodes, args.seed)}
    if args.npz:
        np.savez_compressed(args.npz, **{f"episode_{i}": rows for i, rows in enumerate(keep)})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
