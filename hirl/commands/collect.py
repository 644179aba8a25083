"""`hirl collect`: the scripted expert through the hierarchical runtime into a Minari-compatible dataset."""
from __future__ import annotations

import argparse
import json

from hirl.errors import InputError


def run(args: argparse.Namespace) -> int:
    from hirl.data.collect import CollectConfig, collect

    try:
        env_kwargs = json.loads(args.env_kwargs) if args.env_kwargs else {}
    except ValueError as exc:
        raise InputError(f"--env-kwargs: not valid JSON ({exc})") from None
    if not isinstance(env_kwargs, dict):
        raise InputError("--env-kwargs: must be a JSON object, e.g. '{\"layout\": \"u\"}'")
    cfg = CollectConfig(env=args.env, episodes=args.episodes, seed=args.seed, workers=args.workers,
                        image_every=args.image_every, image_size=args.image_size, noise=args.noise,
                        chain_length=args.chain_length, env_kwargs=env_kwargs)
    summary = collect(cfg, args.out, resume=args.resume)
    print(json.dumps(summary, indent=2))
    return 0
