"""Tracking of an RL stage: videos of the evaluation episodes at every learning-curve point in SB3's own
TensorBoard events (tracking.videos), every SB3 record forwarded to the W&B backend (a stand-in wandb module: the
real one is an optional extra), and the chain length on the curve where the env has subtask chains."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hirl.config import load_config
from hirl.rl.config import RLRunConfig
from hirl.rl.stages import train_rl
from tests.rl.test_stages import FAST
from tests.test_tracking import FakeWandb


def test_flat_stage_videos_in_tensorboard_and_records_in_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    cfg = load_config(RLRunConfig, None, ["stage=flat", *FAST, "algo.learning_starts=100", "tracking.videos=1",
                                          "tracking.frame_every=10", "tracking.video_size=32", "tracking.wandb=true",
                                          "tracking.wandb_mode=offline"])
    run = tmp_path / "run"
    summary = train_rl(cfg, run)
    assert [p["env_steps"] for p in summary["curve"]] == [150, 300]
    assert "avg_chain_length" not in summary["curve"][0]  # the maze has no subtask chains

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = next(p.parent for p in (run / "train" / "flat" / "tb").rglob("events.out.tfevents*"))
    acc = EventAccumulator(str(tb), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    videos = acc.Images("eval/video_0")
    assert len(videos) == 2 and videos[0].width >= 32  # one clip per curve point, in SB3's event file
    assert "eval/success_rate" in acc.Tags()["scalars"]
    init = fake.inits[0]
    assert (init["name"], init["group"], init["mode"], init["dir"]) == ("flat", "run", "offline", str(run / "train" / "flat"))
    keys = {k for _, d in fake.logged for k in d}
    assert {"eval/success_rate", "hirl/env_steps", "eval/video_0"} <= keys and any(k.startswith("train/") for k in keys)
    assert fake.finished == 1


def test_tabletop_curve_has_the_chain_length(tmp_path: Path) -> None:
    cfg = load_config(RLRunConfig, None, [
        "stage=flat", "env=hirl/Tabletop-v0", "env_kwargs={max_episode_steps: 40}", "goal_indices=[0, 1, 2]", "steps=80",
        "checkpoint_every=80", "eval.every=80", "eval.episodes=1", "progress=false", "algo.learning_starts=40",
        "algo.batch_size=16", "algo.buffer_size=500", "algo.net_arch=[16, 16]"])
    summary = train_rl(cfg, tmp_path / "run")
    point = summary["curve"][-1]
    assert point["avg_chain_length"] == 0.0 and point["success_rate"] == 0.0  # 40 untrained steps complete nothing
    curve = json.loads((tmp_path / "run" / "train" / "flat" / "curve.json").read_text())
    assert curve[-1]["avg_chain_length"] == point["avg_chain_length"]
