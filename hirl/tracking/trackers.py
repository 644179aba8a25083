"""Experiment tracking behind one small interface: scalars and videos go to TensorBoard (always available) and, when
selected, to Weights & Biases (the optional `wandb` extra). The imitation Trainer and the RL stage trainer log
through it; a backend is anything with the Tracker methods.

    tracker = make_tracker(TrackingConfig(wandb=True), tb_dir=RUN / "train/low_language/tb", name="low_language")
    tracker.scalars({"train/loss": 0.12}, step=100)
    tracker.video("rollout/video_0", frames, step=100, fps=12.5)    # frames (T, H, W, 3) uint8
    tracker.close()
"""
from __future__ import annotations

import io
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hirl.config import FieldError, at_least
from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes, atomic_write_text

WANDB_MODES = ("online", "offline")
WANDB_ID_FILE = "wandb_id.txt"  # beside the W&B files of a training folder: the id a resumed training continues


@dataclass(frozen=True)
class TrackingConfig:
    """Where training metrics and rollout videos go besides the run's own files (metrics.csv, curve.json)."""

    wandb: bool = False  # also log to Weights & Biases (pip install -e ".[wandb]"); TensorBoard is written either way
    wandb_project: str = "hirl"  # W&B project the runs are logged to
    wandb_mode: str = "online"  # online | offline (kept under the training folder's wandb/; `wandb sync` uploads it)
    videos: int = 0  # episodes filmed at each rollout evaluation and logged as videos (0: none; rendering is slow)
    frame_every: int = 4  # control steps between video frames
    video_size: int = 96  # camera width and height of the filmed episodes in pixels

    def __post_init__(self) -> None:
        if self.wandb_mode not in WANDB_MODES:
            raise FieldError("wandb_mode", f"must be one of {', '.join(WANDB_MODES)}, got {self.wandb_mode!r}")
        at_least("videos", self.videos, 0)
        at_least("frame_every", self.frame_every, 1)
        at_least("video_size", self.video_size, 16)


class Tracker(Protocol):
    """A tracking backend. step: the x axis (optimizer steps of the Trainer, env steps of an RL stage)."""

    def scalars(self, metrics: Mapping[str, float], step: int) -> None:
        """Log {tag: value} at step."""
        ...

    def video(self, tag: str, frames: np.ndarray, step: int, fps: float) -> None:
        """Log one clip, frames (T, H, W, 3) uint8, at step."""
        ...

    def flush(self) -> None:
        """Make everything logged so far durable."""
        ...

    def close(self) -> None:
        """Flush and release the backend (a tracker is not used after close)."""
        ...


def gif_bytes(frames: np.ndarray, fps: float) -> bytes:
    """frames (T, H, W, 3) uint8 -> an animated GIF (looping) at fps, encoded with Pillow."""
    from PIL import Image

    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames):
        raise ValueError(f"video frames must be (T, H, W, 3) with T >= 1, got {frames.shape}")
    images = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=max(20, round(1000 / fps)),
                   loop=0)
    return buf.getvalue()


EVENT_FILES = "events.out.tfevents.*"  # TensorBoard's event file names (one per writer; time-ordered names)


def truncate_events(log_dir: str | Path, purge_step: int) -> int:
    """Remove every event at or after purge_step from the event files in log_dir and its subfolders (a resumed training
    logs those steps again), so each tag's steps keep increasing over the files in name order and TensorBoard has
    nothing out of order to discard. A record cut by a kill ends its file's reading and goes too. Files are rewritten
    atomically; returns the number of events removed."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    removed = 0
    for path in sorted(Path(log_dir).rglob(EVENT_FILES)):
        records = list(RawEventFileLoader(str(path)).Load())
        kept = [r for r in records if Event.FromString(r).step < purge_step]
        if len(kept) == len(records) and path.stat().st_size == sum(len(r) + 16 for r in records):
            continue  # nothing at or past purge_step, and no cut record at the end (16 bytes of framing per record)
        buf = io.BytesIO()
        writer = RecordWriter(buf)
        for record in kept:
            writer.write(record)
        atomic_write_bytes(path, buf.getvalue())
        removed += len(records) - len(kept)
    return removed


class TensorBoardTracker:
    """TensorBoard event files in log_dir (purge_step: events at or after it are removed from the files already there,
    for a resumed training: truncate_events), or an existing torch SummaryWriter (e.g. SB3's) that stays its owner's.
    Videos are animated GIFs in the images tab (torch's add_video needs moviepy; this encodes with Pillow)."""

    def __init__(self, log_dir: str | Path | None = None, purge_step: int | None = None, writer: Any = None) -> None:
        if (log_dir is None) == (writer is None):
            raise ValueError("TensorBoardTracker: give log_dir or writer")
        self._owned = writer is None
        if writer is None:
            from torch.utils.tensorboard import SummaryWriter

            assert log_dir is not None  # checked above: exactly one of log_dir and writer
            if purge_step is not None and Path(log_dir).is_dir():
                truncate_events(log_dir, purge_step)

            writer = SummaryWriter(str(log_dir), purge_step=purge_step)
        self.writer = writer

    def scalars(self, metrics: Mapping[str, float], step: int) -> None:
        for k, v in metrics.items():
            self.writer.add_scalar(k, float(v), step)

    def video(self, tag: str, frames: np.ndarray, step: int, fps: float) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        _, h, w, c = np.asarray(frames).shape
        image = Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=gif_bytes(frames, fps))
        self.writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        if self._owned:
            self.writer.close()
        else:
            self.writer.flush()


def import_wandb() -> Any:
    """The wandb module; InputError in one line when the optional extra is not installed."""
    try:
        import wandb
    except ImportError:
        raise InputError('tracking.wandb: wandb is not installed (pip install -e ".[wandb]", or set tracking.wandb '
                         'false)') from None
    return wandb


class WandbTracker:
    """A Weights & Biases run whose files live in directory/wandb; resumed (same run id, read from
    directory/wandb_id.txt) when the training resumes."""

    def __init__(self, cfg: TrackingConfig, directory: str | Path, name: str, group: str | None = None,
                 config: Mapping[str, Any] | None = None) -> None:
        self._wandb = import_wandb()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        id_file = directory / WANDB_ID_FILE
        run_id = id_file.read_text(encoding="utf-8").strip() if id_file.is_file() else ""
        if not run_id:
            run_id = secrets.token_hex(8)
            atomic_write_text(id_file, run_id + "\n")
        self.run = self._wandb.init(project=cfg.wandb_project, name=name, group=group, dir=str(directory),
                                    mode=cfg.wandb_mode, id=run_id, resume="allow", config=dict(config or {}))

    def scalars(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log({k: float(v) for k, v in metrics.items()}, step=step)

    def video(self, tag: str, frames: np.ndarray, step: int, fps: float) -> None:
        clip = np.transpose(np.asarray(frames, dtype=np.uint8), (0, 3, 1, 2))  # W&B wants (T, C, H, W)
        self.run.log({tag: self._wandb.Video(clip, fps=max(1, round(fps)), format="gif")}, step=step)

    def flush(self) -> None:
        pass  # W&B writes in its own process

    def close(self) -> None:
        self.run.finish()


class Trackers:
    """Several backends as one Tracker (every call goes to each, in order)."""

    def __init__(self, backends: Sequence[Tracker]) -> None:
        self.backends = list(backends)

    def scalars(self, metrics: Mapping[str, float], step: int) -> None:
        for b in self.backends:
            b.scalars(metrics, step)

    def video(self, tag: str, frames: np.ndarray, step: int, fps: float) -> None:
        for b in self.backends:
            b.video(tag, frames, step, fps)

    def flush(self) -> None:
        for b in self.backends:
            b.flush()

    def close(self) -> None:
        for b in self.backends:
            b.close()


def make_tracker(cfg: TrackingConfig, *, tb_dir: str | Path | None = None, tb_writer: Any = None,
                 purge_step: int | None = None, wandb_dir: str | Path | None = None, name: str = "train",
                 group: str | None = None, config: Mapping[str, Any] | None = None) -> Trackers:
    """The configured backends: TensorBoard (into tb_dir, or onto tb_writer; none when both are None) and W&B when
    cfg.wandb (its files in wandb_dir, default tb_dir's parent). InputError when W&B is selected but missing."""
    backends: list[Tracker] = []
    if tb_writer is not None or tb_dir is not None:
        backends.append(TensorBoardTracker(tb_dir if tb_writer is None else None, purge_step, tb_writer))
    if cfg.wandb:
        where = wandb_dir if wandb_dir is not None else (Path(tb_dir).parent if tb_dir is not None else None)
        if where is None:
            raise ValueError("make_tracker: W&B needs wandb_dir (or tb_dir)")
        try:
            backends.append(WandbTracker(cfg, where, name, group, config))
        except BaseException:
            Trackers(backends).close()
            raise
    return Trackers(backends)
