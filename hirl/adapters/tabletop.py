"""hirl/Tabletop-v0 and hirl/TabletopGoal-v0 (hirl_envs.tabletop): the EnvAdapter of the language-commanded
tabletop, registered under both ids when this module is imported (hirl.integrations declares them by module)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Mapping, Sequence

import gymnasium as gym
import numpy as np

from hirl.integrations import ENVIRONMENTS, EnvAdapter, unwrapped_as
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.types import Command, Subgoal

if TYPE_CHECKING:
    from hirl_envs.tabletop.env import TabletopEnv


def tabletop_base(env: gym.Env) -> TabletopEnv:
    """env's unwrapped TabletopEnv."""
    from hirl_envs.tabletop.env import TabletopEnv

    return unwrapped_as(env, TabletopEnv, "a hirl/Tabletop-v0 env")


def command(info: Mapping[str, Any]) -> Command:
    task = list(info["task"])
    return Command(", then ".join(task), tuple(task))


def canonical_instruction(env: gym.Env) -> Callable[[str], str | None]:
    """Instruction, paraphrase or subtask name -> the canonical instruction info["subtask_success"] is keyed by."""
    base = tabletop_base(env)

    def canonical(text: str) -> str | None:
        name = base.canonical(text)
        return None if name is None else base.instruction(name)

    return canonical


def paraphrases(text: str) -> list[str]:
    from hirl_envs.tabletop import tasks

    name = tasks.canonical(text)
    return [] if name is None else list(tasks.SUBTASKS[name].paraphrases)


def scripted_expert(env: gym.Env, noise: float, seed: int) -> tuple[HighLevelPolicy, LowLevelPolicy]:
    from hirl_envs.tabletop.expert import TabletopExpert

    base = tabletop_base(env)
    expert = TabletopExpert(base, noise=noise, seed=seed)

    def propose(obs: Any, command: Command) -> Subgoal:
        current = base.current_subtask
        if current is None:  # chain complete: keep the last instruction (the episode is ending)
            current = command.subtasks[-1]
        return Subgoal("language", current, "expert")

    return ScriptedHighLevel(propose), ScriptedLowLevel(lambda obs, g: expert.act(obs, str(g.value)), expert.reset)


def _grid(lo: Sequence[float], hi: Sequence[float], n: Sequence[int]) -> np.ndarray:
    """(prod(n), len(n)) points of the box [lo, hi] on a regular n[0] x n[1] x ... grid (ends included)."""
    axes = [np.linspace(a, b, k) for a, b, k in zip(lo, hi, n, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(n))


def goal_points(env: gym.Env) -> np.ndarray:
    """(N, 14) goals for RL curricula: the gripper over a grid of its workspace, paired with the red block over a grid
    of the table where blocks are spawned; the other components keep their values after reset(seed=0). Restrict
    them with goal_indices ([0, 1, 2] gripper, [3, 4, 5] red block)."""
    from hirl_envs.tabletop import env as tt, tasks

    base = env.unwrapped
    obs, _ = base.reset(seed=0)
    margin = np.array([0.05, 0.05, 0.02])  # (3,) keep the gripper grid inside its workspace
    gripper = _grid(tt.WORK_LO + margin, tt.WORK_HI - margin, (7, 9, 5))  # (315, 3)
    block = _grid((0.25, -0.25, tasks.BLOCK_HALF), (0.55, 0.10, tasks.BLOCK_HALF), (15, 21, 1))  # (315, 3)
    points = np.repeat(np.asarray(obs["achieved_goal"], dtype=np.float64)[None], len(gripper), axis=0)
    points[:, 0:3], points[:, 3:6] = gripper, block
    return points


def skills() -> dict[str, str]:
    """Every Tabletop subtask as a skill: name -> canonical instruction."""
    from hirl_envs.tabletop import tasks

    return {name: sub.instruction for name, sub in tasks.SUBTASKS.items()}


def can_start(name: str, obs: Any) -> str | None:
    """A Tabletop skill's initiation set, read off one Dict observation (its "observation" and "touch" entries): the
    symbolic state of hirl_envs.tabletop.tasks.symbolic and the physical preconditions of tasks.can_start."""
    from hirl_envs.tabletop import tasks
    from hirl_envs.tabletop.expert import View

    return tasks.can_start(name, tasks.symbolic(View(obs).p))


def facts(obs: Any) -> dict[str, Any]:
    """One Dict observation -> {"drawer": "open"|"closed"|"mid", "light": 0|1, "held": colour|None,
    "loc": {colour: "table"|"held"|"drawer"|"on_<colour>"|"air"}} (hirl_envs.tabletop.tasks.SymState)."""
    from hirl_envs.tabletop import tasks
    from hirl_envs.tabletop.expert import View

    s = tasks.symbolic(View(obs).p)
    return {"drawer": s.drawer, "light": s.light, "held": s.held, "loc": dict(s.loc)}


# What Tabletop's objects look like (assets/tabletop.xml): the button's cap is a red disc, the light a bulb on a post.
SCENE_ATTRIBUTES: dict[str, tuple[str, ...]] = {"button": ("red", "round", "big"), "light": ("bulb",),
                                                "drawer": ("wooden", "big")}


def disturbed(env: gym.Env, raw: Any) -> gym.Env:
    """env inside TabletopDisturbance (the `disturbance` env kwarg, hirl.adapters.tabletop_disturbance)."""
    from hirl.adapters.tabletop_disturbance import TabletopDisturbance, disturbance_config

    return TabletopDisturbance(env, disturbance_config(raw))


def tabletop_adapter(env_id: str) -> EnvAdapter:
    """Tabletop under either registered id (hirl/Tabletop-v0: chain reward; hirl/TabletopGoal-v0: goal reward, HER)."""
    return EnvAdapter(
        env_id, "language", command, scripted_expert,
        lambda env: {"canonicalize": canonical_instruction(env)},
        lambda chain_length: {"chain_length": chain_length},
        paraphrases,
        goal_points=goal_points, skills=skills, can_start=can_start,
        facts=facts, scene_attributes=SCENE_ATTRIBUTES, wrappers={"disturbance": disturbed},
    )


ENVIRONMENTS.register("hirl/Tabletop-v0")(lambda: tabletop_adapter("hirl/Tabletop-v0"))
ENVIRONMENTS.register("hirl/TabletopGoal-v0")(lambda: tabletop_adapter("hirl/TabletopGoal-v0"))
