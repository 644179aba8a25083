"""The terminal's text view of a live session's status (LiveSession.status()), refreshed in place by
hirl.teleop.ui.terminal: one string per line, wrapped at word boundaries."""
from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any


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
