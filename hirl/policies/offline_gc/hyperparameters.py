"""OGBench's per-dataset hyperparameters (impls/hyperparameters.sh of seohongpark/ogbench) for the datasets hirl
generates, as overrides of each method's config defaults (which are OGBench's get_config() values).

    preset      datasets (hyperparameters.sh rows)                                  component suffix
    navigate    pointmaze-{medium,large,teleport}-navigate                          none: gcivl, gciql, qrl, crl, hiql
    giant       pointmaze-giant-navigate (the same, discount 0.995)                 _giant
    play        {cube-*, scene, puzzle-*}-play                                      _play (HIQL: hiql_k10)
    noisy       {cube-*, scene, puzzle-*}-noisy                                     _noisy (HIQL: hiql_k10)

Every state-based row keeps each method's actor loss at its default (DDPG+BC for GCIQL / QRL / CRL; AWR only on the
discrete powderworld rows). GCBC takes no overrides. Stitch datasets (actor goals 50 % future / 50 % random) are not
presets here: hirl does not generate them (GoalSampling's actor_p_* fields take them)."""
from __future__ import annotations

from typing import Any

GIANT_DISCOUNT = 0.995  # hyperparameters.sh: --agent.discount=0.995 on every giant-maze row

# method -> preset -> overrides of the method's config (hyperparameters.sh)
OGBENCH_HYPERPARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    "gcivl": {"navigate": {"alpha": 10.0}, "giant": {"alpha": 10.0, "discount": GIANT_DISCOUNT},
              "play": {"alpha": 10.0}, "noisy": {"alpha": 10.0}},
    "gciql": {"navigate": {"alpha": 0.003}, "giant": {"alpha": 0.003, "discount": GIANT_DISCOUNT},
              "play": {"alpha": 1.0}, "noisy": {"alpha": 0.03}},
    "qrl": {"navigate": {"alpha": 0.0003}, "giant": {"alpha": 0.0003, "discount": GIANT_DISCOUNT},
            "play": {"alpha": 0.3}, "noisy": {"alpha": 0.03}},
    "crl": {"navigate": {"alpha": 0.03}, "giant": {"alpha": 0.03, "discount": GIANT_DISCOUNT},
            "play": {"alpha": 3.0}, "noisy": {"alpha": 0.1}},
    "hiql": {"navigate": {"low_alpha": 3.0, "high_alpha": 3.0, "subgoal_steps": 25},
             "giant": {"low_alpha": 3.0, "high_alpha": 3.0, "subgoal_steps": 25, "discount": GIANT_DISCOUNT},
             "play": {"low_alpha": 3.0, "high_alpha": 3.0, "subgoal_steps": 10},
             "noisy": {"low_alpha": 3.0, "high_alpha": 3.0, "subgoal_steps": 10}},
}
PRESET_SUFFIX = {"navigate": "", "giant": "_giant", "play": "_play", "noisy": "_noisy"}  # component name suffix


def preset_of(env: str, dataset: str) -> str:
    """The preset of an OGBench env (hirl name, e.g. 'pointmaze-giant-v0', 'scene-v0') and dataset style
    ('navigate' | 'play' | 'noisy')."""
    if env.startswith("pointmaze"):
        if dataset != "navigate":
            raise ValueError(f"dataset: {env} has navigate datasets here, got {dataset!r}")
        return "giant" if env.startswith("pointmaze-giant") else "navigate"
    if dataset not in ("play", "noisy"):
        raise ValueError(f"dataset: {env} has play / noisy datasets, got {dataset!r}")
    return dataset
