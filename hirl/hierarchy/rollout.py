"""The one rollout path: every evaluation, collection, adapt round, demo and correction session runs episodes
through run_episode, driving anything that follows the Agent protocol.

Agent         what run_episode drives: a HierarchicalAgent, a baseline without a separate high level, or a wrapper.
AgentWrapper  forwards the whole Agent interface (and every other attribute) to an inner agent; subclasses override
              what they change (timing, labelling, ...).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import gymnasium as gym
import numpy as np

from hirl.types import Command, Observation, Subgoal

CommandFn = Callable[[Mapping[str, Any]], Command]


class Agent(Protocol):
    """What run_episode drives. Agents without a separate high level report num_queries == 0 and subgoal None
    (or their own predicted subgoal).

    Optional members, looked up with getattr: `trace` (list of hirl.hierarchy.agent.TraceEntry; run_episode counts
    subgoal segments and interventions from it) and `override(subgoal)` (correctors switch the subgoal with it)."""

    @property
    def step_count(self) -> int:
        """Control steps taken in this episode."""
        ...

    @property
    def num_queries(self) -> int:
        """High-level queries in this episode."""
        ...

    @property
    def num_replans(self) -> int:
        """Subgoal switches after the first one in this episode."""
        ...

    @property
    def subgoal(self) -> Subgoal | None:
        """The subgoal being executed (None before the first step or for agents without one)."""
        ...

    def reset(self, command: Command | None = None) -> None:
        """Start a new episode (with this command when given)."""
        ...

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        """One control step: the action (A,)."""
        ...


class AgentWrapper:
    """An Agent around `inner` that forwards everything to it: the Agent interface explicitly and every other
    attribute (trace, override, command, high, ...) through __getattr__. Subclasses override what they change."""

    def __init__(self, inner: Agent) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # called only for attributes the wrapper does not have itself
        if name == "inner":  # not set yet (e.g. during unpickling): no forwarding loop
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def step_count(self) -> int:
        return self.inner.step_count

    @property
    def num_queries(self) -> int:
        return self.inner.num_queries

    @property
    def num_replans(self) -> int:
        return self.inner.num_replans

    @property
    def subgoal(self) -> Subgoal | None:
        return self.inner.subgoal

    def reset(self, command: Command | None = None) -> None:
        self.inner.reset(command)

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        return self.inner.act(obs, info)


A = TypeVar("A", bound=Agent)  # the agent run_episode drives; its hooks receive that same agent
A_contra = TypeVar("A_contra", bound=Agent, contravariant=True)
StepHook = Callable[[int, A, Observation, Mapping[str, Any]], None]  # (t, agent, obs, info) before each action
# (env, agent, command, info) -> one video frame (H, W, 3) uint8; info: the env's latest info (reset's, then each step's)
FrameFn = Callable[[gym.Env, Agent, Command, Mapping[str, Any]], np.ndarray]


class TransitionHook(Protocol[A_contra]):
    """(t, agent, obs, action, reward, next_obs, terminated, truncated, info) after each env step."""

    def __call__(
        self, t: int, agent: A_contra, obs: Observation, action: np.ndarray, reward: float,
        next_obs: Observation, terminated: bool, truncated: bool, info: Mapping[str, Any],
    ) -> None: ...


@dataclass
class EpisodeResult:
    """What one episode did. Chain fields are empty for envs without subtask chains.

    seed            the env reset seed (None: the env's RNG continued from the previous episode)
    task            the chain's subtask instructions, in order
    completed       the subtasks completed, in order
    subtask_steps   control steps spent on each completed subtask (one undone and redone: from the completion
                    before it to its redo)
    subgoals        subgoal segments the agent started (each start, replan or override); 0 for flat agents
    subgoals_reached  segments during which the chain advanced, i.e. the low level completed a subtask while
                    pursuing that subgoal (for image subgoals: how often a generated goal was reachable)
    state_subgoals  segments whose subgoal was a state (G,) in the env's achieved-goal layout (envs with goal_reward)
    state_subgoals_reached  of those, the segments during which the achieved goal came within the env's goal
                    tolerance of the subgoal (goal_reward(achieved, subgoal) == 0: Tabletop's GOAL_TOL per component)
    refusals        proposals the agent refused as outside their skill's initiation set (TraceEntry.refused)
    timed_out       the episode ended by truncation (the env's time limit), not by its own termination
    disturbances    what the world undid during the episode (info["disturbances"] at its end: one record per
                    disturbance, hirl.adapters.tabletop_disturbance); None for an env without disturbances
    frames          video frames (only when frames were requested)
    """

    seed: int | None
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
    state_subgoals: int = 0
    state_subgoals_reached: int = 0
    refusals: int = 0
    physics_error: str | None = None
    timed_out: bool = False
    disturbances: list[dict[str, Any]] | None = None
    frames: list[np.ndarray] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready record without frames."""
        return {k: v for k, v in self.__dict__.items() if k != "frames"}


def run_episode(
    env: gym.Env,
    agent: A,
    command_fn: CommandFn,
    *,
    seed: int | None,
    options: dict[str, Any] | None = None,
    frame_every: int = 0,
    frame_fn: FrameFn | None = None,
    on_step: StepHook[A] | None = None,
    on_transition: TransitionHook[A] | None = None,
) -> EpisodeResult:
    """Reset env with seed/options (seed None continues the env's RNG), give the agent the command built from the
    reset info, and step until the episode ends. frame_every > 0 calls frame_fn(env, agent, command, info) every that
    many control steps and once at the end (e.g. a hirl.tracking.frames.EpisodeFilm; the env must render);
    on_step(t, agent, obs, info) runs before each action (correctors hook in here);
    on_transition(t, agent, obs, action, reward, next_obs, terminated, truncated, info) runs after each env step
    (dataset writers hook in here; agent.trace[-1] holds the subgoal that produced the action)."""
    if frame_every and frame_fn is None:
        raise ValueError("run_episode: frame_every > 0 needs a frame_fn")
    obs, info = env.reset(seed=seed, options=options)
    command = command_fn(info)
    agent.reset(command)
    frames: list[np.ndarray] = []
    completed_before = 0
    subtask_steps: list[int] = []
    completion_steps: list[int] = []  # the step at which each subtask counted in completed_before completed
    last_completion = 0
    subgoals = subgoals_reached = 0
    segment_reached = False
    goal_reward = getattr(env.unwrapped, "goal_reward", None)  # (achieved, goal) -> 0.0 within tolerance, else < 0
    state_subgoals = state_reached = 0
    state_goal: np.ndarray | None = None  # the active state subgoal until the achieved goal reaches it
    t, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        if on_step is not None:
            on_step(t, agent, obs, info)
        action = agent.act(obs, info)
        trace = getattr(agent, "trace", None)
        if trace and trace[-1].reason is not None:  # a new subgoal segment starts at this step
            subgoals, segment_reached = subgoals + 1, False
            g = trace[-1].subgoal
            state_goal = None
            if (goal_reward is not None and g.kind == "state" and isinstance(obs, Mapping) and "achieved_goal" in obs
                    and np.shape(g.value) == np.shape(obs["achieved_goal"])):
                state_subgoals, state_goal = state_subgoals + 1, np.asarray(g.value)
        if frame_every and t % frame_every == 0:
            assert frame_fn is not None
            frames.append(frame_fn(env, agent, command, info))
        next_obs, reward, terminated, truncated, info = env.step(action)
        if on_transition is not None:
            on_transition(t, agent, obs, action, float(reward), next_obs, bool(terminated), bool(truncated), info)
        obs = next_obs
        t += 1
        if state_goal is not None and goal_reward is not None and float(goal_reward(obs["achieved_goal"], state_goal)) >= 0:
            state_reached, state_goal = state_reached + 1, None
        completed_now = len(info.get("completed_subtasks", ()))
        if completed_now < completed_before:  # a subtask undone (a disturbance): its steps count towards its redo
            del subtask_steps[completed_now:], completion_steps[completed_now:]
            completed_before, last_completion = completed_now, completion_steps[-1] if completion_steps else 0
        elif completed_now > completed_before:
            subtask_steps.extend([t - last_completion] * (completed_now - completed_before))
            completion_steps.extend([t] * (completed_now - completed_before))
            completed_before, last_completion = completed_now, t
            if subgoals and not segment_reached:
                subgoals_reached, segment_reached = subgoals_reached + 1, True
    if frame_every:
        assert frame_fn is not None
        frames.append(frame_fn(env, agent, command, info))
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
        state_subgoals=state_subgoals,
        state_subgoals_reached=state_reached,
        refusals=sum(len(getattr(e, "refused", ())) for e in getattr(agent, "trace", ())),
        physics_error=info.get("physics_error"),
        timed_out=bool(truncated and not terminated),
        disturbances=[dict(d) for d in info["disturbances"]] if "disturbances" in info else None,
        frames=frames,
    )
