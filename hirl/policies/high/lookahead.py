"""Expert look-ahead high level: the scripted expert's own future state or camera frame as the subgoal.

The oracle for generated subgoals (the `oracle_state*` / `oracle_image*` agents): at each query it snapshots the env,
runs the scripted expert (both levels, noise-free) forward in the env itself, reads where the expert got to, and
restores the env exactly (hirl_envs.mujoco_base.SnapshotMixin), so the episode goes on as if nothing had happened.
What a learned high level would have to generate is then the best it could be, and the low level's goal reaching is
measured alone.

    high = ExpertLookahead(env, expert_high, expert_low, kind="state", horizon=10)   # 10 steps ahead
    high = ExpertLookahead(env, expert_high, expert_low, kind="image", horizon=None)  # end of the current subtask
    high.propose(obs, command)   # Subgoal("state", achieved_goal (G,)) or Subgoal("image", frame (H, W, 3) uint8)

horizon None: the expert runs until its own high level proposes something else (its subtask changed: the end of the
current segment, the goal the segment-end components are trained on), at most `max_steps` steps.
"""
from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np

from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.types import Command, Observation, Subgoal

LookaheadKind = Literal["state", "image"]


class ExpertLookahead(HighLevelPolicy):
    """propose(obs, command) -> the expert's achieved goal (kind "state", (G,) float64) or rendered frame (kind
    "image", (H, W, 3) uint8) `horizon` steps ahead of now (None: at the end of its current subtask), label = the
    expert's instruction at the query. Counts the expert steps it ran (`lookahead_steps`)."""

    def __init__(self, env: gym.Env, expert_high: HighLevelPolicy, expert_low: LowLevelPolicy, kind: LookaheadKind,
                 horizon: int | None, max_steps: int = 300, goal_key: str = "achieved_goal") -> None:
        if kind not in ("state", "image"):
            raise ValueError(f"ExpertLookahead: kind must be 'state' or 'image', got {kind!r}")
        if horizon is not None and horizon < 1:
            raise ValueError(f"ExpertLookahead: horizon must be >= 1 or None (end of the subtask), got {horizon}")
        self.base: Any = env.unwrapped  # the env stepped ahead and restored (snapshot / restore / step / render)
        for method in ("snapshot", "restore"):
            if not callable(getattr(self.base, method, None)):
                raise ValueError(f"ExpertLookahead: {type(self.base).__name__} cannot be snapshotted (no {method}())")
        self.high, self.low, self.kind = expert_high, expert_low, kind
        self.horizon, self.max_steps, self.goal_key = horizon, int(max_steps), goal_key
        self.lookahead_steps = 0  # expert steps run ahead so far (the oracle's cost)

    def reset(self) -> None:
        self.high.reset()
        self.low.reset()

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        snap = self.base.snapshot()
        try:
            first = self.high.propose(obs, command)
            future, steps = obs, 0
            limit = self.horizon if self.horizon is not None else self.max_steps
            while steps < limit:
                g = first if steps == 0 else self.high.propose(future, command)
                if self.horizon is None and steps > 0 and not _same(g, first):
                    break  # the expert moved on: `future` is the end of its subtask
                future, _, terminated, truncated, _ = self.base.step(self.low.act(future, g))
                steps += 1
                if terminated or truncated:
                    break
            self.lookahead_steps += steps
            if self.kind == "state":
                value: Any = np.asarray(future[self.goal_key], dtype=np.float64).copy()
            else:
                value = self.base.render()
                if not isinstance(value, np.ndarray):
                    raise ValueError("ExpertLookahead: image subgoals need an env made with render_mode='rgb_array'")
        finally:
            self.base.restore(snap)
        return Subgoal(self.kind, value, "expert", str(first.value) if first.kind == "language" else first.label)


def _same(a: Subgoal, b: Subgoal) -> bool:
    """Whether two expert proposals name the same subgoal (same text, or equal state)."""
    if a.kind != b.kind:
        return False
    if isinstance(a.value, str) or isinstance(b.value, str):
        return a.value == b.value
    return bool(np.array_equal(a.value, b.value))
