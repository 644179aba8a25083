"""The terminal session (`--ui terminal`): the same LiveSession driven by typed lines, for remote use without a
browser. Status lines are printed when the subgoal, the phase or the episode changes.

    p        pause / resume          .   step one control step       ok / fail   end the episode as success / failure
    n        next episode            ?   status and known skills     q           finish the session
    anything else: a correction (correction sessions) or a segment label (teleop: keys w a s d r f g + enter)"""
from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from hirl.errors import InputError
from hirl.teleop.live import LiveSession

COMMANDS = {"p": None, ".": "step", "ok": "success", "fail": "failure", "n": "next", "q": "finish"}
# teleop over a terminal: one line of these letters = keys held for key_timeout seconds
LETTERS = {"w": "ArrowUp", "s": "ArrowDown", "a": "ArrowLeft", "d": "ArrowRight", "r": "w", "f": "s", "g": "g"}


def _line(s: dict[str, Any]) -> str:
    g = s.get("subgoal") or {}
    return (f"[{s['phase']}] episode {s['episode']} step {s.get('step', 0)} | subgoal: {g.get('text', '-')} "
            f"({g.get('source', '-')}) | done {len(s.get('completed', []))}/{len(s.get('task', []))}")


def _watch(session: LiveSession, out: TextIO, stop: threading.Event) -> None:
    last = None
    while not stop.wait(0.25):
        s = session.status()
        key = (s["phase"], s["episode"], (s.get("subgoal") or {}).get("text"))
        if key != last:
            print(_line(s), file=out, flush=True)
            last = key
        if s["phase"] == "finished":
            return


def handle(session: LiveSession, line: str) -> str:
    """One typed line -> the reply to print (InputError messages included)."""
    text = line.strip()
    if text == "p":
        return session.control("resume" if session.status()["paused"] else "pause")
    if text in COMMANDS:
        return session.control(str(COMMANDS[text]))
    if text == "?":
        s = session.status()
        return _line(s) + "\ntask: " + s.get("command", "") + "\nskills: " + "; ".join(s.get("skills", []))
    try:
        if hasattr(session, "keys") and text and set(text) <= set(LETTERS):
            return session.keys(sorted({LETTERS[c] for c in text}))
        if hasattr(session, "correct"):
            return session.correct(line).message()
        if hasattr(session, "label"):
            return f"labelled: {session.label(line)!r}"
        raise InputError(f"this {type(session).__name__} takes neither corrections nor labels")
    except InputError as exc:
        return f"error: {exc}"


def run_terminal(session: LiveSession, inp: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Read lines until 'q' or end of input; the session is finished by the caller."""
    print(__doc__.split("\n\n", 1)[1], file=out, flush=True)
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(session, out, stop), daemon=True)
    watcher.start()
    try:
        for line in inp:
            reply = handle(session, line)
            print(reply, file=out, flush=True)
            if line.strip() == "q":
                break
    finally:
        stop.set()
