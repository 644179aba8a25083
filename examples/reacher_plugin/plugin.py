"""hirl plugin for Gymnasium's Reacher-v5 (a 2-link MuJoCo arm reaching a random target): importing this module
registers, in hirl's registries,

    ENVIRONMENTS["Reacher-v5"]             how hirl makes the env, the episode's command and the scripted expert
    COMPLETION_DETECTORS["fingertip_near"]  a completion detector the run config's `replan:` can name
    REPLAN_RULES["stalled"]                 a replan rule (config class StalledConfig) `replan: {rule: stalled, ...}`
                                            names, alone or inside `rule: any_of`

Name it in a run config (`imports: [reacher_plugin.plugin]`) or on the command line
(`hirl collect --env Reacher-v5 --import reacher_plugin.plugin ...`), with examples/ on PYTHONPATH.

hirl's imitation pipeline wants a Dict observation with an achieved and a desired goal and info["is_success"];
ReachTarget adds them around the unchanged env:
    "observation"   (10,) Reacher's own: cos q (2), sin q (2), target xy (2), joint velocities (2), fingertip - target (2)
    "achieved_goal" (2,)  fingertip xy (m)
    "desired_goal"  (2,)  target xy (m)
The episode ends when the fingertip is within SUCCESS_RADIUS of the target (is_success) or after Reacher's 50 steps.

The scripted expert, split into hirl's two levels: the high level proposes the target as a state subgoal; the low
level is a Jacobian-transpose PD controller towards the subgoal (about 95% of episodes within 50 steps, noise-free).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hirl.config import FieldError
from hirl.hierarchy.completion import CompletionDetector, achieved_state
from hirl.hierarchy.replan import ReplanContext, ReplanRule, RuleConfig
from hirl.integrations import ENVIRONMENTS, EnvAdapter
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.registry import COMPLETION_DETECTORS, REPLAN_RULES
from hirl.types import Command, Observation, Subgoal

ENV_ID = "Reacher-v5"
SUCCESS_RADIUS = 0.02  # fingertip-target distance (m) that counts as reached and ends the episode
LINKS = (0.1, 0.11)  # arm link lengths (m): shoulder -> elbow, elbow -> fingertip (Reacher's MJCF)
KP, KD = 300.0, 0.3  # PD gains of the expert's low level (torque per metre of error, per rad/s)


def fingertip(obs: np.ndarray) -> np.ndarray:
    """(2,) fingertip xy from Reacher's (10,) observation: (fingertip - target) + target."""
    return np.asarray(obs[8:10] + obs[4:6], dtype=np.float64)


class ReachTarget(gym.Wrapper):
    """Reacher-v5 with a goal-conditioned Dict observation, info["is_success"] and termination on success."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        box = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float64)
        self.observation_space = spaces.Dict({"observation": env.observation_space, "achieved_goal": box,
                                              "desired_goal": box})

    def _dict(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        return {"observation": obs, "achieved_goal": fingertip(obs), "desired_goal": np.asarray(obs[4:6], dtype=np.float64)}

    def reset(self, **kwargs: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return self._dict(obs), dict(info, is_success=False)

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        success = bool(np.linalg.norm(obs[8:10]) <= SUCCESS_RADIUS)
        return self._dict(obs), reward, bool(terminated or success), truncated, dict(info, is_success=success)


def reach(obs: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """(2,) joint torques in [-1, 1] moving the fingertip towards goal (2,): tau = KP J^T (goal - tip) - KD qdot."""
    q1, q2 = np.arctan2(obs[2], obs[0]), np.arctan2(obs[3], obs[1])
    l1, l2 = LINKS
    s1, c1, s12, c12 = np.sin(q1), np.cos(q1), np.sin(q1 + q2), np.cos(q1 + q2)
    jacobian = np.array([[-l1 * s1 - l2 * s12, -l2 * s12], [l1 * c1 + l2 * c12, l2 * c12]])  # d tip / d q (2, 2)
    return np.clip(KP * jacobian.T @ (goal - fingertip(obs)) - KD * obs[6:8], -1.0, 1.0)


def expert(env: gym.Env, noise: float, seed: int) -> tuple[HighLevelPolicy, LowLevelPolicy]:
    """The scripted expert as (high, low): the target as the subgoal, a PD reach with Gaussian action noise."""
    rng = np.random.default_rng(seed)

    def propose(obs: Any, command: Command) -> Subgoal:
        return Subgoal("state", np.asarray(obs["desired_goal"], dtype=np.float64).copy(), "expert", "the target")

    def act(obs: Any, subgoal: Subgoal) -> np.ndarray:
        action = reach(np.asarray(obs["observation"]), np.asarray(subgoal.value))
        if noise > 0:
            action = action + rng.normal(0.0, noise, size=action.shape)
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    return ScriptedHighLevel(propose), ScriptedLowLevel(act)


@dataclass(frozen=True)
class ReacherAdapter(EnvAdapter):
    """EnvAdapter whose make() adds ReachTarget (the rest is the dataclass's fields, filled below)."""

    def make(self, render: bool = False, width: int = 128, height: int = 128, **kwargs: Any) -> gym.Env:
        if render:
            kwargs.update(render_mode="rgb_array", width=width, height=height)
        return ReachTarget(gym.make(self.env_id, **kwargs))


@COMPLETION_DETECTORS.register("fingertip_near")
class FingertipNear(CompletionDetector):
    """Done when the fingertip (obs["achieved_goal"]) is within `radius` metres of the state subgoal."""

    def __init__(self, radius: float = 0.02) -> None:
        if not radius > 0:
            raise ValueError(f"fingertip_near: radius must be > 0, got {radius}")
        self.radius = float(radius)

    def done(self, obs: Observation, subgoal: Subgoal, info: Mapping[str, Any]) -> bool:
        return bool(np.linalg.norm(achieved_state(obs) - np.asarray(subgoal.value)) <= self.radius)


@dataclass(frozen=True, kw_only=True)
class StalledConfig(RuleConfig):
    """`replan: {rule: stalled, window: W, min_progress: P}`: the keys YAML gives the stalled rule."""

    rule: str = "stalled"  # REPLAN_RULES name
    window: int = 10  # control steps over which the fingertip must get closer to the subgoal
    min_progress: float = 0.002  # metres it must have closed over the window, else the high level is asked again

    def __post_init__(self) -> None:
        if self.window < 1:
            raise FieldError("window", f"must be >= 1 control step, got {self.window}")
        if not self.min_progress >= 0:
            raise FieldError("min_progress", f"must be >= 0 m, got {self.min_progress}")


@REPLAN_RULES.register("stalled")
class Stalled(ReplanRule):
    """Replan (reason "stalled") when the fingertip came less than `min_progress` m closer to the state subgoal over
    the last `window` control steps: the arm is stuck, ask the high level again."""

    config_cls = StalledConfig

    def __init__(self, window: int = 10, min_progress: float = 0.002) -> None:
        self.window, self.min_progress = int(window), float(min_progress)
        self._distances: deque[float] = deque(maxlen=self.window + 1)

    def reset(self) -> None:
        self._distances.clear()

    def decide(self, ctx: ReplanContext) -> str | None:
        if ctx.steps_since_replan == 1:  # a new subgoal: progress is measured from here
            self._distances.clear()
        self._distances.append(float(np.linalg.norm(achieved_state(ctx.obs) - np.asarray(ctx.subgoal.value))))
        full = len(self._distances) > self.window
        return "stalled" if full and self._distances[0] - self._distances[-1] < self.min_progress else None


if ENV_ID not in ENVIRONMENTS:
    ENVIRONMENTS.register(ENV_ID)(lambda: ReacherAdapter(
        ENV_ID, "state", lambda info: Command("reach the target"), expert,
        detector_extra=lambda env: {}, reset_options=lambda chain_length: None))
