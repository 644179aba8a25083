"""Does a correction session's pace let a person's corrections land before the subtask budget runs out?

A live `hirl correct` session (no page: the same CorrectionSession the page drives) is watched by the scripted
person (hirl.teleop.sessions.person.ScriptedPerson): it reacts to the mismatch cue after --reaction seconds by accepting the
suggestion. Each setting runs for --minutes of the person's time; --time-scale runs it that many times faster than
real time (the session's speed and every wait of the person scaled alike; the achieved pace is reported).

    python experiments/correction_pace.py RUN --out runs/pace --minutes 20 --time-scale 2
    python experiments/correction_pace.py RUN --out runs/pace --minutes 3 --settings 1x 0.25x 1x+pause

Settings: "<speed>x" (no auto-pause) or "<speed>x+pause" (auto-pause on a mismatch, the default of SessionConfig).
Writes --out/pace.json: one log per setting (cues seen, landed / late / resolved, the share landed, median reaction
and budget left in steps)."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from hirl.fileio import atomic_write_json
from hirl.teleop.sessions.config import SessionConfig
from hirl.teleop.sessions.person import ScriptedPerson
from hirl.teleop.sessions.session import CorrectionSession


def parse_setting(text: str) -> tuple[float, bool]:
    """"1x" -> (1.0, False); "0.25x+pause" -> (0.25, True)."""
    speed, _, pause = text.partition("+")
    if not speed.endswith("x") or pause not in ("", "pause"):
        raise SystemExit(f"--settings {text!r}: write <speed>x or <speed>x+pause, e.g. 1x+pause")
    return float(speed[:-1]), pause == "pause"


def measure(run: Path, out: Path, setting: str, minutes: float, reaction: float, scale: float) -> dict:
    speed, pause = parse_setting(setting)
    default = SessionConfig()
    cfg = SessionConfig(speed=speed * scale, auto_pause_steps=default.auto_pause_steps if pause else 0,
                        image_size=64, seed=default.seed)
    folder = out / setting
    shutil.rmtree(folder, ignore_errors=True)
    session = CorrectionSession.open(run, folder, cfg, paused=False, retrain=False)
    session.start()
    try:
        log = ScriptedPerson(session, reaction, scale).run(minutes)
    finally:
        session.finish(retrain=False)
        session.close()
    return {"setting": setting, **log}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a trained run with hier_language (e.g. the demo's runs/demo/run)")
    p.add_argument("--out", required=True, help="folder for the sessions and pace.json")
    p.add_argument("--minutes", type=float, default=20.0, help="the person's minutes per setting")
    p.add_argument("--reaction", type=float, default=2.0, help="seconds from the cue to the correction")
    p.add_argument("--time-scale", type=float, default=1.0, help="run this many times faster than real time")
    p.add_argument("--settings", nargs="+", default=["1x+pause"], help="e.g. 1x 0.25x 1x+pause")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for setting in args.settings:
        results.append(measure(Path(args.run), out, setting, args.minutes, args.reaction, args.time_scale))
        print(json.dumps(results[-1]), flush=True)
        atomic_write_json(out / "pace.json", {"run": args.run, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
