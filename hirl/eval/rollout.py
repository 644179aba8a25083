"""The one rollout path: every evaluation, demo and correction session runs episodes through run_episode."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import gymnasium as gym
import numpy as np

from hirl.eval.video import annotate
from hirl.hierarchy.agent import HierarchicalAgent
from hirl.types import Command, Observation, Subgoal

CommandFn = Callable[[Mapping[str, Any]], Command]


class RolloutAgent(Protocol):
    """What run_episode drives: a HierarchicalAgent, or a flat / chain-of-thought baseline agent.
    Agents without a separate high level report num_queries == 0 and may have no trace."""

    step_count: int
    num_queries: int
    num_replans: int

    @property
    def subgoal(self) -> Subgoal | None: ...

    def reset(self, command: Command | None = None) -> None: ...

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray: ...


StepHook = Callable[[int, HierarchicalAgent, Observation, Mapping[str, Any]], None]


class TransitionHook(Protocol):
    def __call__(
        self, t: int, agent: HierarchicalAgent, obs: Observation, action: np.ndarray, reward: float,
        next_obs: Observation, terminated: bool, truncated: bool, info: Mapping[str, Any],
    ) -> None: ...


@dataclass
class EpisodeResult:
    """What one episode did. Chain fields are empty for envs without subtask chains.

    task            the chain's subtask instructions, in order
    completed       the subtasks completed, in order
    subtask_steps   control steps spent on each completed subtask
    subgoals        subgoal segments the agent started (each start, replan or override); 0 for flat agents
    subgoals_reached  segments during which the chain advanced, i.e. the low level completed a subtask while
                    pursuing that subgoal (for image subgoals: how often a generated goal was reachable)
    frames          annotated video frames (only when frames were requested)
    """

    seed: int
    command: str
    success: bool
    steps: int
    high_level_queries: int
    replans: int
    interventions: int
    task: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    subtask_steps: list[int] = field(default_factory=list)
    subgoals: int = 0
    subgoals_reached: int = 0
    physics_error: str | None = None
    frames: list[np.ndarray] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready record without frames."""
        return {k: v for k, v in self.__dict__.items() if k != "frames"}


def run_episode(
    env: gym.Env,
    agent: RolloutAgent,
    command_fn: CommandFn,
    *,
    seed: int,
    options: dict[str, Any] | None = None,
    frame_every: int = 0,
    on_step: StepHook | None = None,
    on_transition: TransitionHook | None = None,
) -> EpisodeResult:
    """Reset env with seed/options, give the agent the command built from the reset info, and step until the
    episode ends. frame_every > 0 renders and annotates a frame every that many control steps (the env must
    have render_mode="rgb_array"); on_step(t, agent, obs, info) runs before each action (correctors hook in here);
    on_transition(t, agent, obs, action, reward, next_obs, terminated, truncated, info) runs after each env step
    (dataset writers hook in here; agent.trace[-1] holds the subgoal that produced the action)."""
    obs, info = env.reset(seed=seed, options=options)
    command = command_fn(info)
    agent.reset(command)
    frames: list[np.ndarray] = []
    completed_before = 0
    subtask_steps: list[int] = []
    last_completion = 0
    subgoals = subgoals_reached = 0
    segment_reached = False
    t, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        if on_step is not None:
            on_step(t, agent, obs, info)
        action = agent.act(obs, info)
        trace = getattr(agent, "trace", None)
        if trace and trace[-1].reason is not None:  # a new subgoal segment starts at this step
            subgoals, segment_reached = subgoals + 1, False
        if frame_every and t % frame_every == 0:
            frames.append(_frame(env, agent, command))
        next_obs, reward, terminated, truncated, info = env.step(action)
        if on_transition is not None:
            on_transition(t, agent, obs, action, float(reward), next_obs, bool(terminated), bool(truncated), info)
        obs = next_obs
        t += 1
        completed_now = len(info.get("completed_subtasks", ()))
        if completed_now > completed_before:
            subtask_steps.extend([t - last_completion] * (completed_now - completed_before))
            completed_before, last_completion = completed_now, t
            if subgoals and not segment_reached:
                subgoals_reached, segment_reached = subgoals_reached + 1, True
    if frame_every:
        frames.append(_frame(env, agent, command))
    return EpisodeResult(
        seed=seed,
        command=command.text,
        success=bool(info.get("is_success", False)),
        steps=t,
        high_level_queries=agent.num_queries,
        replans=agent.num_replans,
        interventions=sum(1 for e in getattr(agent, "trace", ()) if e.reason == "override"),
        task=list(info.get("task", [])),
        completed=list(info.get("completed_subtasks", [])),
        subtask_steps=subtask_steps,
        subgoals=subgoals,
        subgoals_reached=subgoals_reached,
        physics_error=info.get("physics_error"),
        frames=frames,
    )


def _frame(env: gym.Env, agent: RolloutAgent, command: Command) -> np.ndarray:
    subgoal = agent.subgoal
    trace = getattr(agent, "trace", None)
    entry = trace[-1] if trace else None
    lines = [(f"task: {command.text}", "")]
    if subgoal is not None:
        why = f" ({entry.reason})" if entry is not None and entry.reason else ""
        lines.append((f"subgoal [{subgoal.source}]: {subgoal.describe()}{why}", subgoal.source))
    lines.append((f"step {agent.step_count}  queries {agent.num_queries}", ""))
    goal_image = subgoal.value if subgoal is not None and subgoal.kind == "image" else None
    return annotate(env.render(), lines, goal_image=goal_image)
