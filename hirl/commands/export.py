"""`hirl export RUN AGENT --out DIR [--instruction TEXT ...]`: the agent's networks as TorchScript, its instruction
embeddings, a manifest and hirl_policy.py (torch + numpy only) in DIR (hirl.export.torchscript)."""
from __future__ import annotations

import argparse
import json


def run(args: argparse.Namespace) -> int:
    from hirl.export.torchscript import export_agent

    manifest = export_agent(args.run, args.agent, args.out, args.instructions)
    print(json.dumps({k: manifest[k] for k in ("agent", "kind", "observation", "action", "networks")}, indent=2))
    print(f"exported to {args.out}: load it with `from hirl_policy import load_policy` (torch and numpy only)")
    return 0
