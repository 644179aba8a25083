"""Success of the scripted experts (hirl_envs) with their full controllers, episodes run through run_episode:
Tabletop per subtask and chain length, Maze per layout. `hirl bench envs` reports these numbers."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
from gymnasium.wrappers import TimeLimit

from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.policies.flat import SingleLevelAgent
from hirl.types import Command, Observation


class _ExpertAgent(SingleLevelAgent):
    """A whole scripted expert as one flat agent: act(obs, info) -> action (A,); reset() also resets the expert."""

    def __init__(self, act: Callable[[Observation, Mapping[str, Any]], np.ndarray],
                 reset: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._act, self._reset = act, reset

    def reset(self, command: Command | None = None) -> None:
        super().reset(command)
        if self._reset is not None:
            self._reset()

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        self.step_count += 1
        return self._act(obs, info if info is not None else {})


def _chain_action(expert: Any, obs: Observation, info: Mapping[str, Any]) -> np.ndarray:
    """The Tabletop expert's action for the env's current subtask (a still action once the chain is done)."""
    return expert.act_chain(obs, dict(info))[0]


def tabletop_expert_success(n_episodes: int = 100, chain_length: int = 5, noise: float = 0.05,
                            seed: int = 0) -> dict[str, Any]:
    """Run the Tabletop expert on `n_episodes` random chains of `chain_length` subtasks (episode i: env seed seed + i,
    expert noise seed seed + 10_000 + i).

    Returns {"success_rate": fraction of fully solved chains, "per_subtask": {name: success rate of attempts},
    "chain_length_reached": {k: episodes that completed exactly k subtasks}, "avg_chain_length", "episodes",
    "mean_steps": mean env steps per episode}.
    """
    from hirl_envs.tabletop.env import TabletopEnv
    from hirl_envs.tabletop.expert import TabletopExpert

    env = TabletopEnv(chain_length=chain_length)
    command = adapter("hirl/Tabletop-v0").command
    attempts: Counter[str] = Counter()
    wins: Counter[str] = Counter()
    reached: Counter[int] = Counter()
    solved, steps_total = 0, 0
    infos: dict[str, Mapping[str, Any]] = {}  # the episode's reset info and its last step's info

    def first_info(t: int, agent: Any, obs: Observation, info: Mapping[str, Any]) -> None:
        if t == 0:
            infos["reset"] = info

    def last_info(t: int, agent: Any, obs: Observation, action: np.ndarray, reward: float, next_obs: Observation,
                  terminated: bool, truncated: bool, info: Mapping[str, Any]) -> None:
        infos["last"] = info

    for ep in range(n_episodes):
        expert = TabletopExpert(env, noise=noise, seed=seed + 10_000 + ep)
        agent = _ExpertAgent(partial(_chain_action, expert))
        result = run_episode(env, agent, command, seed=seed + ep, on_step=first_info, on_transition=last_info)
        steps_total += result.steps
        names, k = infos["reset"]["task_names"], infos["last"]["subtask_index"]
        for i, n in enumerate(names[: k + 1] if k < len(names) else names):
            attempts[n] += 1
            wins[n] += int(i < k)
        reached[k] += 1
        solved += int(result.success)
    env.close()
    return {
        "success_rate": solved / max(n_episodes, 1),
        "per_subtask": {n: wins[n] / attempts[n] for n in sorted(attempts)},
        "chain_length_reached": {k: reached[k] for k in sorted(reached)},
        "avg_chain_length": sum(k * v for k, v in reached.items()) / max(n_episodes, 1),
        "episodes": n_episodes,
        "mean_steps": steps_total / max(n_episodes, 1),
    }


def maze_expert_success(
    layout: str = "u",  # maze layout name
    n_episodes: int = 200,  # random start/goal pairs to try
    noise: float = 0.0,  # expert action-noise std
    seed: int = 0,  # seeds the env's first reset and the expert's noise
    max_steps: int = 1000,  # per-episode step limit (the registered max_episode_steps is 1000)
    **env_kwargs: Any,  # forwarded to MazeEnv
) -> dict[str, Any]:
    """Run the full Maze expert; return success_rate, mean_steps (all episodes), mean_success_steps, counts.
    The env is seeded once (first episode); later episodes continue its RNG."""
    from hirl_envs.maze.env import MazeEnv
    from hirl_envs.maze.expert import MazeExpert

    base = MazeEnv(layout=layout, **env_kwargs)
    env = TimeLimit(base, max_steps)
    expert = MazeExpert(base, noise=noise, seed=seed)

    def act(obs: Observation, info: Mapping[str, Any]) -> np.ndarray:
        if not isinstance(obs, Mapping):
            raise TypeError(f"MazeEnv observations are dicts, got {type(obs).__name__}")
        return expert.act(obs)[0]

    agent = _ExpertAgent(act, expert.reset)
    command = adapter("hirl/Maze-v0").command
    steps, success_steps = [], []
    for episode in range(n_episodes):
        result = run_episode(env, agent, command, seed=seed if episode == 0 else None)
        steps.append(result.steps)
        if result.success:
            success_steps.append(result.steps)
    env.close()
    return {
        "layout": layout,
        "n_episodes": n_episodes,
        "noise": noise,
        "max_steps": max_steps,
        "success_rate": len(success_steps) / n_episodes,
        "mean_steps": float(np.mean(steps)),
        "mean_success_steps": float(np.mean(success_steps)) if success_steps else float("nan"),
        "max_success_steps": int(np.max(success_steps)) if success_steps else 0,
    }


if __name__ == "__main__":  # python -m hirl.eval.expert [n_episodes] [noise]
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    sigma = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    for name in ("u", "medium", "large"):
        print(maze_expert_success(name, n_episodes=n, noise=sigma, seed=0))
