"""hirl migrate on an imitation config written when every action head shared one flat `head:` section: another
kind's field set to a non-default value is an unknown key today; migration drops it, keeps a .bak and the result
loads."""
from __future__ import annotations

from pathlib import Path

import pytest

from hirl.cli import main
from hirl.config import load_config
from hirl.errors import InputError
from hirl.learn.migrate import migrate_config
from hirl.learn.run_config import RunConfig

OLD = """kind: imitation
agents: [flat]
head:
  kind: chunk
  horizon: 4
  execute: 2
  diffusion_steps: 50
  loss: l1
"""


def test_a_flat_head_config_is_rewritten_in_place_with_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(OLD)
    with pytest.raises(InputError, match=r"'head.diffusion_steps': unknown key \(a field of another head kind, no effect on "
                                         r"this one; `hirl migrate CONFIG` drops it\)"):
        load_config(RunConfig, path)
    lines = migrate_config(path)
    assert lines == ["head.diffusion_steps: dropped (50; not a field of a chunk head, it had no effect)"]
    assert (tmp_path / "old.yaml.bak").read_text() == OLD
    cfg = load_config(RunConfig, path)
    assert (cfg.head.kind, cfg.head.horizon, cfg.head.execute, cfg.head.loss) == ("chunk", 4, 2, "l1")
    assert tuple(cfg.agents) == ("flat",)
    assert migrate_config(path) == []  # a second call finds nothing to do


def test_the_command_migrates_a_config_file_and_an_imitation_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(OLD)
    assert main(["migrate", str(path)]) == 0
    assert "head.diffusion_steps: dropped" in capsys.readouterr().out
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(OLD.replace("kind: chunk", "kind: diffusion").replace("  loss: l1\n", ""))
    assert main(["migrate", str(run)]) == 0
    assert "already in the current layout" in capsys.readouterr().out  # diffusion_steps is a diffusion head's own
    assert main(["migrate", str(tmp_path / "missing.yaml")]) == 2


def test_a_config_still_wrong_after_migration_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(OLD + "no_such_key: 1\n")
    with pytest.raises(InputError, match="no_such_key"):
        migrate_config(path)
    assert path.read_text() == OLD + "no_such_key: 1\n" and not (tmp_path / "old.yaml.bak").exists()


def test_a_config_with_a_base_has_its_own_head_migrated_and_keeps_its_base(tmp_path: Path) -> None:
    (tmp_path / "common.yaml").write_text("kind: imitation\nagents: [flat]\nhead: {kind: chunk, horizon: 4}\n")
    path = tmp_path / "run.yaml"
    path.write_text("base: common.yaml\nhead:\n  execute: 2\n  diffusion_steps: 50\n")  # a chunk head by its base
    assert migrate_config(path) == ["head.diffusion_steps: dropped (50; not a field of a chunk head, it had no effect)"]
    assert path.read_text() == "base: common.yaml\nhead:\n  execute: 2\n"
    cfg = load_config(RunConfig, path)
    assert (cfg.head.kind, cfg.head.horizon, cfg.head.execute) == ("chunk", 4, 2)
