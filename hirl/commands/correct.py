"""`hirl correct RUN --ui web|terminal [--agent NAME]`: a correction session on a trained run's hierarchy (default
hier_language; see docs/corrections.md).

Order, so that a rejected command leaves --out as it was: the arguments are checked and the port is bound first,
then the session folder is locked (a second session on it exits 2 naming the holder) and prepared."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hirl.config import load_config
from hirl.errors import InputError
from hirl.teleop.sessions.config import SessionConfig
from hirl.teleop.sessions.store import DEFAULT_AGENT, REPORT_FILE

LINGER_SECONDS = 600.0  # the page keeps showing the final report this long after a session finishes

if TYPE_CHECKING:
    from hirl.teleop.sessions.live import LiveSession
    from hirl.teleop.ui.server import SessionServer


def session_config(args: argparse.Namespace) -> SessionConfig:
    return load_config(SessionConfig, getattr(args, "config", None), list(getattr(args, "overrides", None) or []))


def bind(args: argparse.Namespace, cfg: SessionConfig) -> SessionServer | None:
    """The web server listening on --host/--port with no session yet (None for --ui terminal)."""
    from hirl.teleop.ui.server import SessionServer, check_bind

    if args.ui == "terminal":
        return None
    check_bind(args.host, args.token, args.port)
    try:
        return SessionServer(None, args.host, args.port, args.token, allowed_hosts=cfg.allowed_hosts)
    except OSError as exc:
        raise InputError(f"--host {args.host} --port {args.port}: cannot listen ({exc.strerror or exc})") from None


def serve(session: LiveSession, server: SessionServer | None, keep_open: bool = False) -> bool:
    """Run the web page (or the terminal without a server) until the person finishes or presses Ctrl-C; True when it
    ended by Ctrl-C (the server is then closed). keep_open: after a finish in the page the server stays up (the caller
    finishes the session while the page shows its progress and report, then calls close_server)."""
    if server is None:
        from hirl.teleop.ui.terminal import run_terminal

        session.start()
        try:
            run_terminal(session)
        except KeyboardInterrupt:
            return True
        return False
    server.session = session
    server.serve_in_thread()
    session.start()
    print(f"session page: {server.url}  (finish in the page, or Ctrl-C)", flush=True)
    interrupted = False
    try:
        while not server.finish_requested.wait(0.5):
            pass
    except KeyboardInterrupt:
        interrupted, keep_open = True, False
    finally:
        if not keep_open:
            close_server(server)
    return interrupted


def close_server(server: SessionServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


def linger(server: SessionServer | None, seconds: float) -> None:
    """Keep the page's report reachable for a while (Ctrl-C ends it early), then close the server."""
    if server is None:
        return
    print(f"the report is in the page ({server.url}); closing in {seconds:g} s (Ctrl-C closes now)", flush=True)
    try:
        time.sleep(seconds)
    except KeyboardInterrupt:
        pass
    close_server(server)


def run(args: argparse.Namespace) -> int:
    from hirl.teleop.ui.server import check_bind

    if args.ui == "web":
        check_bind(args.host, args.token, args.port)  # before anything slow
    import torch

    from hirl.teleop.sessions.session import CorrectionSession

    torch.set_num_threads(1)
    cfg = session_config(args)
    run_dir = Path(args.run)
    out = Path(args.out) if args.out else run_dir.parent / f"{run_dir.name}-corrections-{time.strftime('%Y%m%d-%H%M%S')}"
    retrain = not args.no_retrain
    agent = getattr(args, "agent", None) or DEFAULT_AGENT
    server = bind(args, cfg)
    autostart = bool(getattr(args, "autostart", False))
    try:
        session = CorrectionSession.open(run_dir, out, cfg, paused=not autostart, retrain=retrain,
                                         reopen=bool(getattr(args, "reopen", False)), agent=agent)
    except BaseException:
        if server is not None:
            server.server_close()
        raise
    try:
        print(f"session directory: {out}" + ("" if autostart else "  (waiting for start in the page)")
              + ("" if retrain else "  (--no-retrain: finishing writes the dataset only)"), flush=True)
        interrupted = serve(session, server, keep_open=True)
        print(finishing_line(interrupted, retrain, run_dir, out, agent), flush=True)
        report = session.finish(retrain=retrain and not interrupted, why_not="interrupted" if interrupted else "--no-retrain")
        from hirl.fileio import atomic_write_json

        report.update(finished=not interrupted, finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
        atomic_write_json(out / REPORT_FILE, report)
        print_summary(report, out)  # at once: before the page lingers
        if session.error:
            print(f"session error: {session.error}")
        linger(server, 0 if autostart or interrupted else LINGER_SECONDS)
    finally:
        close_server(server)  # idempotent: a second shutdown returns at once
        session.close()
    return 0


def finishing_line(interrupted: bool, retrain: bool, run_dir: Path, out: Path, agent: str = DEFAULT_AGENT) -> str:
    """What finishing will do, in one line (never promises a fine-tune that will not run)."""
    if interrupted:  # one Ctrl-C ends the command: save what was recorded, no fine-tune, no lingering page
        chosen = "" if agent == DEFAULT_AGENT else f" --agent {agent}"
        return ("interrupted: writing the dataset of what was recorded (no fine-tuning; continue this session with "
                f"`hirl correct {run_dir}{chosen} --out {out}` to fine-tune) ...")
    if not retrain:
        return "finishing (--no-retrain): writing the dataset; nothing is fine-tuned or evaluated ..."
    return "finishing: writing the dataset, fine-tuning on the corrections and takeovers, evaluating before / after ..."


def print_summary(report: dict, out: Path) -> None:
    s = report["summary"]
    print(f"{s['episodes']} episodes, {s['corrections']} corrections ({s['corrections_per_episode']} per episode), "
          f"{s['takeovers']} takeovers ({s['takeover_seconds']} s simulated); your time "
          f"{s['attention_seconds'] / 60:.1f} min; dataset {s['dataset']}")
    if "before" in report:
        for name in ("before", "after"):
            m = report[name]
            print(f"{name:6s} success_rate {m['success_rate']:.3f}  avg_chain_length {m['avg_chain_length']:.2f}")
        e = report.get("effort", {})
        print(f"{e.get('success_gain_per_human_minute', 0) * 100:.1f} points of full-chain success per minute of "
              "your time")
    if report.get("note"):
        print(report["note"])
    print(f"report: {out / REPORT_FILE}", flush=True)
