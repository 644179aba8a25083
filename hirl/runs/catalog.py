"""The built-in entries of the run registries (components, agents, run kinds) register themselves when their
modules are imported; load_builtins() imports them once, on the first lookup. The modules sit above hirl.runs
(they train what they register), so they are named here, not imported at module level: the registries stay
below learn / rl / eval in the dependency order."""
from __future__ import annotations

import importlib

BUILTIN_MODULES = (
    "hirl.runs.recipes",  # imitation and reference agents over the imitation components
    "hirl.learn.components",  # imitation networks (low_*/high_*/flat/cot)
    "hirl.learn.kind",  # the imitation run kind
    "hirl.rl.components",  # SB3 models (low/high/flat/language/plan), the RL agents and the RL run kind
    "hirl.skills.recipes",  # skill agents: code:FILE / code_expert:FILE code policies, affordance (SayCan-style)
)
_loaded = False


def load_builtins() -> None:
    """Import every module of BUILTIN_MODULES (once; cheap after the first call)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILTIN_MODULES:
        importlib.import_module(name)
