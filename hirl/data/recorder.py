"""One episode, recorded through run_episode's hooks, as a journal record (a plain dict of numpy arrays / lists).

    recorder = EpisodeRecorder(env, image_every=K)
    result = run_episode(env, agent, command_fn, seed=s, on_step=recorder.on_step, on_transition=recorder.on_transition)
    record = recorder.finish(index=i, seed=s, options=opts, attrs=schema.episode_attrs(result))

The record's layout is the stored episode's (hirl/data/schema.py); hirl.data.journal stores it, hirl.data.assemble
turns records into the dataset."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.hierarchy.agent import HierarchicalAgent
from hirl.hierarchy.completion import achieved_state
from hirl.types import Observation, Subgoal

PREDICATE_INFO_KEY = "subtask_success"
DISTURBANCE_INFO_KEY = "disturbance"  # the record of what the world undid in a step, or None (disturbed envs only)


def subgoal_text(subgoal: Subgoal) -> str:
    """Language label of a subgoal: the instruction itself, else its label, else Subgoal.describe() (see Subgoal.text)."""
    return subgoal.text


def _copy_obs(obs: Observation) -> Any:
    if isinstance(obs, Mapping):
        return {k: np.array(v, copy=True) for k, v in obs.items()}
    return np.array(obs, copy=True)


def _stack_obs(rows: list[Any]) -> Any:
    if isinstance(rows[0], dict):
        return {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    return np.stack(rows)


class EpisodeRecorder:
    """Collects one episode through run_episode's hooks (on_step before each action, on_transition after it).

    env          the env being stepped (rendered every `image_every` steps when > 0; needs render_mode="rgb_array")
    image_every  K: keep a frame of observation t when t % K == 0, plus the final observation (0: no images)
    """

    def __init__(self, env: gym.Env, image_every: int = 0) -> None:
        if image_every < 0:
            raise ValueError(f"image_every must be >= 0, got {image_every}")
        self.env, self.image_every = env, int(image_every)
        self.predicate_names: list[str] | None = None
        self._reset()

    def _reset(self) -> None:
        self.obs: list[Any] = []
        self.actions: list[np.ndarray] = []
        self.rewards: list[float] = []
        self.terminations: list[bool] = []
        self.truncations: list[bool] = []
        self.text: list[str] = []
        self.source: list[str] = []
        self.reason: list[str] = []
        self.segment: list[int] = []
        self.state_goal: list[np.ndarray] = []
        self.success: list[bool] = []
        self.predicates: list[np.ndarray] = []
        self.disturbance: list[str] = []  # per observation: what the world undid in the step before ("" nothing)
        self.frames: list[np.ndarray] = []
        self.frame_steps: list[int] = []
        self._last: tuple[Any, Mapping[str, Any]] | None = None

    # --------------------------------------------------------------- hooks
    def on_step(self, t: int, agent: HierarchicalAgent, obs: Observation, info: Mapping[str, Any]) -> None:
        if t == 0:
            self._reset()
        self._observe(t, obs, info)

    def on_transition(self, t: int, agent: HierarchicalAgent, obs: Observation, action: np.ndarray, reward: float,
                      next_obs: Observation, terminated: bool, truncated: bool, info: Mapping[str, Any]) -> None:
        entry = agent.trace[-1]
        self.actions.append(np.array(action, copy=True))
        self.rewards.append(float(reward))
        self.terminations.append(bool(terminated))
        self.truncations.append(bool(truncated))
        self.text.append(subgoal_text(entry.subgoal))
        self.source.append(entry.subgoal.source)
        self.reason.append(entry.reason or "")
        new_segment = entry.reason is not None and t > 0
        self.segment.append((self.segment[-1] + int(new_segment)) if self.segment else 0)
        if entry.subgoal.kind == "state":
            self.state_goal.append(np.asarray(entry.subgoal.value, dtype=np.float64))
        self._last = (next_obs, info)

    def _observe(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        self.obs.append(_copy_obs(obs))
        self.success.append(bool(info.get("is_success", False)))
        if DISTURBANCE_INFO_KEY in info:
            record = info[DISTURBANCE_INFO_KEY]
            self.disturbance.append(f"{record['undid']}: {record['what']}" if record else "")
        flags = info.get(PREDICATE_INFO_KEY)
        if isinstance(flags, Mapping):
            if self.predicate_names is None:
                self.predicate_names = sorted(str(k) for k in flags)
            self.predicates.append(np.array([bool(flags.get(n, False)) for n in self.predicate_names], dtype=bool))
        if self.image_every and t % self.image_every == 0:
            self._frame(t)

    def _frame(self, t: int) -> None:
        frame = self.env.render()
        if frame is None:
            raise RuntimeError("EpisodeRecorder: image_every > 0 needs an env made with render_mode='rgb_array'")
        self.frames.append(np.asarray(frame, dtype=np.uint8).copy())
        self.frame_steps.append(t)

    # --------------------------------------------------------------- result
    def finish(self, *, index: int, seed: int, options: Mapping[str, Any] | None = None,
               attrs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The finished episode as a journal record (plain dict). Call right after run_episode returns (the env
        still holds the final state, rendered when images are kept)."""
        if self._last is None or not self.actions:
            raise RuntimeError("EpisodeRecorder.finish: no transition was recorded")
        T = len(self.actions)
        final_obs, final_info = self._last
        self._observe(T, final_obs, final_info)
        if self.image_every and (not self.frame_steps or self.frame_steps[-1] != T):
            self._frame(T)

        def pad(rows: list[Any]) -> list[Any]:  # T -> T + 1 rows: row T repeats row T-1
            return rows + rows[-1:]

        segment = np.asarray(pad(self.segment), dtype=np.int64)
        infos: dict[str, Any] = {
            "subgoal_text": pad(self.text),
            "subgoal_source": pad(self.source),
            "subgoal_reason": [*self.reason, ""],
            "segment": segment,
            "intervention": np.asarray([r == "override" for r in self.reason] + [False], dtype=bool),
            "is_success": np.asarray(self.success, dtype=bool),
        }
        if self.state_goal:
            if len(self.state_goal) != T:
                raise RuntimeError("EpisodeRecorder: state and non-state subgoals mixed in one episode")
            infos["subgoal_state"] = np.stack(pad(self.state_goal))
        if self.predicates:
            infos["predicates"] = np.stack(self.predicates)
        if self.disturbance:
            infos["disturbance"] = list(self.disturbance)
        starts = np.flatnonzero(np.diff(segment[:T], prepend=-1))
        ends = np.append(starts[1:], T)
        achieved = np.stack([achieved_state(self.obs[e]) for e in ends])
        infos["segments"] = {"start": starts.astype(np.int64), "end": ends.astype(np.int64), "goal_state": achieved}
        if self.frames:
            infos["images"] = {"frames": np.stack(self.frames), "steps": np.asarray(self.frame_steps, dtype=np.int64)}
        record = {
            "index": int(index),
            "seed": int(seed),
            "options": dict(options) if options else None,
            "observations": _stack_obs(self.obs),
            "actions": np.stack(self.actions),
            "rewards": np.asarray(self.rewards, dtype=np.float64),
            "terminations": np.asarray(self.terminations, dtype=bool),
            "truncations": np.asarray(self.truncations, dtype=bool),
            "infos": infos,
            "predicate_names": list(self.predicate_names or []),
            "attrs": dict(attrs or {}),
        }
        self._reset()
        return record
