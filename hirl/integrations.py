"""What hirl needs to know about each environment it ships with: how to make it, the command for an episode,
and its scripted expert as a (high level, low level) pair. This is the default-config layer, the one place
in the library that imports hirl_envs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from collections.abc import Callable, Mapping, Sequence

import gymnasium as gym
import numpy as np

from hirl.errors import InputError
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.registry import Registry
from hirl.types import Command, Subgoal


@dataclass(frozen=True)
class EnvAdapter:
    """env_id          Gymnasium id
    subgoal_kind       what the scripted expert's high level emits ("language" or "state")
    command            reset/step info -> the task command
    expert             (env, noise, seed) -> (high, low): the scripted expert split into the two levels
    detector_extra     env -> extra keyword arguments for completion detectors (e.g. canonicalize)
    reset_options      chain_length -> reset options
    paraphrases        instruction -> the env's shipped paraphrases of it (language envs; [] for unknown text)
    goal_points        env -> (N, G) reachable achieved-goal points (RL goal curricula); None when the env has none
    skills             () -> {skill name: language instruction} of the env's subtask vocabulary (skill libraries)
    can_start          (skill name, obs) -> None when the skill may start from obs, else the reason it may not
    facts              obs -> the env's symbolic state as a dict (what code policies over skills read)
    scene_attributes   object word -> attribute words the scene's object has ({"button": ("red",)}): typed text
                       that names them ("press the red button") grounds to the object's skill (hirl.hierarchy.grounding)"""

    env_id: str
    subgoal_kind: str
    command: Callable[[Mapping[str, Any]], Command]
    expert: Callable[[gym.Env, float, int], tuple[HighLevelPolicy, LowLevelPolicy]]
    detector_extra: Callable[[gym.Env], dict[str, Any]]
    reset_options: Callable[[int], dict[str, Any] | None]
    paraphrases: Callable[[str], list[str]] | None = None
    goal_points: Callable[[gym.Env], np.ndarray] | None = None
    skills: Callable[[], dict[str, str]] | None = None
    can_start: Callable[[str, Any], str | None] | None = None
    facts: Callable[[Any], dict[str, Any]] | None = None
    scene_attributes: Mapping[str, tuple[str, ...]] | None = None

    def paraphrase_split(self, text: str) -> tuple[list[str], list[str]]:
        """(training, held-out) paraphrases of an instruction: the last shipped one is held out, never trained on,
        so evaluation can measure the low level on phrasings it has not seen."""
        shipped = list(self.paraphrases(text)) if self.paraphrases is not None else []
        return shipped[:-1], shipped[-1:]

    def make(self, render: bool = False, width: int = 128, height: int = 128, **kwargs: Any) -> gym.Env:
        import hirl_envs  # noqa: F401  (registers the envs)

        if render:
            kwargs.update(render_mode="rgb_array", width=width, height=height)
        return gym.make(self.env_id, **kwargs)


ENVIRONMENTS: Registry[EnvAdapter] = Registry("environment")


def adapter(env_id: str) -> EnvAdapter:
    """The EnvAdapter registered for env_id; an unknown id is one InputError line saying how to add one."""
    if env_id not in ENVIRONMENTS:
        known = ", ".join(ENVIRONMENTS.names())
        how = ("register an EnvAdapter for it in a plugin module and name the module with `imports:` in the run config "
               "or `hirl collect --import MODULE` (docs/custom-env.md)")
        if env_id in gym.registry:
            raise InputError(f"environment {env_id!r} is a Gymnasium env without a hirl adapter (its command and scripted "
                             f"expert): {how}; adapters: {known}")
        raise InputError(f"unknown environment {env_id!r} (adapters: {known}); for an env of your own, {how}")
    return ENVIRONMENTS.get(env_id)()

E = TypeVar("E")  # an unwrapped env class

if TYPE_CHECKING:
    from hirl_envs.maze.env import MazeEnv
    from hirl_envs.mujoco_base import OffscreenRenderer
    from hirl_envs.tabletop.env import TabletopEnv


def offscreen_renderer(model: Any, width: int, height: int) -> OffscreenRenderer:
    """A lazy MuJoCo renderer of ``model`` at width x height, the envs' own kind: freed by its close(), or at
    interpreter exit while the GL context is still valid, and closable from any thread (hirl_envs.mujoco_base)."""
    from hirl_envs.mujoco_base import OffscreenRenderer

    return OffscreenRenderer(model, width, height)


def unwrapped_as(env: gym.Env, cls: type[E], expected: str) -> E:
    """env.unwrapped when it is a cls; else one InputError line naming the expected env."""
    base = env.unwrapped
    if not isinstance(base, cls):
        raise InputError(f"expected {expected}, got {type(base).__name__}")
    return base


def _tabletop_base(env: gym.Env) -> TabletopEnv:
    """env's unwrapped TabletopEnv."""
    from hirl_envs.tabletop.env import TabletopEnv

    return unwrapped_as(env, TabletopEnv, "a hirl/Tabletop-v0 env")


def _maze_base(env: gym.Env) -> MazeEnv:
    """env's unwrapped MazeEnv."""
    from hirl_envs.maze.env import MazeEnv

    return unwrapped_as(env, MazeEnv, "a hirl/Maze-v0 env")


def _tabletop_command(info: Mapping[str, Any]) -> Command:
    task = list(info["task"])
    return Command(", then ".join(task), tuple(task))


def _tabletop_canonical_instruction(env: gym.Env) -> Callable[[str], str | None]:
    """Instruction, paraphrase or subtask name -> the canonical instruction info["subtask_success"] is keyed by."""
    base = _tabletop_base(env)

    def canonical(text: str) -> str | None:
        name = base.canonical(text)
        return None if name is None else base.instruction(name)

    return canonical


def _tabletop_paraphrases(text: str) -> list[str]:
    from hirl_envs.tabletop import tasks

    name = tasks.canonical(text)
    return [] if name is None else list(tasks.SUBTASKS[name].paraphrases)


def _tabletop_expert(env: gym.Env, noise: float, seed: int) -> tuple[HighLevelPolicy, LowLevelPolicy]:
    from hirl_envs.tabletop.expert import TabletopExpert

    base = _tabletop_base(env)
    expert = TabletopExpert(base, noise=noise, seed=seed)

    def propose(obs: Any, command: Command) -> Subgoal:
        current = base.current_subtask
        if current is None:  # chain complete: keep the last instruction (the episode is ending)
            current = command.subtasks[-1]
        return Subgoal("language", current, "expert")

    return ScriptedHighLevel(propose), ScriptedLowLevel(lambda obs, g: expert.act(obs, str(g.value)), expert.reset)


def _maze_expert(env: gym.Env, noise: float, seed: int) -> tuple[HighLevelPolicy, LowLevelPolicy]:
    from hirl_envs.maze.expert import MazeExpert

    expert = MazeExpert(env.unwrapped, noise=noise, seed=seed)

    def propose(obs: Any, command: Command) -> Subgoal:
        waypoint, label = expert.next_subgoal(obs)
        return Subgoal("state", waypoint, "expert", label)

    def act(obs: Any, subgoal: Subgoal) -> np.ndarray:
        action = expert.reach(obs, np.asarray(subgoal.value)).astype(np.float64)  # a state subgoal: value (2,)
        if noise > 0:
            action += expert.rng.normal(0.0, noise, size=action.shape)
        return np.clip(action, -1.0, 1.0)

    return ScriptedHighLevel(propose, expert.reset), ScriptedLowLevel(act)


def _grid(lo: Sequence[float], hi: Sequence[float], n: Sequence[int]) -> np.ndarray:
    """(prod(n), len(n)) points of the box [lo, hi] on a regular n[0] x n[1] x ... grid (ends included)."""
    axes = [np.linspace(a, b, k) for a, b, k in zip(lo, hi, n, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(n))


def _tabletop_goal_points(env: gym.Env) -> np.ndarray:
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


def _tabletop_skills() -> dict[str, str]:
    """Every Tabletop subtask as a skill: name -> canonical instruction."""
    from hirl_envs.tabletop import tasks

    return {name: sub.instruction for name, sub in tasks.SUBTASKS.items()}


def _tabletop_can_start(name: str, obs: Any) -> str | None:
    """A Tabletop skill's initiation set, read off one Dict observation (its "observation" and "touch" entries): the
    symbolic state of hirl_envs.tabletop.tasks.symbolic and the physical preconditions of tasks.can_start."""
    from hirl_envs.tabletop import tasks
    from hirl_envs.tabletop.expert import View

    return tasks.can_start(name, tasks.symbolic(View(obs).p))


def _tabletop_facts(obs: Any) -> dict[str, Any]:
    """One Dict observation -> {"drawer": "open"|"closed"|"mid", "light": 0|1, "held": colour|None,
    "loc": {colour: "table"|"held"|"drawer"|"on_<colour>"|"air"}} (hirl_envs.tabletop.tasks.SymState)."""
    from hirl_envs.tabletop import tasks
    from hirl_envs.tabletop.expert import View

    s = tasks.symbolic(View(obs).p)
    return {"drawer": s.drawer, "light": s.light, "held": s.held, "loc": dict(s.loc)}


# What Tabletop's objects look like (assets/tabletop.xml): the button's cap is a red disc, the light a bulb on a post.
TABLETOP_SCENE_ATTRIBUTES: dict[str, tuple[str, ...]] = {"button": ("red", "round", "big"), "light": ("bulb",),
                                                         "drawer": ("wooden", "big")}


def _tabletop_adapter(env_id: str) -> EnvAdapter:
    """Tabletop under either registered id (hirl/Tabletop-v0: chain reward; hirl/TabletopGoal-v0: goal reward, HER)."""
    return EnvAdapter(
        env_id, "language", _tabletop_command, _tabletop_expert,
        lambda env: {"canonicalize": _tabletop_canonical_instruction(env)},
        lambda chain_length: {"chain_length": chain_length},
        _tabletop_paraphrases,
        goal_points=_tabletop_goal_points, skills=_tabletop_skills, can_start=_tabletop_can_start,
        facts=_tabletop_facts, scene_attributes=TABLETOP_SCENE_ATTRIBUTES,
    )


ENVIRONMENTS.register("hirl/Tabletop-v0")(lambda: _tabletop_adapter("hirl/Tabletop-v0"))
ENVIRONMENTS.register("hirl/TabletopGoal-v0")(lambda: _tabletop_adapter("hirl/TabletopGoal-v0"))


def _maze_goal_points(env: gym.Env) -> np.ndarray:
    """(n_free, 2) centres of the maze's free cells: the goals of RL curricula."""
    base = _maze_base(env)
    return np.array([base.cell_to_xy(c) for c in base.free_cells()])


ENVIRONMENTS.register("hirl/Maze-v0")(
    lambda: EnvAdapter(
        "hirl/Maze-v0", "state", lambda info: Command("reach the goal"), _maze_expert,
        lambda env: {}, lambda chain_length: None,
        goal_points=_maze_goal_points,
    )
)
