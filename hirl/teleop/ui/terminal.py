"""The terminal session (`--ui terminal`): the same LiveSession driven by typed lines, for remote use without a
browser. The scene is shown as text (task, done subtasks, active subgoal and why it began, the mismatch cue, the
subtask's budget, the high level's next proposal, positions, counts): on a terminal a panel at the top of the
alternate screen is refreshed in place (ANSI scroll region; the screen the person had is restored on exit) while
replies scroll below it; elsewhere (a pipe) it is printed whenever the phase, episode or subgoal changes.

Every key the terminal takes is in COMMANDS and DRIVE below; the help, the prompts and the replies are made from
them, so they cannot disagree. Two modes, so that keys never leak from one to the other: while you drive (after t),
a one-word line is a line of drive letters (a word that is not is refused, never taken as a correction) and only
lines of several words are corrections; otherwise a line that is not a command is a correction (correction
sessions) or a segment label (teleop; "+ TEXT" adds a new skill)."""
from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from hirl.errors import InputError
from hirl.teleop.sessions.live import LiveSession
from hirl.teleop.ui.scene_text import scene_text, wrap

# typed word -> (what it does, in the help); the one key map of the terminal
COMMANDS: dict[str, str] = {
    "p": "start, pause / resume", ".": "one control step (while paused)", "+": "faster", "-": "slower",
    "y": "accept the suggestion (correct to the subtask due now)", "u": "undo the last correction or takeover",
    "t": "take over / hand back", "ok": "end the episode as a success", "fail": "end the episode as a failure",
    "n": "next episode (twice while one runs)", "note TEXT": "a note on this episode",
    "?": "this help, the status and the known skills", "q": "finish the session (twice to confirm)",
}
CONTROLS = {".": "step", "ok": "success", "fail": "failure", "+": "faster", "-": "slower", "start": "start"}
# while you drive: letter -> (key of hirl.teleop.sessions.keyboard, what it does); one line of letters = keys held for
# key_timeout seconds
DRIVE: dict[str, tuple[str, str]] = {
    "w": ("ArrowUp", "up the screen"), "s": ("ArrowDown", "down the screen"), "a": ("ArrowLeft", "left"),
    "d": ("ArrowRight", "right"), "r": ("r", "raise"), "f": ("v", "lower"), "g": ("g", "open / close the gripper"),
}
CONFIRM_SECONDS = 10.0  # a destructive command must be repeated within this many seconds
PANEL = 9  # lines of the in-place panel at least (it grows when the wrapped scene needs more)


def drive_help() -> str:
    """The drive keys in one line, from DRIVE."""
    return ", ".join(f"{k} {what}" for k, (_, what) in DRIVE.items()) + "; t hands back"


def help_text() -> str:
    """The terminal's key help, from COMMANDS and DRIVE."""
    rows = [f"  {k:<10} {what}" for k, what in COMMANDS.items()]
    return "\n".join(["keys (type, then Enter):", *rows, f"  while you drive: {drive_help()}",
                      "  anything else: a correction (a teleop session: a segment label; '+ TEXT' adds a new skill)"])


class Panel:
    """The scene panel: redrawn in place on a TTY (on the alternate screen, restored by close()), else printed when
    it changes meaningfully."""

    def __init__(self, out: TextIO, size: Callable[[], Any] | None = None) -> None:
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.size = size or (lambda: shutil.get_terminal_size((110, 40)))
        self.last: Any = None
        self.height = PANEL
        if self.tty:  # the alternate screen: the person's screen comes back untouched on exit
            self.out.write("\x1b[?1049h\x1b[2J" + self._region())
            self.out.flush()

    def _region(self) -> str:
        rows = self.size().lines
        return f"\x1b[{self.height + 2};{rows}r" + f"\x1b[{self.height + 2};1H"  # replies scroll below the panel

    def show(self, s: dict[str, Any]) -> None:
        if self.tty:
            width = max(20, self.size().columns - 1)
            lines = scene_text(s, width)
            grow = ""
            if len(lines) > self.height:
                self.height = len(lines)
                grow = "\x1b7" + self._region() + "\x1b8"
            lines = [*(lines + [""] * self.height)[:self.height], "-" * width]
            body = "".join(f"\x1b[{i + 1};1H{line}\x1b[K" for i, line in enumerate(lines))
            self.out.write(grow + "\x1b7" + body + "\x1b8")  # save the cursor, draw at the top, restore it
            self.out.flush()
            return
        key = (s["phase"], s["episode"], (s.get("subgoal") or {}).get("text"), s.get("end_reason"))
        if key != self.last:
            print("\n".join(scene_text(s)), file=self.out, flush=True)
            self.last = key

    def close(self) -> None:
        if self.tty:
            self.out.write("\x1b[r\x1b[?1049l")  # the whole screen scrolls again; the person's screen is back
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

    def _confirmed(self, what: str) -> bool:
        now = time.monotonic()
        if self._armed and self._armed[0] == what and now - self._armed[1] < CONFIRM_SECONDS:
            self._armed = None
            return True
        self._armed = (what, now)
        return False

    def handle(self, line: str) -> str:
        """One typed line -> the reply to print (InputError messages included)."""
        try:
            return self._handle(line)
        except InputError as exc:
            return f"error: {exc}"

    def _handle(self, line: str) -> str:
        session, text = self.session, line.strip()
        s = session.status()
        word = text if text and len(text.split()) == 1 else None
        driving = bool(s.get("takeover_active")) or s.get("mode") == "teleop"
        if text == "p":
            return session.control("start" if not s["started"] else "resume" if s["paused"] else "pause")
        if text in CONTROLS:
            return session.control(CONTROLS[text])
        if text == "q":
            if not self._confirmed("q"):
                return ("finish the session? type q again to confirm ("
                        + ("the levels are then fine-tuned and evaluated" if s.get("retrain", True)
                           else "--no-retrain: the dataset is written, nothing is trained") + ")")
            return session.control("finish")
        if text == "n":
            running = s["phase"] in ("running", "paused", "waiting") and not s.get("saved")
            if running and not self._confirmed("n"):
                return f"end episode {s['episode']} now (it is saved) and start the next? type n again to confirm"
            return session.control("next")
        if text == "?":
            return "\n".join([*scene_text(s), help_text(), "skills: " + "; ".join(s.get("skills", []))])
        reply = self._intervene(text, s)
        if reply is not None:
            return reply
        if driving and word is not None and hasattr(session, "keys"):
            unknown = sorted(set(word) - set(DRIVE))
            if unknown:
                raise InputError(f"while you drive, {word!r} is not a drive key ({drive_help()}); a correction has "
                                 "several words")
            return str(session.keys(sorted({DRIVE[c][0] for c in word})))
        if hasattr(session, "correct"):
            return str(session.correct(line).message())
        if hasattr(session, "label"):
            new = text.startswith("+ ")
            return f"labelled: {session.label(text[2:] if new else line, new_skill=new)!r}"
        raise InputError(f"this {type(session).__name__} takes neither corrections nor labels")


    def _intervene(self, text: str, s: dict[str, Any]) -> str | None:
        """The correction session's own commands (u, t, y, note); None when text is none of them."""
        session: Any = self.session
        if text == "u" and hasattr(session, "undo"):
            return str(session.undo("last"))
        if text == "t" and hasattr(session, "takeover"):
            reply = str(session.takeover(not s.get("takeover_active")))
            return reply + (f" ({drive_help()})" if not s.get("takeover_active") else "")
        if text == "y" and hasattr(session, "accept"):
            return str(session.accept().message())
        if text.split(" ", 1)[0] == "note" and hasattr(session, "note"):
            return str(session.note(int(s["episode"]), text[4:]))
        return None


def handle(session: LiveSession, line: str) -> str:
    """One typed line -> the reply (a fresh Terminal: confirmations do not carry over between calls)."""
    return Terminal(session).handle(line)


def run_terminal(session: LiveSession, inp: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Read lines until 'q' is confirmed or end of input; the session is finished by the caller (its summary is
    printed after the panel's screen was left, on the person's own screen)."""
    panel = Panel(out)
    print(help_text(), file=out, flush=True)
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(session, panel, stop), daemon=True)
    watcher.start()
    term = Terminal(session)
    try:
        for line in inp:
            reply = term.handle(line)
            print("\n".join(wrap(reply.split("\n"), max(20, panel.size().columns - 1))), file=out, flush=True)
            if session.finishing:  # a confirmed q
                break
    finally:
        stop.set()
        watcher.join(1.0)  # no redraw after the screen is restored
        panel.close()
