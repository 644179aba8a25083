"""Move an RL run directory written before hirl 0.2 into the one run layout (hirl.runs.RunDir), in place.

    before                                 after
    RUN/stages/<stage>.yaml                RUN/train/<stage>/config.yaml
    RUN/stages/<stage>/...                 RUN/train/<stage>/...        (checkpoints, tb/, curve.json, summary.json)
    RUN/models/{low,high,flat,language,plan}   RUN/models/rl_{low,high,flat,language,plan}
    RUN/models/low_adapted                 RUN/models/adapted/rl_low    (+ a copy of rl_high: agent rl_hier+adapt)

Every move is a rename inside the run directory; a second call finds nothing to do.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from hirl.errors import InputError
from hirl.runs import RunDir
from hirl.runs.rundir import config_kind

OLD_MODELS = {"low": "rl_low", "high": "rl_high", "flat": "rl_flat", "language": "rl_language", "plan": "rl_plan"}


def migrate_rl_run(path: str | Path) -> list[str]:
    """Rename the old layout's folders (see the module docstring); returns one line per move made."""
    run = RunDir(path)
    old = run.path / "stages"
    if not run.config_path.is_file():
        raise InputError(f"{run.path}: not a run directory (no config.yaml)")
    kind = config_kind(run.config_path)
    if kind != "rl":  # an imitation run's models/flat is its own flat agent, not an old RL model
        raise InputError(f"{run.path}: run kind '{kind}'; hirl migrate only moves RL runs written before hirl 0.2 "
                         "(kind: rl), nothing was changed")
    moves: list[str] = []

    def move(src: Path, dst: Path) -> None:
        if dst.exists():
            raise InputError(f"{dst}: already exists; the run is half migrated (move {src} by hand)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        src.rename(dst)
        moves.append(f"{src.relative_to(run.path)} -> {dst.relative_to(run.path)}")

    if old.is_dir():
        for folder in sorted(p for p in old.iterdir() if p.is_dir()):
            move(folder, run.train_dir(folder.name))
        for cfg in sorted(old.glob("*.yaml")):
            move(cfg, run.stage_config_path(cfg.stem))
        old.rmdir()
    for name, new in OLD_MODELS.items():
        if (run.path / "models" / name).is_dir():
            move(run.path / "models" / name, run.model_dir(new))
    if (run.path / "models" / "low_adapted").is_dir():
        move(run.path / "models" / "low_adapted", run.model_dir("rl_low", adapted=True))
        high = run.model_dir("rl_high")
        if high.is_dir():
            shutil.copytree(high, run.model_dir("rl_high", adapted=True))
            moves.append(f"copy {high.relative_to(run.path)} -> {run.model_dir('rl_high', True).relative_to(run.path)}")
    return moves
