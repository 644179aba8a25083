"""hirl.tracking: the Trainer's rollout evaluations (logged to metrics.csv and TensorBoard, videos as GIFs, training
unchanged by them), the TensorBoard backend read back with TensorBoard's own reader, the W&B backend against a
stand-in wandb module (the real one is an optional extra, not installed here), and one-line errors."""
from __future__ import annotations

import csv
import io
import random
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from hirl.errors import InputError
from hirl.hierarchy.rollout import EpisodeResult
from hirl.hierarchy.metrics import chain_metrics
from hirl.learn import Trainer, TrainerConfig
from hirl.tracking import RolloutResult, TensorBoardTracker, TrackingConfig, gif_bytes, make_tracker
from hirl.tracking.rollouts import scalar_metrics
from tests.learn.toy import SlowSampler, ToyModel, make_data, val_source

T, H, W = 5, 12, 16  # the fake source's clip: 5 frames of 12 x 16


class FakeRollouts:
    """A rollout source that draws from every global RNG (as a real agent may) and records what it saw."""

    def __init__(self, videos: int = 1) -> None:
        self.calls: list[int] = []
        self.modes: list[bool] = []
        self.grad: list[bool] = []
        self.videos = videos
        self.closed = False

    def __call__(self, step: int) -> RolloutResult:
        self.calls.append(step)
        self.modes.append(torch.is_grad_enabled())
        random.random(), np.random.rand(), torch.rand(3)  # consumed here, restored by the Trainer
        results = [EpisodeResult(seed=i, command="c", success=i == 0, steps=10, high_level_queries=1, replans=0,
                                 interventions=0, task=["a", "b"], completed=["a"] if i else ["a", "b"])
                   for i in range(2)]
        clip = np.random.default_rng(step).integers(0, 255, size=(T, H, W, 3), dtype=np.uint8)
        full = chain_metrics(results)
        return RolloutResult(scalar_metrics(full), full, [clip] * self.videos, 12.5, results)

    def close(self) -> None:
        self.closed = True


def fit(run_dir: Path, source: Any = None, **overrides: Any):
    torch.manual_seed(123)
    cfg = TrainerConfig(**{"max_steps": 30, "batch_size": 16, "eval_every": 10, "checkpoint_every": 10, "log_every": 5,
                           "seed": 7, "progress": False, "tensorboard": False, **overrides})
    model = ToyModel()
    trainer = Trainer(model, cfg, run_dir, SlowSampler(make_data(256, 0), cfg.batch_size), val_source(make_data(64, 1)),
                      rollouts=source)
    return trainer.fit(), model


def tb_events(log_dir: Path) -> Any:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_trainer_rollouts_are_logged_and_leave_training_unchanged(tmp_path: Path) -> None:
    plain, _ = fit(tmp_path / "plain")
    source = FakeRollouts()
    tracked, model = fit(tmp_path / "tracked", source, rollout_every=12, tensorboard=True)
    assert source.calls == [12, 24, 30]  # every rollout_every steps and at the last step
    assert source.modes == [False, False, False] and source.closed  # without gradients; closed after fit
    assert model.training  # back in training mode
    a, b = load_file(str(plain.last_path)), load_file(str(tracked.last_path))
    assert all(torch.equal(a[k], b[k]) for k in a)  # the RNG draws of the rollouts did not change training
    with open(tracked.metrics_csv, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "rollout"]
    assert [int(r["step"]) for r in rows] == [12, 24, 30]
    assert float(rows[0]["success_rate"]) == 0.5 and float(rows[0]["avg_chain_length"]) == 1.5
    acc = tb_events(tracked.tensorboard_dir)
    assert [e.step for e in acc.Scalars("rollout/success_rate")] == [12, 24, 30]
    assert [e.value for e in acc.Scalars("rollout/avg_chain_length")] == [1.5, 1.5, 1.5]
    assert "train/loss" in acc.Tags()["scalars"] and "val/loss" in acc.Tags()["scalars"]
    videos = acc.Images("rollout/video_0")
    assert [e.step for e in videos] == [12, 24, 30] and (videos[0].width, videos[0].height) == (W, H)
    gif = Image.open(io.BytesIO(videos[0].encoded_image_string))
    assert gif.format == "GIF" and getattr(gif, "n_frames", 1) == T


def test_rollout_every_zero_or_no_source_runs_no_rollouts(tmp_path: Path) -> None:
    source = FakeRollouts()
    fit(tmp_path / "off", source, rollout_every=0)
    assert source.calls == []
    res, _ = fit(tmp_path / "nosource", None, rollout_every=5)  # a Trainer without a source ignores the setting
    with open(res.metrics_csv, newline="") as fh:
        assert not [r for r in csv.DictReader(fh) if r["split"] == "rollout"]


def test_default_rollout_every_logs_success_to_tensorboard(tmp_path: Path) -> None:
    """Rollouts are on by default: a run as long as the default rollout_every logs rollout/success_rate (and the
    rollout's wall time) at its last step; a shorter run (a smoke test) has none."""
    every = TrainerConfig().rollout_every
    assert every > 0
    source = FakeRollouts(videos=0)
    res, _ = fit(tmp_path / "default", source, max_steps=every, eval_every=every, checkpoint_every=every,
                 log_every=every, tensorboard=True)  # rollout_every left at its default
    assert source.calls == [every]
    acc = tb_events(res.tensorboard_dir)
    assert [(e.step, e.value) for e in acc.Scalars("rollout/success_rate")] == [(every, 0.5)]
    assert acc.Scalars("rollout/seconds")[0].value >= 0
    short = FakeRollouts(videos=0)
    fit(tmp_path / "short", short, max_steps=every - 1, eval_every=every, checkpoint_every=every)
    assert short.calls == []


def test_gif_and_tensorboard_tracker_write_what_tensorboard_reads(tmp_path: Path) -> None:
    frames = np.zeros((3, 8, 10, 3), np.uint8)
    frames[1, :, :, 0] = 255
    gif = Image.open(io.BytesIO(gif_bytes(frames, fps=10)))
    assert getattr(gif, "n_frames", 1) == 3 and gif.size == (10, 8)
    gif.seek(1)
    assert gif.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        gif_bytes(np.zeros((8, 10, 3), np.uint8), 10)
    tracker = TensorBoardTracker(tmp_path / "tb")
    tracker.scalars({"eval/x": 2.0}, 7)
    tracker.video("eval/video_0", frames, 7, 10)
    tracker.close()
    acc = tb_events(tmp_path / "tb")
    assert [(e.step, e.value) for e in acc.Scalars("eval/x")] == [(7, 2.0)]
    assert len(acc.Images("eval/video_0")) == 1


class FakeWandb(types.ModuleType):
    """Stand-in for the wandb module: the calls hirl makes (init, run.log, run.finish, Video), recorded."""

    def __init__(self) -> None:
        super().__init__("wandb")
        self.inits: list[dict[str, Any]] = []
        self.logged: list[tuple[int, dict[str, Any]]] = []
        self.finished = 0

    def init(self, **kwargs: Any) -> Any:
        self.inits.append(kwargs)
        module = self

        class Run:
            def log(self, data: dict[str, Any], step: int) -> None:
                module.logged.append((step, data))

            def finish(self) -> None:
                module.finished += 1

        return Run()

    class Video:
        def __init__(self, data: np.ndarray, fps: int, format: str) -> None:
            self.data, self.fps, self.format = data, fps, format


def test_wandb_backend_gets_scalars_videos_and_resumes_its_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    tracking = TrackingConfig(wandb=True, wandb_mode="offline", wandb_project="p")
    run_dir = tmp_path / "RUN" / "train" / "low_language"
    fit(run_dir, FakeRollouts(), max_steps=20, rollout_every=10, tracking=tracking)
    init = fake.inits[0]
    assert (init["project"], init["mode"], init["name"], init["group"], init["dir"]) == (
        "p", "offline", "low_language", "RUN", str(run_dir))
    assert init["config"]["max_steps"] == 20 and fake.finished == 1
    keys = {k for _, d in fake.logged for k in d}
    assert {"train/loss", "val/loss", "rollout/success_rate", "rollout/avg_chain_length", "rollout/video_0"} <= keys
    video = next(d["rollout/video_0"] for _, d in fake.logged if "rollout/video_0" in d)
    assert video.data.shape == (T, 3, H, W) and video.fps == 12 and video.format == "gif"
    assert [s for s, d in fake.logged if "rollout/success_rate" in d] == [10, 20]
    fit(run_dir, FakeRollouts(), max_steps=30, rollout_every=10, tracking=tracking)  # resumed: the same W&B run id
    assert fake.inits[1]["id"] == init["id"] and fake.inits[1]["resume"] == "allow"


def test_wandb_selected_but_missing_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError, as without the extra
    with pytest.raises(InputError, match=r"tracking.wandb: wandb is not installed") as err:
        make_tracker(TrackingConfig(wandb=True), tb_dir=tmp_path / "tb")
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="wandb is not installed"):
        fit(tmp_path / "r", tracking=TrackingConfig(wandb=True))
