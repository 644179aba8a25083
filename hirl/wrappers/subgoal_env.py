"""SubgoalEnv: the high level's semi-MDP. Its action is a state subgoal; one step runs the frozen low level
for up to `horizon` control steps, ending early when the subgoal is reached or the episode ends."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hirl.policies.base import LowLevelPolicy
from hirl.types import Subgoal


class SubgoalEnv(gym.Env):
    """env          inner env with Dict(observation, achieved_goal, desired_goal) observations
    low_level      frozen goal-conditioned policy, driven with state subgoals (source "policy")
    horizon        max control steps per high-level action (H)
    epsilon        subgoal-reached distance in achieved-goal units
    relative       False: the action in [-1, 1]^G maps onto the achieved-goal box (absolute subgoal);
                   True: subgoal = achieved + action * relative_scale
    relative_scale per-dimension reach of a relative subgoal (scalar or (G,))

    The action space is always Box(-1, 1, (G,)); info carries "subgoal" (G,), "achieved" (G,), "reached" and
    "low_steps" so high-level RL can relabel the action with the state actually reached (HAC-style).
    Reward: sum of the inner env's rewards over the low-level steps.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        env: gym.Env,
        low_level: LowLevelPolicy,
        horizon: int = 25,
        epsilon: float = 0.05,
        relative: bool = False,
        relative_scale: float | np.ndarray = 1.0,
    ) -> None:
        space = env.observation_space
        if not isinstance(space, spaces.Dict) or "achieved_goal" not in space.spaces:
            raise ValueError("SubgoalEnv needs an env with Dict observations that include achieved_goal")
        goal_space = space["achieved_goal"]
        if not isinstance(goal_space, spaces.Box) or (not relative and not goal_space.is_bounded()):
            raise ValueError("SubgoalEnv: absolute subgoals need a bounded Box achieved_goal space (or use relative=True)")
        if horizon < 1:
            raise ValueError(f"SubgoalEnv.horizon must be >= 1, got {horizon}")
        self.env, self.low_level = env, low_level
        self.horizon, self.epsilon, self.relative = int(horizon), float(epsilon), relative
        self.goal_low = goal_space.low.astype(np.float64)
        self.goal_high = goal_space.high.astype(np.float64)
        self.relative_scale = np.broadcast_to(np.asarray(relative_scale, dtype=np.float64), goal_space.shape).copy()
        self.observation_space = space
        self.action_space = spaces.Box(-1.0, 1.0, shape=goal_space.shape, dtype=np.float32)
        self.render_mode = getattr(env, "render_mode", None)
        self._obs: dict[str, np.ndarray] | None = None

    def decode(self, action: np.ndarray, achieved: np.ndarray) -> np.ndarray:
        """Subgoal (G,) for a high-level action in [-1, 1]^G."""
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if self.relative:
            return achieved + a * self.relative_scale
        return self.goal_low + (a + 1.0) * 0.5 * (self.goal_high - self.goal_low)

    def encode(self, subgoal: np.ndarray, achieved: np.ndarray) -> np.ndarray:
        """Inverse of decode: the action in [-1, 1]^G that asks for subgoal (used by hindsight action relabeling)."""
        g = np.asarray(subgoal, dtype=np.float64)
        if self.relative:
            a = (g - achieved) / self.relative_scale
        else:
            a = 2.0 * (g - self.goal_low) / (self.goal_high - self.goal_low) - 1.0
        return np.clip(a, -1.0, 1.0).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict]:
        super().reset(seed=seed)
        self.low_level.reset()
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        return obs, info

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        if self._obs is None:
            raise RuntimeError("SubgoalEnv.step called before reset")
        action = np.asarray(action)
        if action.shape != self.action_space.shape or not np.all(np.isfinite(action)):
            raise ValueError(
                f"SubgoalEnv: action must be a finite array of shape {self.action_space.shape}, got {action.shape}")
        obs = self._obs
        goal = self.decode(action, np.asarray(obs["achieved_goal"], dtype=np.float64))
        subgoal = Subgoal("state", goal, "policy")
        total, terminated, truncated, steps, reached = 0.0, False, False, 0, False
        info: dict[str, Any] = {}
        while steps < self.horizon:
            steps += 1
            obs, reward, terminated, truncated, info = self.env.step(self.low_level.act(obs, subgoal))
            total += float(reward)
            reached = bool(np.linalg.norm(np.asarray(obs["achieved_goal"], dtype=np.float64) - goal) <= self.epsilon)
            if reached or terminated or truncated:
                break
        self._obs = obs
        info = dict(info, subgoal=goal, achieved=np.asarray(obs["achieved_goal"], dtype=np.float64).copy(), reached=reached,
                    low_steps=steps)
        return obs, total, bool(terminated), bool(truncated), info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
