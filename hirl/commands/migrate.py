"""`hirl migrate RUN`: move an RL run directory written before hirl 0.2 into the one run layout (hirl.rl.migrate)."""
from __future__ import annotations

import argparse

from hirl.rl.migrate import migrate_rl_run


def run(args: argparse.Namespace) -> int:
    moves = migrate_rl_run(args.run)
    for line in moves:
        print(line)
    print(f"{args.run}: {len(moves)} moves" if moves else f"{args.run}: already in the current layout")
    return 0
