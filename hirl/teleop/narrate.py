"""Words and numbers for a live session's state: why an episode ended, the scene as positions, the speed steps,
and the terminal's text view of it all (refreshed in place)."""
from __future__ import annotations

import textwrap
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


def _xyz(p: Any) -> str:
    return "(" + ", ".join(f"{float(v):+.2f}" for v in p) + ")" if p is not None else "-"


def bar(used: int, total: int, width: int = 20) -> str:
    """A text budget bar: "[######..............]" with the used share filled."""
    filled = min(width, max(0, round(width * used / max(total, 1))))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def wrap(lines: list[str], width: int) -> list[str]:
    """Each line wrapped at word boundaries to at most `width` characters (continuations indented by 2)."""
    out: list[str] = []
    for line in lines:
        out += textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False) or [""]
    return out


def scene_text(s: Mapping[str, Any], width: int = 110) -> list[str]:
    """The terminal's view of a session status (LiveSession.status()): task, done subtasks, active subgoal with why
    it began and whether it matches the subtask due, the subtask's budget, the high level's next proposal, gripper
    and object positions, counts; one string per line, wrapped at word boundaries to at most `width` characters."""
    dt = 0.02
    g = s.get("subgoal") or {}
    task, done = list(s.get("task", [])), list(s.get("completed", []))
    head = (f"hirl {s.get('mode', '')} | episode {s.get('episode', 0)} | {s.get('phase', '')} | step {s.get('step', 0)} | "
            f"speed {float(s.get('speed', 1.0)):g}x | your time {float(s.get('attention_seconds', 0.0)) / 60:.1f} min")
    lines = [head, "task: " + (s.get("command") or "-"),
             f"done {len(done)}/{len(task)}: " + ("; ".join(done) or "-")]
    if g:
        age = int(g.get("age_steps", 0)) * dt
        lines.append(f"subgoal: {g.get('text', '-')} ({g.get('source', '-')}, {age:.1f} s; began: "
                     f"{g.get('why') or g.get('reason') or '-'}) | now due: {s.get('current') or '-'}")
    else:
        lines.append("subgoal: - (press p to start)" if s.get("phase") == "ready" else "subgoal: -")
    m = s.get("mismatch")
    if m:
        lines.append(f"!! MISMATCH ({m['kind']}, {int(m.get('steps', 0)) * dt:.1f} s): the subgoal is not the subtask "
                     f"due, {m['due']!r}" + (" -- y accepts it" if s.get("suggestion") else "")
                     + (f" -- your correction {s['pending']!r} is pending (p or . applies it)" if s.get("pending") else ""))
    b = s.get("budget")
    if b:
        lines.append(f"budget {bar(b['used'], b['total'])} {b['used']}/{b['total']} steps, {b['seconds_left']:.1f} s "
                     "left" + (f" | next proposal: {s['preview']!r}" if s.get("preview") else ""))
    sc = s.get("scene") or {}
    if "gripper" in sc:
        light = "on" if sc.get("light", 0) > 0.5 else "off"
        lines.append(f"gripper {_xyz(sc['gripper'])} {'closed' if s.get('gripper_closed') else ''}".rstrip()
                     + f" | drawer {float(sc['drawer']):.2f} m open | light {light}")
        lines.append("blocks: " + "  ".join(f"{c} {_xyz(sc[c])}" for c in ("red", "green", "blue")))
    elif sc:
        lines.append("state: " + " ".join(f"{v:+.2f}" for v in sc.get("state", [])))
    counts = f"corrections {s.get('corrections', 0)}"
    if "takeovers" in s:
        counts += (f" | takeovers {s.get('takeovers', 0)}" + (" + 1 in progress" if s.get("takeover_active") else "")
                   + f" ({float(s.get('takeover_seconds', 0.0)):.1f} s simulated)")
        counts += " | YOU DRIVE (t hands back)" if s.get("takeover_active") else ""
    if "labels" in s:
        counts = f"labels {s.get('labels', 0)}" + (" | waiting for the first label" if s.get("needs_label") else "")
    hist = [h for h in s.get("history", []) if h.get("kind") == "correction"]
    if hist:
        h = hist[-1]
        counts += (f" | last: {h['corrected']!r} -> {h['skill']!r} ({h.get('similarity', 1.0):.2f}, "
                   f"{h.get('shown', h['status'])})")
    lines.append(counts)
    if s.get("end_reason"):
        lines.append(f"episode ended: {s['end_reason']}" + (" (saved)" if s.get("saved") else ""))
    return wrap(lines, width)
