"""`hirl correct RUN --ui web|terminal`: a language-correction session on a trained run (see docs/corrections.md)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from hirl.config import load_config
from hirl.errors import InputError
from hirl.teleop.config import SessionConfig


def session_config(args: argparse.Namespace) -> SessionConfig:
    return load_config(SessionConfig, getattr(args, "config", None), list(getattr(args, "overrides", None) or []))


def serve(session, args: argparse.Namespace) -> None:
    """Run the web page (or the terminal) until the person finishes or presses Ctrl-C."""
    from hirl.teleop.server import SessionServer, check_bind

    if args.ui == "terminal":
        from hirl.teleop.terminal import run_terminal

        session.start()
        try:
            run_terminal(session)
        except KeyboardInterrupt:
            pass
        return
    check_bind(args.host, args.token)
    try:
        server = SessionServer(session, args.host, args.port, args.token)
    except OSError as exc:
        raise InputError(f"--host {args.host} --port {args.port}: cannot listen ({exc.strerror or exc})") from None
    server.serve_in_thread()
    session.start()
    print(f"session page: {server.url}  (finish in the page, or Ctrl-C)", flush=True)
    try:
        while not server.finish_requested.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def run(args: argparse.Namespace) -> int:
    from hirl.teleop.server import check_bind

    if args.ui == "web":
        check_bind(args.host, args.token)  # before anything slow
    import torch

    from hirl.teleop.session import CorrectionSession

    torch.set_num_threads(1)
    cfg = session_config(args)
    run_dir = Path(args.run)
    out = Path(args.out) if args.out else run_dir.parent / f"{run_dir.name}-corrections-{time.strftime('%Y%m%d-%H%M%S')}"
    session = CorrectionSession.open(run_dir, out, cfg)
    print(f"session directory: {out}", flush=True)
    serve(session, args)
    print("finishing: writing the dataset, fine-tuning the high level on the corrections, evaluating before / after ...",
          flush=True)
    report = session.finish(retrain=not args.no_retrain)
    from hirl.fileio import atomic_write_json

    atomic_write_json(out / "session_report.json", report)
    s = report["summary"]
    print(f"{s['episodes']} episodes, {s['corrections']} corrections ({s['corrections_per_episode']} per episode); "
          f"dataset {s['dataset']}")
    if "before" in report:
        for name in ("before", "after"):
            m = report[name]
            print(f"{name:6s} success_rate {m['success_rate']:.3f}  avg_chain_length {m['avg_chain_length']:.2f}")
    elif not s["corrections"]:
        print("no corrections were made: the high level was not retrained")
    print(f"report: {out / 'session_report.json'}")
    if session.error:
        print(f"session error: {session.error}")
    return 0

