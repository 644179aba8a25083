"""GoalComponents: a goal env restricted to some components of its goal (e.g. the gripper's xyz of Tabletop's 14-d
goal), so a goal-conditioned low level can be trained by RL on reaching just those."""
from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class GoalComponents(gym.ObservationWrapper):
    """achieved_goal and desired_goal become their components `indices` (G,) -> (K,), in one shared Box (the
    achieved-goal bounds of those components; HER relabels across the two). Every other observation entry (e.g.
    Tabletop's "velocity") is appended to "observation", in key order: goal-conditioned RL (GoalConditionedEnv, HER,
    SB3's low-level policies) reads exactly observation / achieved_goal / desired_goal, and a reaching policy needs its
    own velocity to stop on a small goal. The inner env's reward and success are untouched: wrap it in
    GoalConditionedEnv for a goal-reaching reward."""

    def __init__(self, env: gym.Env, indices: Sequence[int]) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Dict) or not {"achieved_goal", "desired_goal"} <= set(space.spaces):
            raise ValueError("GoalComponents needs an env with Dict observations that include achieved_goal and desired_goal")
        goal = space["achieved_goal"]
        if not isinstance(goal, spaces.Box) or len(goal.shape) != 1:
            raise ValueError(f"GoalComponents: achieved_goal must be a 1-d Box, got {goal}")
        n = goal.shape[0]
        self.indices = np.asarray(list(indices), dtype=np.int64)
        distinct = len(set(self.indices.tolist())) == len(self.indices)
        if not len(self.indices) or not distinct or not all(0 <= i < n for i in self.indices):
            raise ValueError(f"goal_indices must be distinct components of the {n}-d goal, got {list(indices)}")
        box = spaces.Box(goal.low[self.indices], goal.high[self.indices], dtype=goal.dtype)
        self.extra_keys = sorted(k for k in space.spaces if k not in ("observation", "achieved_goal", "desired_goal"))
        parts = [space["observation"], *(space[k] for k in self.extra_keys)]
        boxes = [p for p in parts if isinstance(p, spaces.Box) and len(p.shape) == 1]
        if len(boxes) != len(parts):
            raise ValueError("GoalComponents: observation entries other than the goals must be 1-d Boxes")
        obs_box = spaces.Box(np.concatenate([p.low for p in boxes]), np.concatenate([p.high for p in boxes]), dtype=np.float64)
        self.observation_space = spaces.Dict({"observation": obs_box, "achieved_goal": box, "desired_goal": box})

    def observation(self, observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{observation (D,), extras...: (E,), goals (G,)} ->
        {observation (D + sum E,), achieved_goal (K,), desired_goal (K,)}."""
        flat = np.concatenate([np.asarray(observation["observation"], dtype=np.float64),
                               *(np.asarray(observation[k], dtype=np.float64) for k in self.extra_keys)])
        return {"observation": flat, "achieved_goal": np.asarray(observation["achieved_goal"])[self.indices],
                "desired_goal": np.asarray(observation["desired_goal"])[self.indices]}

    def project(self, goals: np.ndarray) -> np.ndarray:
        """Full goals (..., G) -> their components (..., K)."""
        return np.asarray(goals)[..., self.indices]
