"""hirl train's dataset step: a collection cut by Ctrl-C leaves a usable partial dataset and its journal; the next
`hirl train` resumes the collection to the configured size instead of training on the partial dataset."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hirl.config import load_config
from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig, CollectSettings
from hirl.learn.run import ensure_dataset
from hirl.learn.run_config import RunConfig


def test_a_collection_cut_by_ctrl_c_is_resumed_not_trained_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data"
    cfg = load_config(RunConfig, None, ["env=hirl/Maze-v0", f"dataset={out}", "agents=[flat]", "obs_keys=[observation]",
                                        "collect.episodes=3", "collect.workers=1", "text_encoder=hash"])

    def interrupt_after_two(index: int) -> None:
        if index == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        settings = {f.name: getattr(cfg.collect, f.name) for f in dataclasses.fields(CollectSettings)}
        collect(CollectConfig(env=cfg.env, **settings), out, progress=False, on_episode=interrupt_after_two)
    assert len(load_dataset(out)) == 2 and (out / "journal").exists()  # the partial dataset Ctrl-C leaves
    assert ensure_dataset(cfg, progress=False) == out
    assert "an unfinished collection" in capsys.readouterr().out
    assert len(load_dataset(out)) == 3 and not (out / "journal").exists()  # complete, as the config asks
