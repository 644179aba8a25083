"""`hirl data info PATH`: describe a dataset; a corrupt one fails in one line (exit 2).
`hirl data import FILE --env ENV --out DIR`: a user's demonstrations (npz / HDF5 / Minari) as a hirl dataset
(hirl.data.demo_import; the file schema: docs/tutorials/import.md)."""
from __future__ import annotations

import argparse
import json


def run(args: argparse.Namespace) -> int:
    if args.action == "info":
        from hirl.data.info import describe, format_info

        print(format_info(describe(args.path)))
    elif args.action == "import":
        print(json.dumps(import_file(args), indent=2))
    return 0


def import_file(args: argparse.Namespace) -> dict[str, object]:
    """Check --out (a new folder or a dataset of --env, not held by another writer), then import FILE into it."""
    from hirl.commands.arguments import check_output, check_output_kind
    from hirl.commands.collect import parse_env_kwargs
    from hirl.data.demo_import import import_demos
    from hirl.plugins import import_plugins
    from hirl.runs.rundir import FolderLock

    import_plugins(args.imports, "--import")
    env_kwargs = parse_env_kwargs(args.env_kwargs)
    check_output(args.out, "dir")
    check_output_kind("data", args.out, env=args.env)
    with FolderLock(args.out, "dataset import"):
        return import_demos(args.file, args.env, args.out, fmt=args.format, segment=args.segment, command=args.episode_command,
                            env_kwargs=env_kwargs)
