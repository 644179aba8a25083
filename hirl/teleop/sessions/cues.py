"""The cues a live session shows a person, from the agent's trace and the env's info: the timeline of subgoal
segments (why each began, the subtask due then, how long it ran, whether it mismatched) and the mismatch of the
active subgoal with the subtask due now (hirl.teleop.sessions.corrector.mismatch, the scripted corrector's rule)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hirl.hierarchy.agent import TraceEntry
from hirl.teleop.sessions.corrector import mismatch
from hirl.teleop.sessions.narrate import why_changed


def fold_trace(timeline: list[dict[str, Any]], trace: Sequence[TraceEntry], seen: int, info: Mapping[str, Any]) -> int:
    """Append trace[seen:] to timeline (a segment per subgoal change: step, text, source, reason, why, due, steps,
    mismatch); returns the new count of entries folded."""
    for e in trace[seen:]:
        if e.reason is not None or not timeline:
            timeline.append({"step": e.step, "text": e.subgoal.text, "source": e.subgoal.source,
                             "reason": e.reason or "start", "why": why_changed(e.reason or "start"),
                             "due": info.get("current_subtask"), "steps": 0, "mismatch": None})
        timeline[-1]["steps"] += 1
    return len(trace)


def judge(last: dict[str, Any] | None, t: int, active: str | None, info: Mapping[str, Any],
          canonical: Callable[[str], str | None] | None) -> dict[str, Any] | None:
    """The mismatch at step t ({kind, active, due, since, steps}) or None; `since` carries over from `last` while the
    active subgoal and the subtask due stay the same."""
    kind = mismatch(active, info, canonical)
    if kind is None:
        return None
    due = info.get("current_subtask")
    m = last if last is not None and (last["active"], last["due"]) == (active, due) else None
    since = int(m["since"]) if m is not None else int(t)
    return {"kind": kind, "active": active, "due": due, "since": since, "steps": int(t) - since}
