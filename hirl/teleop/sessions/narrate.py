"""Words and numbers for a live session's state: why an episode ended, why a subgoal began, the scene as
positions, the speed steps (the terminal's text view of them: hirl.teleop.ui.scene_text)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

SPEEDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)  # simulated seconds per second the speed controls step through


WHY = {"start": "the episode started", "completion": "the high level judged the last subgoal done",
       "timeout": "the last subgoal ran past the replan timeout", "interval": "the periodic replan",
       "override": "a correction", "retry": "an earlier proposal was refused",
       "undone": "a subtask already done was undone (the world changed)"}  # trace reason -> words


def why_changed(reason: str) -> str:
    """A TraceEntry reason ("start", "completion", ...) in words."""
    return WHY.get(reason, reason)


def end_reason(info: Mapping[str, Any], terminated: bool, truncated: bool, ended_by: str | None, steps: int) -> str:
    """Why an episode ended, in words (ended_by: the person's verdict or "next" when they ended it)."""
    if ended_by:
        return {"success": "ended by you as a success", "failure": "ended by you as a failure",
                "next": "ended by you (skipped to the next episode)", "finish": "ended by finishing the session"}[ended_by]
    if info.get("physics_error"):
        return f"the simulation became unstable ({info['physics_error']})"
    task, done = list(info.get("task", [])), list(info.get("completed_subtasks", []))
    if info.get("is_success"):
        return f"chain complete: all {len(task)} subtasks done"
    current = info.get("current_subtask")
    if terminated and current is not None:
        return (f"subtask {len(done) + 1}/{len(task)} {current!r} was not done within its budget "
                f"({info.get('steps_in_subtask', '?')} steps); {len(done)} done")
    if truncated:
        return f"time limit ({steps} steps); {len(done)}/{len(task)} subtasks done"
    return f"the environment ended the episode after {steps} steps"


def next_speed(speed: float, faster: bool) -> float:
    """The next entry of SPEEDS above (faster) or below the current speed."""
    if faster:
        return next((v for v in SPEEDS if v > speed + 1e-9), max(speed, SPEEDS[-1]))
    return next((v for v in reversed(SPEEDS) if v < speed - 1e-9), min(speed, SPEEDS[0]))


def scene(observations: Any) -> dict[str, Any] | None:
    """Positions in the latest observation (Tabletop: gripper, blocks, drawer, light from its achieved_goal), for a
    text view of the scene; None when there is none."""
    if not observations:
        return None
    obs = observations[-1]
    goal = obs.get("achieved_goal") if isinstance(obs, Mapping) else None
    if goal is None:
        return None
    g = np.asarray(goal, np.float64).ravel()
    if g.size != 14:
        return {"state": [round(float(v), 3) for v in g]}
    r = lambda a: [round(float(v), 3) for v in a]  # noqa: E731
    return {"gripper": r(g[0:3]), "red": r(g[3:6]), "green": r(g[6:9]), "blue": r(g[9:12]),
            "drawer": round(float(g[12]), 3), "light": round(float(g[13]), 3)}
