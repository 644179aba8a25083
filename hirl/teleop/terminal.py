"""The terminal session (`--ui terminal`): the same LiveSession driven by typed lines, for remote use without a
browser. The scene is shown as text (task, done subtasks, active subgoal and its age, gripper and object
positions, counts): on a terminal a panel at the top is refreshed in place (ANSI scroll region) while replies
scroll below it; elsewhere (a pipe) it is printed whenever the phase, episode or subgoal changes.

    p / start  start, pause / resume      .   step one control step        + / -   faster / slower
    ok / fail  verdict on the episode     n   next episode (twice to end a running one)
    u          undo the last correction   t   take over / hand back (then w a s d move, r / f up / down, g grip)
    ?          status and known skills    q   finish the session (twice to confirm)
    anything else: a correction (correction sessions) or a segment label (teleop; "+ TEXT" adds a new skill)"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import Any, TextIO

from hirl.errors import InputError
from hirl.teleop.live import LiveSession
from hirl.teleop.narrate import scene_text

COMMANDS = {".": "step", "ok": "success", "fail": "failure", "+": "faster", "-": "slower", "start": "start"}
# teleop over a terminal: one line of these letters = keys held for key_timeout seconds
LETTERS = {"w": "ArrowUp", "s": "ArrowDown", "a": "ArrowLeft", "d": "ArrowRight", "r": "r", "f": "v", "g": "g"}
CONFIRM_SECONDS = 10.0  # a destructive command must be repeated within this many seconds
PANEL = 9  # lines of the in-place panel


def _line(s: dict[str, Any]) -> str:
    g = s.get("subgoal") or {}
    return (f"[{s['phase']}] episode {s['episode']} step {s.get('step', 0)} | subgoal: {g.get('text', '-')} "
            f"({g.get('source', '-')}) | done {len(s.get('completed', []))}/{len(s.get('task', []))}")


class Panel:
    """The scene panel: redrawn in place on a TTY, else printed when it changes meaningfully."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.last: Any = None
        if self.tty:
            rows = shutil.get_terminal_size((110, 40)).lines
            self.out.write("\x1b[2J" + f"\x1b[{PANEL + 2};{rows}r" + f"\x1b[{PANEL + 2};1H")  # replies scroll below
            self.out.flush()

    def show(self, s: dict[str, Any]) -> None:
        if self.tty:
            width = shutil.get_terminal_size((110, 40)).columns - 1
            lines = [*(scene_text(s, width) + [""] * PANEL)[:PANEL], "-" * min(width, 110)]
            body = "".join(f"\x1b[{i + 1};1H{line}\x1b[K" for i, line in enumerate(lines))
            self.out.write("\x1b7" + body + "\x1b8")  # save the cursor, draw at the top, restore it
            self.out.flush()
            return
        key = (s["phase"], s["episode"], (s.get("subgoal") or {}).get("text"), s.get("end_reason"))
        if key != self.last:
            print("\n".join(scene_text(s)), file=self.out, flush=True)
            self.last = key

    def close(self) -> None:
        if self.tty:
            self.out.write("\x1b[r")  # the whole screen scrolls again
            self.out.flush()


def _watch(session: LiveSession, panel: Panel, stop: threading.Event) -> None:
    while not stop.wait(0.25):
        s = session.status()
        panel.show(s)
        if s["phase"] == "finished":
            return


class Terminal:
    """Typed lines -> session calls; destructive ones (q, n while an episode runs) must be typed twice."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self._armed: tuple[str, float] | None = None

    def _confirmed(self, what: str, prompt: str) -> bool:
        now = time.monotonic()
        if self._armed and self._armed[0] == what and now - self._armed[1] < CONFIRM_SECONDS:
            self._armed = None
            return True
        self._armed = (what, now)
        return False if prompt else True

    def handle(self, line: str) -> str:
        """One typed line -> the reply to print (InputError messages included)."""
        session, text = self.session, line.strip()
        s = session.status()
        try:
            if text == "p":
                return session.control("resume" if s["paused"] else "pause")
            if text in COMMANDS:
                return session.control(COMMANDS[text])
            if text == "q":
                if not self._confirmed("q", "finish"):
                    return "finish the session? type q again to confirm"
                return session.control("finish")
            if text == "n":
                running = s["phase"] in ("running", "paused", "waiting") and not s.get("saved")
                if running and not self._confirmed("n", "next"):
                    return f"end episode {s['episode']} now (it is saved) and start the next? type n again to confirm"
                return session.control("next")
            if text == "?":
                return "\n".join(scene_text(s)) + "\nskills: " + "; ".join(s.get("skills", []))
            if text == "u" and hasattr(session, "undo"):
                return session.undo("last")
            if text == "t" and hasattr(session, "takeover"):
                return session.takeover(not s.get("takeover_active"))
            if hasattr(session, "keys") and text and set(text) <= set(LETTERS) and (
                    s.get("takeover_active") or s.get("mode") == "teleop"):
                return session.keys(sorted({LETTERS[c] for c in text}))
            if hasattr(session, "correct"):
                return session.correct(line).message()
            if hasattr(session, "label"):
                new = text.startswith("+ ")
                return f"labelled: {session.label(text[2:] if new else line, new_skill=new)!r}"
            raise InputError(f"this {type(session).__name__} takes neither corrections nor labels")
        except InputError as exc:
            return f"error: {exc}"


def handle(session: LiveSession, line: str) -> str:
    """One typed line -> the reply (a fresh Terminal: confirmations do not carry over between calls)."""
    return Terminal(session).handle(line)


def run_terminal(session: LiveSession, inp: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Read lines until 'q' is confirmed or end of input; the session is finished by the caller."""
    panel = Panel(out)
    print(__doc__.split("\n\n", 1)[1], file=out, flush=True)
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(session, panel, stop), daemon=True)
    watcher.start()
    term = Terminal(session)
    try:
        for line in inp:
            reply = term.handle(line)
            print(reply, file=out, flush=True)
            if session.finishing:  # a confirmed q
                break
    finally:
        stop.set()
        panel.close()
