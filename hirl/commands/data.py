"""`hirl data info PATH`: describe a dataset; a corrupt one fails in one line (exit 2)."""
from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from hirl.data.info import describe, format_info

    if args.action == "info":
        print(format_info(describe(args.path)))
    return 0
