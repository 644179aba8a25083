"""GoalConditionedEnv: an env plus the current subgoal, with the goal-reaching reward 1{d(s, g) <= eps}.

This is the low level's MDP for goal-conditioned RL (SB3 SAC/TD3 + HerReplayBuffer): observations are
Dict(observation, achieved_goal, desired_goal) with achieved and desired goals in one space, and
compute_reward is vectorised over a batch of goals as HER needs.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable, Mapping

import gymnasium as gym
import numpy as np
from gymnasium import spaces

GoalSampler = Callable[[np.random.Generator, Mapping[str, np.ndarray]], np.ndarray]


def sparse_goal_reward(achieved: np.ndarray, desired: np.ndarray, epsilon: float, negative: bool = True) -> np.ndarray:
    """1{||achieved - desired|| <= eps} over the last axis: (G,) -> scalar, (B, G) -> (B,).
    negative=True shifts it to SB3's -1 (not reached) / 0 (reached) convention."""
    reached = np.linalg.norm(np.asarray(achieved) - np.asarray(desired), axis=-1) <= epsilon
    return reached.astype(np.float64) - (1.0 if negative else 0.0)


class GoalConditionedEnv(gym.Env):
    """Wraps an env whose observations are Dict(observation, achieved_goal, desired_goal) and replaces its goal
    by the current subgoal.

    env               the inner env (its own reward and success are ignored; its termination/truncation are kept)
    epsilon           goal-reached distance, in achieved-goal units
    goal_sampler      (rng, first_obs) -> goal (G,) drawn at reset; None keeps the inner env's desired_goal
    negative_reward   True: -1/0 rewards (SB3 convention); False: 0/1
    terminate_on_success  end the episode when the subgoal is reached
    The subgoal can also be set from outside with set_goal(g) (hierarchical execution) or reset(options={"goal": g}).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        env: gym.Env,
        epsilon: float = 0.05,
        goal_sampler: GoalSampler | None = None,
        negative_reward: bool = True,
        terminate_on_success: bool = True,
    ) -> None:
        space = env.observation_space
        if not isinstance(space, spaces.Dict) or not {"observation", "achieved_goal", "desired_goal"} <= set(space.spaces):
            raise ValueError(
                "GoalConditionedEnv needs an env with Dict(observation, achieved_goal, desired_goal) observations")
        if space["achieved_goal"] != space["desired_goal"]:
            raise ValueError(
                "GoalConditionedEnv: achieved_goal and desired_goal must share one space (HER relabels across them)")
        if epsilon <= 0:
            raise ValueError(f"GoalConditionedEnv.epsilon must be > 0, got {epsilon}")
        self.env = env
        self._goal_space = space["desired_goal"]
        self.epsilon, self.goal_sampler = float(epsilon), goal_sampler
        self.negative_reward, self.terminate_on_success = negative_reward, terminate_on_success
        self.observation_space = spaces.Dict(
            {"observation": space["observation"], "achieved_goal": space["achieved_goal"],
             "desired_goal": space["desired_goal"]}
        )
        self.action_space = env.action_space
        self.render_mode = getattr(env, "render_mode", None)
        self._goal: np.ndarray | None = None

    @property
    def goal(self) -> np.ndarray | None:
        return None if self._goal is None else self._goal.copy()

    def set_goal(self, goal: np.ndarray) -> None:
        """Make goal (G,) the current subgoal from now on (rewards and desired_goal follow it)."""
        goal = np.asarray(goal, dtype=self._goal_space.dtype)
        if goal.shape != self._goal_space.shape:
            raise ValueError(f"set_goal: goal shape {goal.shape} != goal space shape {self._goal_space.shape}")
        self._goal = goal

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray:
        """Vectorised: (G,) -> scalar or (B, G) -> (B,)."""
        return sparse_goal_reward(achieved_goal, desired_goal, self.epsilon, self.negative_reward)

    def _reached(self, obs: Mapping[str, np.ndarray]) -> bool:
        return bool(np.linalg.norm(np.asarray(obs["achieved_goal"]) - np.asarray(obs["desired_goal"])) <= self.epsilon)

    def _wrap(self, obs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert self._goal is not None
        return {"observation": obs["observation"], "achieved_goal": obs["achieved_goal"], "desired_goal": self._goal.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict]:
        super().reset(seed=seed)
        options = dict(options or {})
        goal = options.pop("goal", None)
        obs, info = self.env.reset(seed=seed, options=options or None)
        if goal is not None:
            self.set_goal(goal)
        elif self.goal_sampler is not None:
            self.set_goal(self.goal_sampler(self.np_random, obs))
        else:
            self.set_goal(obs["desired_goal"])
        wrapped = self._wrap(obs)
        return wrapped, dict(info, is_success=self._reached(wrapped))

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        obs, _, terminated, truncated, info = self.env.step(action)
        wrapped = self._wrap(obs)
        reward = float(self.compute_reward(wrapped["achieved_goal"], wrapped["desired_goal"], info))
        success = self._reached(wrapped)
        info = dict(info, is_success=success)
        return wrapped, reward, bool(terminated or (success and self.terminate_on_success)), bool(truncated), info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
