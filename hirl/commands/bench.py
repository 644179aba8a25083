"""`hirl bench envs`: runs the environment benchmark (hirl.benchmarks.envs), prints its Markdown table and writes it
to --out when given."""
from __future__ import annotations

import argparse

from hirl.benchmarks.envs import bench_envs
from hirl.fileio import atomic_write_text


def run(args: argparse.Namespace) -> int:
    text = bench_envs(args.episodes, args.seed)
    print(text)
    if args.out:
        atomic_write_text(args.out, text)
    return 0
