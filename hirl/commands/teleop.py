"""`hirl teleop --out DATASET`: drive the gripper from the keyboard in the page, label segments with language;
every episode is written to DATASET through the dataset writer."""
from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from hirl.commands.correct import serve, session_config
    from hirl.teleop.drive import TeleopSession
    from hirl.teleop.server import check_bind

    if getattr(args, "ui", "web") == "web":
        check_bind(args.host, args.token)
    session = TeleopSession(args.env, args.out, session_config(args))
    serve(session, args)
    session.control("finish")
    session.wait_finished()
    print(f"{len(session.episodes)} episodes this session; dataset: {args.out} ({len(session.store)} episodes in all)")
    if session.error:
        print(f"session error: {session.error}")
    return 0
