"""A scripted person at a live correction session: the stand-in that measures whether a session's pace lets a
person's interventions land before the subtask budget runs out.

    person = ScriptedPerson(session, reaction_seconds=2.0, time_scale=2.0)
    log = person.run(minutes=20)          # the session must be started; returns the counts below

It uses only what a person has: the session's status (what every UI renders) and its UI calls. It polls the status;
when the mismatch cue shows (the active subgoal is not the subtask due), it reacts reaction_seconds later (wall clock,
divided by time_scale) by accepting the suggestion (correct to the subtask due, the page's y key), then resumes the
session if it was paused; an ended episode is followed by "next" after next_seconds. time_scale runs the whole
session faster than real time consistently: the caller sets the session's speed time_scale times the pace under
test, and every wall-clock wait of the person is divided by it (the run is time_scale times shorter; the log reports
the pace the simulation actually achieved, so a machine that could not keep up is visible).

A cue is counted once (per episode and the step its mismatch began): "landed" when the correction was applied while
its subtask still had budget left (budget_left: steps left then), "late" when the episode ended (the budget ran out)
first with that subtask not done (or the correction was refused), "resolved" when the cue went away otherwise before
the reaction (the high level fixed the subgoal, or the subtask got done anyway)."""
from __future__ import annotations

import statistics
import time
from typing import Any

from hirl.errors import InputError
from hirl.teleop.sessions.session import CorrectionSession


class ScriptedPerson:
    """Polls a started CorrectionSession and reacts to its mismatch cue (see the module docstring)."""

    def __init__(self, session: CorrectionSession, reaction_seconds: float = 2.0, time_scale: float = 1.0,
                 next_seconds: float = 0.5, poll_seconds: float = 0.05) -> None:
        self.session, self.scale = session, float(time_scale)
        self.reaction, self.next_wait, self.poll = float(reaction_seconds), float(next_seconds), float(poll_seconds)
        self.cues: dict[tuple[int, int], dict[str, Any]] = {}  # (episode, mismatch start) -> what became of it

    def _wait(self, seconds: float) -> None:
        time.sleep(seconds / self.scale)

    def run(self, minutes: float) -> dict[str, Any]:
        """React for `minutes` of the person's (scaled) time; returns the log (see summary())."""
        start, steps0 = time.monotonic(), self._steps()
        end = start + minutes * 60.0 / self.scale
        watching: dict[str, Any] | None = None  # the cue on the screen now
        while time.monotonic() < end:
            s = self.session.status()
            if s["phase"] == "finished":
                break
            m = s.get("mismatch")
            key = (int(s["episode"]), int(m["since"])) if m else None
            if watching is not None and (watching["episode"], watching["since"]) != key:  # the cue has gone
                if "outcome" not in watching:  # before the person acted: the budget ran out, or it needed no one
                    over = (s["episode"] == watching["episode"] and s.get("end_reason")
                            and watching["due"] not in s.get("completed", ()))  # ended with its subtask not done
                    watching["outcome"] = "late" if over else "resolved"
                watching = None
            if s["phase"] == "ended":
                self._wait(self.next_wait)
                self._control("next")
            elif key is not None:
                assert m is not None
                if watching is None:
                    watching = self.cues.setdefault(key, {"episode": key[0], "since": key[1], "due": m["due"],
                                                          "used_then": (s.get("budget") or {}).get("used"),
                                                          "noticed": time.monotonic()})
                elif "outcome" not in watching and time.monotonic() - watching["noticed"] >= self.reaction / self.scale:
                    self._accept(watching)
            elif s["phase"] == "paused":
                self._control("resume")  # paused on a cue that has gone: go on
            self._wait(self.poll)
        wall = time.monotonic() - start
        return self.summary(wall, self._steps() - steps0)

    def _control(self, action: str) -> None:
        try:
            self.session.control(action)
        except InputError:  # the state moved on since the person looked (e.g. the episode ended)
            pass

    def _steps(self) -> int:
        """Control steps run so far in this session (finished episodes and the current one)."""
        with self.session.lock:
            return sum(e["steps"] for e in self.session.episodes) + int(self.session.snapshot.get("step", 0))

    def _accept(self, cue: dict[str, Any]) -> None:
        """The person's reaction to the cue on the screen: accept the suggestion, then go on."""
        try:
            applied = self.session.accept()
        except InputError as exc:
            cue.update(outcome="late", why=str(exc))
            return
        after = self.session.status()
        budget = after.get("budget") or {}
        cue.update(outcome="landed", step=applied.step, reaction_steps=applied.step - cue["since"],
                   budget_left=int(budget.get("total", 0)) - int(budget.get("used", 0)))
        if after["paused"] and after["phase"] != "ended":
            self._control("resume")

    def summary(self, wall_seconds: float, steps: int) -> dict[str, Any]:
        """Counts of the cues seen and what became of them, and the pace achieved."""
        out = [c.get("outcome", "pending") for c in self.cues.values()]
        landed = [c for c in self.cues.values() if c.get("outcome") == "landed"]
        acted = sum(o in ("landed", "late") for o in out)
        cfg, dt = self.session.cfg, self.session.dt
        return {"person_minutes": round(wall_seconds * self.scale / 60.0, 2), "wall_minutes": round(wall_seconds / 60, 2),
                "time_scale": self.scale, "reaction_seconds": self.reaction, "speed": cfg.speed / self.scale,
                "auto_pause_steps": cfg.auto_pause_steps,
                "achieved_pace": round(steps * dt / max(wall_seconds * self.scale, 1e-9), 3),
                "episodes": len(self.session.episodes), "cues": len(out), "landed": out.count("landed"),
                "late": out.count("late"), "resolved": out.count("resolved"),
                "share_landed": round(out.count("landed") / acted, 3) if acted else None,
                "median_reaction_steps": statistics.median(c["reaction_steps"] for c in landed) if landed else None,
                "median_budget_left_steps": statistics.median(c["budget_left"] for c in landed) if landed else None,
                "late_cues": [{k: v for k, v in c.items() if k != "noticed"} for c in self.cues.values()
                              if c.get("outcome") == "late"]}
