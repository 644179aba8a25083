"""hirl EnvAdapters for OGBench: `ogbench/<name>` for every state-based OGBench manipulation env and point maze
(hirl.integrations.OGBENCH_ENVS,
registered when this module is imported), so `hirl collect`, `hirl train` and `hirl eval` run on them like on hirl's own envs.

    hirl collect --env ogbench/scene-v0 --env-kwargs '{"collection": "play"}' --noise 0.1 --episodes 100 --out D
    hirl train experiments/ogbench/scene.yaml --out RUN          # env: ogbench/scene-v0 (evaluation mode)
    hirl eval RUN                                                 # episode i runs evaluation task (seed + i) % 5 + 1

The scripted expert is OGBench's own: the data-collection oracles (manipulation) or the maze's BFS subgoal
direction (mazes); its high level names the oracle's target (a language label, hirl.adapters.ogbench.labels), its
low level is the oracle's action. Registering needs nothing; making an env without ogbench is one InputError."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

import gymnasium as gym
import numpy as np

from hirl.errors import InputError
from hirl.integrations import ENVIRONMENTS, OGBENCH_ENVS, OGBENCH_PREFIX, EnvAdapter, unwrapped_as
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.types import Command, Subgoal

PREFIX = OGBENCH_PREFIX  # hirl id = PREFIX + OGBench env name


def ogbench_base(env: gym.Env) -> Any:
    """env's unwrapped OgbenchEnv (InputError for another env)."""
    from hirl.adapters.ogbench.env import OgbenchEnv

    return unwrapped_as(env, OgbenchEnv, "an ogbench/... env")


def command(info: Mapping[str, Any]) -> Command:
    """The episode's command: the evaluation task (its goal is info["goal"] / obs["desired_goal"])."""
    task = [str(t) for t in info.get("task", [])]
    name = task[0] if len(task) == 1 and "task_id" in info else "play"
    return Command(f"reach the goal of {name}", (name,) if name != "play" else ())


def expert(env: gym.Env, noise: float, seed: int) -> tuple[HighLevelPolicy, LowLevelPolicy]:
    """OGBench's oracle split into two levels: the high level names the current target (language, or for mazes the
    goal observation as a state subgoal labelled with its cell), the low level is the oracle's action."""
    base = ogbench_base(env)
    base.noise = float(noise)

    def propose(obs: Any, cmd: Command) -> Subgoal:
        if base.family == "pointmaze":
            return Subgoal("state", np.asarray(obs["desired_goal"], np.float64), "expert", base.target())
        return Subgoal("language", base.target() or "reach the goal", "expert")

    return ScriptedHighLevel(propose), ScriptedLowLevel(lambda obs, g: base.oracle_action())


@dataclass(frozen=True)
class OgbenchAdapter(EnvAdapter):
    """An OGBench env as an EnvAdapter; make() takes collection (None | play | noisy | navigate),
    max_episode_steps and p_random_action as env_kwargs (hirl.adapters.ogbench.env.OgbenchEnv)."""

    def make(self, render: bool = False, width: int = 128, height: int = 128, **kwargs: Any) -> gym.Env:
        from hirl.adapters.ogbench.env import OgbenchEnv

        unknown = sorted(set(kwargs) - {"collection", "max_episode_steps", "p_random_action"})
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r} (OGBench envs take collection, max_episode_steps, "
                            "p_random_action)")
        return OgbenchEnv(self.env_id.removeprefix(PREFIX), render_mode="rgb_array" if render else None, width=width,
                          height=height, **kwargs)


def _goal_points(env: gym.Env) -> np.ndarray:
    """(N, 2) xy centres of a point maze's free cells (RL goal curricula)."""
    base = ogbench_base(env)
    if base.family != "pointmaze":
        raise InputError(f"{base.name}: goal points exist for point mazes only")
    return np.array([base.base.ij_to_xy(ij) for ij in base._free], np.float64)


def register(name: str) -> None:
    """Register ogbench/<name> (no-op when it is registered already)."""
    env_id = PREFIX + name
    if env_id in ENVIRONMENTS._entries:  # exact check: no plugin loading from inside a plugin
        return
    maze = name.startswith("pointmaze")
    ENVIRONMENTS.register(env_id)(lambda: OgbenchAdapter(
        env_id, "state" if maze else "language", command, expert, lambda env: {}, lambda chain_length: None,
        goal_points=_goal_points if maze else None))


for _name in OGBENCH_ENVS:
    register(_name)
