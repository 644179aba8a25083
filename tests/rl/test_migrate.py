"""hirl migrate: an RL run in the layout before hirl 0.2 is moved into the one run layout; anything else is refused
untouched."""
from __future__ import annotations

from pathlib import Path

import pytest

from hirl.cli import main
from hirl.errors import InputError
from hirl.rl.migrate import migrate_rl_run


def _old_rl_run(root: Path) -> Path:
    run = root / "run"
    (run / "stages" / "low").mkdir(parents=True)
    (run / "config.yaml").write_text("kind: rl\n")
    (run / "stages" / "low.yaml").write_text("episodes: 1\n")
    (run / "stages" / "low" / "curve.json").write_text("[]\n")
    for name in ("flat", "high", "low_adapted"):
        (run / "models" / name).mkdir(parents=True)
        (run / "models" / name / "weights.safetensors").write_bytes(name.encode())
    return run


def test_an_old_rl_run_moves_into_the_one_layout_once(tmp_path: Path) -> None:
    run = _old_rl_run(tmp_path)
    moves = migrate_rl_run(run)
    assert "models/flat -> models/rl_flat" in moves and "stages/low -> train/low" in moves
    assert (run / "train" / "low" / "curve.json").is_file() and (run / "train" / "low" / "config.yaml").is_file()
    assert (run / "models" / "rl_flat" / "weights.safetensors").read_bytes() == b"flat"
    assert (run / "models" / "adapted" / "rl_low" / "weights.safetensors").read_bytes() == b"low_adapted"
    assert (run / "models" / "adapted" / "rl_high" / "weights.safetensors").read_bytes() == b"high"  # copied
    assert not (run / "stages").exists() and migrate_rl_run(run) == []  # a second call finds nothing to do


def test_an_imitation_run_is_refused_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    (run / "models" / "flat").mkdir(parents=True)
    (run / "config.yaml").write_text("kind: imitation\nagents: [flat]\n")
    with pytest.raises(InputError, match="run kind 'imitation'; hirl migrate only moves RL runs"):
        migrate_rl_run(run)
    assert main(["migrate", str(run)]) == 0  # the command migrates an imitation run's config instead: nothing to do
    assert "already in the current layout" in capsys.readouterr().out
    assert (run / "models" / "flat").is_dir() and not (run / "models" / "rl_flat").exists()
