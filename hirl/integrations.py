"""What hirl needs to know about an environment (EnvAdapter: how to make it, the command for an episode, its
scripted expert as a (high level, low level) pair, ...), the ENVIRONMENTS registry of adapters and its lookup.

The adapters themselves live in hirl.adapters, one module per env family, each registering its ids when imported;
ENVIRONMENTS declares the built-in ids by module (BUILT_IN_ADAPTERS), so a family's module is imported the first
time one of its ids is looked up and nothing here imports hirl_envs, ogbench or gymnasium-robotics."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar
from collections.abc import Callable, Mapping

import gymnasium as gym
import numpy as np

from hirl.errors import InputError
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.registry import Registry
from hirl.types import Command


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
                       that names them ("press the red button") grounds to the object's skill (hirl.hierarchy.grounding)
    wrappers           env kwargs the adapter takes itself, not the env's constructor: key -> wrap(env, value), the
                       wrapped env (make() applies them, in this order, around gym.make's env; e.g. Tabletop's
                       disturbance); a bad value raises hirl.config.FieldError naming the key"""

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
    wrappers: Mapping[str, Callable[[gym.Env, Any], gym.Env]] = field(default_factory=dict)

    def paraphrase_split(self, text: str) -> tuple[list[str], list[str]]:
        """(training, held-out) paraphrases of an instruction: the last shipped one is held out, never trained on,
        so evaluation can measure the low level on phrasings it has not seen."""
        shipped = list(self.paraphrases(text)) if self.paraphrases is not None else []
        return shipped[:-1], shipped[-1:]

    def make(self, render: bool = False, width: int = 128, height: int = 128, **kwargs: Any) -> gym.Env:
        """gym.make(env_id, **kwargs) (render: an rgb_array env of width x height), inside the wrappers that kwargs
        with a key of `wrappers` turn on."""
        import hirl_envs  # noqa: F401  (registers the envs)

        if render:
            kwargs.update(render_mode="rgb_array", width=width, height=height)
        own = {key: kwargs.pop(key) for key in self.wrappers if key in kwargs}
        env = gym.make(self.env_id, **kwargs)
        try:
            for key, value in own.items():
                env = self.wrappers[key](env, value)
        except BaseException:
            env.close()
            raise
        return env


# The state-based goal-conditioned envs of ogbench 1.2.2 hirl can run, as ogbench/<name> (tests/ogbench checks the
# list against the installed package's registry); ant / humanoid mazes and antsoccer need downloaded experts, visual-*
# pixels.
OGBENCH_ENVS = (
    "cube-single-v0", "cube-double-v0", "cube-triple-v0", "cube-quadruple-v0", "cube-octuple-v0",
    "scene-v0", "puzzle-3x3-v0", "puzzle-4x4-v0", "puzzle-4x5-v0", "puzzle-4x6-v0",
    "pointmaze-medium-v0", "pointmaze-large-v0", "pointmaze-giant-v0", "pointmaze-teleport-v0",
)
OGBENCH_PREFIX = "ogbench/"  # hirl id = OGBENCH_PREFIX + OGBench env name
# gymnasium-robotics mazes of the robotics extra, under their Gymnasium ids
ROBOTICS_ENVS = ("PointMaze_UMaze-v3", "PointMaze_Medium-v3", "PointMaze_Large-v3",
                 "AntMaze_UMaze-v5", "AntMaze_Medium-v5", "AntMaze_Large-v5")

# built-in env id -> the hirl.adapters module that registers its adapter when imported
BUILT_IN_ADAPTERS: dict[str, str] = {
    "hirl/Tabletop-v0": "hirl.adapters.tabletop",
    "hirl/TabletopGoal-v0": "hirl.adapters.tabletop",
    "hirl/Maze-v0": "hirl.adapters.maze",
    **{OGBENCH_PREFIX + name: "hirl.adapters.ogbench.adapter" for name in OGBENCH_ENVS},
    **{env_id: "hirl.adapters.robotics" for env_id in ROBOTICS_ENVS},
}

ENVIRONMENTS: Registry[EnvAdapter] = Registry("environment", lazy=BUILT_IN_ADAPTERS)


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


def unwrapped_as(env: gym.Env, cls: type[E], expected: str) -> E:
    """env.unwrapped when it is a cls; else one InputError line naming the expected env."""
    base = env.unwrapped
    if not isinstance(base, cls):
        raise InputError(f"expected {expected}, got {type(base).__name__}")
    return base
