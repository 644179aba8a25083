"""`hirl teleop --out DATASET`: drive the gripper from the keyboard in the page, label segments with language;
every episode is written to DATASET through the dataset writer (the folder is held exclusively meanwhile)."""
from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from hirl.commands.correct import bind, serve, session_config
    from hirl.teleop.sessions.drive import TeleopSession
    from hirl.teleop.ui.server import check_bind

    if getattr(args, "ui", "web") == "web":
        check_bind(args.host, args.token, args.port)
    cfg = session_config(args)
    server = bind(args, cfg)
    try:
        session = TeleopSession(args.env, args.out, cfg, paused=not getattr(args, "autostart", False))
    except BaseException:
        if server is not None:
            server.server_close()
        raise
    try:
        serve(session, server)
        session.control("finish")
        session.wait_finished()
    finally:
        session.close()
    print(f"{len(session.episodes)} episodes this session; dataset: {args.out} ({len(session.store)} episodes in all)")
    if session.error:
        print(f"session error: {session.error}")
    return 0
