"""The MDPs each RL stage trains on, built from the task env with hirl.wrappers (GoalConditionedEnv, SubgoalEnv).

    low    TimeLimit(GoalConditionedEnv(task, goal_sampler=GoalCurriculum), low.episode_steps)
    high   HighLevelEnv(SubgoalEnv(task, frozen low level, H)): the task's own goal and reward per high-level step
    adapt  TimeLimit(GoalConditionedEnv(PersistentReset(task), goal_sampler=<the frozen high level>), H)
    flat   the task env itself (its Dict observation and compute_reward are HER-ready)
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import TimeLimit

from hirl.curriculum import GOAL_SCHEDULES, stage_at
from hirl.policies.base import LowLevelPolicy
from hirl.types import Observation, Subgoal, dict_obs
from hirl.wrappers import GoalConditionedEnv, SubgoalEnv


class GoalCurriculum:
    """Goal sampler (rng, first obs) -> goal (G,): a uniformly chosen goal point (N, G) within `radius` of the start's
    achieved goal (the nearest other point if none is), plus uniform +-jitter. `progress` in [0, 1] (set by the
    trainer) moves the radius from start_radius to end_radius over the first `fraction` of training:
        linear    continuously
        staged    in `stages` equal steps (hirl.curriculum.stage_at): stage k's radius start + k/(stages-1) (end - start),
                  each stage starting from the policy the last one ended with
        shuffled  end_radius from the first step (goals of every distance mixed)"""

    def __init__(self, points: np.ndarray, start_radius: float, end_radius: float, fraction: float, jitter: float,
                 schedule: str = "linear", stages: int = 3) -> None:
        self.points = np.asarray(points, dtype=np.float64)
        if self.points.ndim != 2 or len(self.points) < 2:
            raise ValueError(f"GoalCurriculum needs >= 2 goal points (N, G), got shape {self.points.shape}")
        if schedule not in GOAL_SCHEDULES or stages < 2:
            raise ValueError(f"GoalCurriculum: schedule must be in {GOAL_SCHEDULES}, stages >= 2; got {schedule!r}, {stages}")
        self.start_radius, self.end_radius, self.fraction, self.jitter = start_radius, end_radius, fraction, jitter
        self.schedule, self.stages = schedule, int(stages)
        self.progress = 0.0

    @property
    def radius(self) -> float:
        if self.schedule == "shuffled":
            return self.end_radius
        if self.schedule == "staged":
            t = stage_at(self.progress, self.stages, self.fraction) / (self.stages - 1)
        else:
            t = 1.0 if self.fraction <= 0 else min(1.0, self.progress / self.fraction)
        return self.start_radius + t * (self.end_radius - self.start_radius)

    def __call__(self, rng: np.random.Generator, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        d = np.linalg.norm(self.points - np.asarray(obs["achieved_goal"], dtype=np.float64), axis=1)
        ok = np.flatnonzero((d <= self.radius) & (d > 1e-6))
        if not len(ok):
            ok = np.array([int(np.argmin(np.where(d > 1e-6, d, np.inf)))])
        goal = self.points[int(rng.choice(ok))]
        return goal + rng.uniform(-self.jitter, self.jitter, size=goal.shape)


class RecordingLowLevel(LowLevelPolicy):
    """A low level that remembers the (obs, action) pairs of the current segment (for HIRO's correction)."""

    def __init__(self, inner: LowLevelPolicy, record: bool) -> None:
        self.inner, self.record = inner, record
        self.obs: list[Observation] = []
        self.actions: list[np.ndarray] = []

    def reset(self) -> None:
        self.inner.reset()
        self.take()

    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        action = self.inner.act(obs, subgoal)
        if self.record:
            self.obs.append({k: np.asarray(v).copy() for k, v in dict_obs(obs).items()})
            self.actions.append(np.asarray(action).copy())
        return action

    def take(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The recorded segment as (obs {key: (T, ...)}, actions (T, A)), and forget it."""
        obs = {k: np.stack([o[k] for o in self.obs]) for k in self.obs[0]} if self.obs else {}
        acts = np.stack(self.actions) if self.actions else np.zeros((0, 0))
        self.obs, self.actions = [], []
        return obs, acts


def goal_reaching_reward(task: gym.Env) -> Callable[[np.ndarray, np.ndarray, Any], Any]:
    """The task's goal-reaching reward (achieved, desired, info) -> reward, from its unwrapped env (Gymnasium 1.x
    wrappers do not forward attributes): the env's goal_reward where it defines one, i.e. where its step reward, and
    so its compute_reward, is not a function of the goals (hirl/Tabletop-v0's chain reward); else its compute_reward."""
    base: Any = task.unwrapped  # a goal env (compute_reward, maybe goal_reward)
    if hasattr(base, "goal_reward"):
        goal_reward = base.goal_reward
        return lambda achieved, desired, info: goal_reward(achieved, desired)
    return base.compute_reward


class HighLevelEnv(gym.Wrapper):
    """SubgoalEnv with the task's goal-reaching reward per high-level step (HER-ready compute_reward delegated to
    the task env, vectorised) and info for transition relabeling: "start" (G,) the achieved goal the subgoal was
    proposed from, plus SubgoalEnv's "subgoal", "achieved", "reached", "low_steps", and with a recording low level
    "low_obs" / "low_actions". env_steps counts control steps over the wrapper's lifetime."""

    def __init__(self, env: SubgoalEnv, task: gym.Env) -> None:
        super().__init__(env)
        self.subgoal_env = env  # the wrapped SMDP: its encode / decode code the high level's actions
        self.task = task
        self.env_steps = 0
        self._start: np.ndarray | None = None

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray:
        """The task's goal-reaching reward, vectorised: (B, G), (B, G) -> (B,)."""
        return np.asarray(goal_reaching_reward(self.task)(achieved_goal, desired_goal, info), dtype=np.float64)

    def reset(self, **kwargs: Any) -> tuple[dict[str, np.ndarray], dict]:
        obs, info = self.env.reset(**kwargs)
        self._start = np.asarray(obs["achieved_goal"], dtype=np.float64).copy()
        return obs, info

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        obs, _, terminated, truncated, info = self.env.step(action)
        self.env_steps += int(info["low_steps"])
        reward = float(self.compute_reward(obs["achieved_goal"], obs["desired_goal"], info))
        info = dict(info, start=self._start)
        low = self.subgoal_env.low_level
        if isinstance(low, RecordingLowLevel) and low.record:
            info["low_obs"], info["low_actions"] = low.take()
        self._start = np.asarray(obs["achieved_goal"], dtype=np.float64).copy()
        return obs, reward, terminated, truncated, info


class PersistentReset(gym.Wrapper):
    """reset() resets the inner env only when its episode has ended (or never started); otherwise it returns the
    current observation, so several short low-level episodes run through one task episode."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._obs: Any = None
        self._info: dict = {}

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        if self._obs is None:
            self._obs, self._info = self.env.reset(**kwargs)
        return self._obs, dict(self._info)

    def step(self, action: np.ndarray) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._obs, self._info = (None, {}) if terminated or truncated else (obs, info)
        return obs, reward, terminated, truncated, info


def low_env(task: gym.Env, epsilon: float, episode_steps: int, goal_sampler: Callable[..., np.ndarray]) -> gym.Env:
    """The low level's goal-reaching MDP (stage low)."""
    return TimeLimit(GoalConditionedEnv(task, epsilon=epsilon, goal_sampler=goal_sampler), max_episode_steps=episode_steps)


def subgoal_env(task: gym.Env, low: LowLevelPolicy, high: Any, epsilon: float) -> SubgoalEnv:
    """SubgoalEnv configured from a HighSpec (horizon, relative, relative_scale); epsilon = subgoal radius."""
    return SubgoalEnv(task, low, horizon=high.horizon, epsilon=epsilon, relative=high.relative,
                      relative_scale=high.relative_scale)


def high_env(task: gym.Env, low: LowLevelPolicy, high: Any, epsilon: float, record: bool) -> HighLevelEnv:
    """The high level's SMDP (stage high); record=True keeps the low level's segments in info (HIRO)."""
    return HighLevelEnv(subgoal_env(task, RecordingLowLevel(low, record), high, epsilon), task)


def adapt_env(task: gym.Env, propose: Callable[[Mapping[str, np.ndarray]], np.ndarray], epsilon: float,
              horizon: int) -> gym.Env:
    """The low level's MDP under the high level's goal distribution (stage adapt): each low-level episode is one
    subgoal segment (<= horizon steps) proposed by `propose(task obs) -> subgoal (G,)` from where the last one ended."""

    def sampler(rng: np.random.Generator, obs: Mapping[str, np.ndarray]) -> np.ndarray:  # GoalSampler; rng unused
        return propose(obs)

    return TimeLimit(GoalConditionedEnv(PersistentReset(task), epsilon=epsilon, goal_sampler=sampler),
                     max_episode_steps=horizon)
