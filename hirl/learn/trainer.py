"""The one supervised trainer every imitation learner in hirl uses.

    class Policy(nn.Module):
        def loss(self, batch) -> tuple[torch.Tensor, dict[str, float]]: ...   # scalar loss, extra metrics

    result = Trainer(policy, TrainerConfig(max_steps=2000), "runs/bc",
                     train_batches=ArraySampler(arrays, batch_size=64),       # (step, rng) -> batch
                     val_batches=array_batches(val_arrays, 256)).fit()       # () -> iterable of batches

What fit() gives you:
- checkpoints every `checkpoint_every` steps (model, optimizer, step, numpy/torch/python RNG states, best-val bookkeeping;
  see checkpoint.py), crash-safe; calling fit() again on the same run_dir resumes from the last one and, with a callable
  sampler that draws only from the rng it is given, ends with bit-identical weights to an uninterrupted run;
- best.safetensors (weights at the best validation loss) and last.safetensors (weights at the last step);
- early stopping when the validation loss has not improved by min_delta for `early_stopping_patience` evals;
- logs: metrics.csv (one row per logged step and split; truncated to the checkpoint on resume, so no step appears twice),
  TensorBoard events in tb/ (resumes with purge_step), W&B when tracking.wandb (hirl.tracking), a tqdm bar on a terminal;
- rollout evaluations every `rollout_every` steps (TrainerConfig.rollout_due) when given a rollout source (step -> hirl.
  tracking.RolloutResult; `hirl train` gives one: episodes of the agent that uses the network): success, chain length, ...,
  and the evaluation's wall time `seconds` as split "rollout" and videos, with the model in eval mode and every RNG
  restored afterwards (training is unchanged).
"""
from __future__ import annotations

import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import torch
from tqdm.auto import tqdm

from hirl.config import FieldError
from hirl.errors import InputError
from hirl.devices import check_device_spec, resolve_device
from hirl.learn.checkpoint import (CHECKPOINT_JSON, CsvLog, RunLock, has_checkpoint, load_checkpoint, read_checkpoint_record,
                                   remove_stale_temp_files, save_checkpoint)
from hirl.tracking import RolloutSource, Tracker, TrackingConfig, make_tracker
from hirl.weights import save_weights

_INTEROP_SET = False


def configure_torch_threads(num_threads: int | None = None) -> int:
    """Use min(2, cpu count) intra-op threads (or num_threads); set inter-op threads once per process. Returns the count."""
    global _INTEROP_SET
    n = int(num_threads) if num_threads else max(1, min(2, os.cpu_count() or 1))
    torch.set_num_threads(n)
    if not _INTEROP_SET:
        try:
            torch.set_num_interop_threads(max(1, min(2, n)))
        except RuntimeError:  # only allowed before any inter-op work started; keep torch's choice then
            pass
        _INTEROP_SET = True
    return n


MAX_BATCH_SIZE = 1 << 20  # largest batch a config may ask for (a million rows; far beyond what fits a step)


@dataclass
class TrainerConfig:
    """Every knob of the supervised trainer (YAML-loadable with hirl.config.load_config)."""

    max_steps: int = 1000  # total optimizer steps (a resumed run continues up to this count)
    batch_size: int = 64  # batch size for the built-in samplers (ArraySampler / array_batches); custom samplers pick their own
    lr: float = 1e-3  # AdamW learning rate (peak value when a schedule is used)
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    grad_clip: float | None = 1.0  # clip the global gradient L2 norm to this; None = no clipping
    lr_warmup_steps: int = 0  # linear warm-up from 0 to lr over this many steps
    lr_schedule: Literal["constant", "cosine"] = "constant"  # after warm-up: keep lr, or cosine-decay it to 0 at max_steps
    eval_every: int = 100  # run validation every N steps (and at the last step); needs val_batches
    checkpoint_every: int = 100  # write a resumable checkpoint every N steps (and at the end)
    early_stopping_patience: int | None = None  # stop after this many evaluations without improvement; None = off
    min_delta: float = 0.0  # a validation loss must beat the best by more than this to count as an improvement
    seed: int = 0  # seeds python, numpy (global + the sampler's Generator) and torch at the start of a fresh run
    log_every: int = 10  # write mean training metrics of the last N steps to CSV/TensorBoard every N steps
    device: str = "auto"  # auto | cpu | cuda | cuda:N (hirl.devices): the model and its batches; auto = a GPU if any
    progress: bool = True  # show a tqdm bar (only when stderr is a terminal)
    tensorboard: bool = True  # write TensorBoard event files under run_dir/tb
    # rollout_every: an evaluation also follows the last step of a run at least that long. 10 Tabletop 5-subtask chains:
    # 3-6 s per evaluation, about 40-60 s added to `hirl demo` on 2 CPU cores (docs/tutorials/outputs.md)
    rollout_every: int = 5000  # steps between rollout evaluations of the network's agent (TensorBoard rollout/*); 0 = off
    rollout_episodes: int = 10  # episodes per rollout evaluation (seeds: the run's eval seeds)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)  # W&B and rollout videos (hirl.tracking)
    torch_threads: int | None = None  # if set, call configure_torch_threads(n) before training; None = leave torch as is
    compile: bool = False  # torch.compile the model's loss (fuses elementwise ops; tens of seconds to compile at start)

    def __post_init__(self) -> None:
        try:
            check_device_spec(self.device)
        except ValueError as exc:
            raise FieldError("device", str(exc).removeprefix("device ")) from None
        if self.batch_size > MAX_BATCH_SIZE:
            raise FieldError("batch_size", f"must be <= {MAX_BATCH_SIZE} (a batch is allocated whole), got {self.batch_size}")
        positive = ("max_steps", "batch_size", "eval_every", "checkpoint_every", "log_every", "rollout_episodes")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"TrainerConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"TrainerConfig.lr must be > 0, got {self.lr}")
        if self.weight_decay < 0 or self.lr_warmup_steps < 0 or self.min_delta < 0:
            raise ValueError("TrainerConfig.weight_decay, lr_warmup_steps and min_delta must be >= 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"TrainerConfig.grad_clip must be > 0 or None, got {self.grad_clip}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(f"TrainerConfig.early_stopping_patience must be >= 1 or None, got {self.early_stopping_patience}")
        if self.rollout_every < 0:
            raise ValueError(f"TrainerConfig.rollout_every must be >= 0 (0 = off), got {self.rollout_every}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"TrainerConfig.lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")

    def rollout_due(self, step: int, stopped_early: bool = False) -> bool:
        """Whether a rollout evaluation follows optimizer step `step`: every rollout_every steps, and at the run's
        last step (max_steps, or an early stop) once the run has reached rollout_every steps (a shorter run, e.g. a
        smoke test, has none)."""
        if not self.rollout_every or step < self.rollout_every:
            return False
        return step % self.rollout_every == 0 or step == self.max_steps or stopped_early

    def lr_at(self, step: int) -> float:
        """Learning rate used for optimizer step `step` (1-based)."""
        if self.lr_warmup_steps and step <= self.lr_warmup_steps:
            return self.lr * step / self.lr_warmup_steps
        if self.lr_schedule == "cosine":
            span = max(1, self.max_steps - self.lr_warmup_steps)
            done = min(1.0, (step - self.lr_warmup_steps) / span)
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * done))
        return self.lr


@dataclass
class TrainResult:
    """What fit() did. Paths are None when the file was not produced (e.g. no validation -> no best)."""

    steps_done: int  # optimizer steps completed in total (over all resumes)
    best_val_loss: float | None  # lowest validation loss seen (None without val_batches)
    best_step: int | None  # step at which it was seen
    stopped_early: bool  # True when early stopping ended the run
    resumed_from: int | None  # step of the checkpoint this call resumed from (None = fresh start)
    last_train_loss: float | None  # mean training loss of the last logging window
    run_dir: Path
    last_path: Path  # last.safetensors: weights after the last step
    best_path: Path | None  # best.safetensors: weights at best_step
    checkpoint_path: Path  # checkpoint.json (resume record)
    metrics_csv: Path
    tensorboard_dir: Path | None


@dataclass
class _Progress:
    """The resumable part of a fit: stored in checkpoint.json (in this field order) and restored from it."""

    step: int = 0  # optimizer steps done
    best_val_loss: float | None = None  # lowest finite validation loss so far
    best_step: int | None = None  # step of best_val_loss
    evals_since_improvement: int = 0  # validations since best_val_loss last improved (early stopping)
    stopped_early: bool = False  # early stopping ended the run

    def restore(self, record: Mapping[str, Any]) -> None:
        """Take every field present in a checkpoint record."""
        for k in asdict(self):
            if k in record:
                setattr(self, k, record[k])


# -- batch sources ------------------------------------------------------------------------------------------
class ArraySampler:
    """Infinite sampler over aligned arrays: (step, rng) -> {name: tensor (batch_size, ...)}, rows drawn with replacement.

    arrays  {name: np.ndarray with the same first dimension N}; float64 becomes float32"""

    def __init__(self, arrays: Mapping[str, np.ndarray], batch_size: int, device: str = "cpu") -> None:
        self.arrays = _check_arrays(arrays)
        self.n = len(next(iter(self.arrays.values())))
        self.batch_size, self.device = int(batch_size), device

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        idx = rng.integers(0, self.n, size=self.batch_size)
        return {k: _to_tensor(v[idx], self.device) for k, v in self.arrays.items()}


def array_batches(arrays: Mapping[str, np.ndarray], batch_size: int, device: str = "cpu") -> Callable[[], Iterator[dict]]:
    """Validation source: () -> iterator over all rows in order, in batches of batch_size (last one smaller)."""
    data = _check_arrays(arrays)
    n = len(next(iter(data.values())))

    def batches() -> Iterator[dict[str, torch.Tensor]]:
        for start in range(0, n, batch_size):
            yield {k: _to_tensor(v[start:start + batch_size], device) for k, v in data.items()}

    return batches


def _check_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    data = {str(k): np.asarray(v) for k, v in arrays.items()}
    if not data or len({len(v) for v in data.values()}) != 1 or len(next(iter(data.values()))) == 0:
        raise ValueError(
            f"arrays must be non-empty with one shared first dimension, got { {k: v.shape for k, v in data.items()} }")
    return data


def _to_tensor(arr: np.ndarray, device: str) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(arr))
    return (t.float() if t.dtype == torch.float64 else t).to(device)


def to_device(batch: Any, device: str | torch.device) -> Any:
    """Move every tensor in a (nested) dict / list / tuple / NamedTuple batch to device (to a GPU from pinned host
    memory, asynchronously: the copy overlaps the previous step's kernels)."""
    if isinstance(batch, torch.Tensor):
        if torch.device(device).type == "cuda" and batch.device.type == "cpu":
            return batch.pin_memory().to(device, non_blocking=True)
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


# -- the trainer --------------------------------------------------------------------------------------------
@torch.no_grad()
def mean_metrics(model: torch.nn.Module, batches: Iterable[Any], loss: Callable[[Any], Any]) -> dict[str, float]:
    """Mean of loss(batch) -> (scalar loss, metrics) over batches -> {"loss": .., name: ..}, model in eval mode."""
    was_training = model.training
    rows: list[dict[str, float]] = []
    model.eval()
    try:
        for batch in batches:
            value, metrics = loss(batch)
            rows.append({"loss": float(value), **{k: float(v) for k, v in metrics.items()}})
    finally:
        model.train(was_training)
    if not rows:
        raise ValueError("val_batches() yielded no batches")
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}


class Trainer:
    """Supervised training loop for a torch.nn.Module with `loss(batch) -> (loss, metrics)`.

    model          nn.Module; model.loss(batch) returns a scalar loss tensor and a dict of metrics, floats or
                   0-d tensors (detached; read after the step, so a compiled loss has no graph break) (a bare
                   loss tensor is accepted too). Its own shapes are its business. An optional
                   model.after_step() runs after every optimizer step (e.g. an EMA target-network update).
    config         TrainerConfig
    run_dir        folder for checkpoints, weights and logs (created); an existing checkpoint there is resumed
    train_batches  callable (step: int, rng: np.random.Generator) -> batch (an infinite sampler; exact resume
                   needs it to draw only from rng), or an iterable of batches (cycled when re-iterable; not
                   position-exact on resume)
    val_batches    callable () -> iterable of batches, or None (then no best weights / early stopping)
    optimizer      optional pre-built optimizer over model parameters (default: AdamW on trainable parameters);
                   the trainer sets every param group's lr from config.lr_at(step) before each step
    rollouts       optional rollout source, step -> hirl.tracking.RolloutResult (episodes of an agent acting with
                   the model as it is), called every config.rollout_every steps and at the last step; its close()
                   is called at the end of fit when it has one
    """

    def __init__(self, model: torch.nn.Module, config: TrainerConfig, run_dir: str | Path,
                 train_batches: Callable[[int, np.random.Generator], Any] | Iterable[Any],
                 val_batches: Callable[[], Iterable[Any]] | None = None,
                 optimizer: torch.optim.Optimizer | None = None, rollouts: RolloutSource | None = None) -> None:
        loss_fn = getattr(model, "loss", None)
        if not callable(loss_fn):
            raise TypeError(f"{type(model).__name__} has no loss(batch) method")
        # model.loss (bound), compiled when config.compile: metrics returned as 0-d tensors keep it one graph
        self._loss: Callable[[Any], Any] = torch.compile(loss_fn) if config.compile else loss_fn
        if val_batches is not None and not callable(val_batches):
            raise TypeError("val_batches must be a callable returning an iterable of batches (or None)")
        self.device = resolve_device(config.device, "train device")  # InputError (one line) for an absent GPU
        self.model, self.config, self.run_dir = model.to(self.device), config, Path(run_dir)
        self.train_batches, self.val_batches = train_batches, val_batches
        self.rollouts = rollouts
        params = [p for p in model.parameters() if p.requires_grad]
        if optimizer is None and not params:
            raise ValueError("model has no trainable parameters")
        # fused: one kernel for the whole update instead of a handful per tensor (0.75 -> 0.3 ms per step for a
        # 256 x 3 MLP on one CPU core); it needs every parameter floating point on the CPU or a CUDA device
        fused = self.device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in params)
        self.optimizer = optimizer or torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay,
                                                        fused=fused or None)
        self.rng = np.random.default_rng(config.seed)
        self._iter: Iterator[Any] | None = None  # over train_batches when it is an iterable (set by fit)
        self.paths = {"last": self.run_dir / "last.safetensors", "best": self.run_dir / "best.safetensors",
                      "csv": self.run_dir / "metrics.csv", "tb": self.run_dir / "tb"}

    # -- pieces --------------------------------------------------------------------------------------------
    def _call_loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        out = self._loss(to_device(batch, self.device) if self.device.type != "cpu" else batch)
        loss, metrics = (out, {}) if isinstance(out, torch.Tensor) else out
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise TypeError(f"{type(self.model).__name__}.loss must return a scalar tensor (and a metrics dict)")
        return loss, {k: float(v) for k, v in (metrics or {}).items()}

    def _train_iter(self) -> Iterator[Any] | None:
        """A fresh iterator over train_batches, or None when it is a callable sampler."""
        if isinstance(self.train_batches, Iterable):
            return iter(self.train_batches)
        if callable(self.train_batches):
            return None
        raise TypeError(f"train_batches must be a callable (step, rng) -> batch or an iterable of batches, "
                        f"got {type(self.train_batches).__name__}")

    def _next_batch(self, step: int) -> Any:
        if self._iter is None:
            assert callable(self.train_batches)  # _train_iter returned None
            return self.train_batches(step, self.rng)
        try:
            return next(self._iter)
        except StopIteration:
            assert isinstance(self.train_batches, Iterable)  # _train_iter returned an iterator
            self._iter = iter(self.train_batches)
            try:
                return next(self._iter)
            except StopIteration:
                raise ValueError("train_batches is exhausted (an iterator can only be read once; pass a re-iterable "
                                 "or a callable sampler)") from None

    def evaluate(self) -> dict[str, float]:
        """Mean loss and metrics over all val batches -> {"loss": .., name: ..}; the model is in eval mode meanwhile."""
        assert self.val_batches is not None
        return mean_metrics(self.model, self.val_batches(), self._call_loss)

    def _seed_fresh(self) -> None:
        seed = self.config.seed
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)

    def _train_step(self, step: int) -> dict[str, float]:
        """One optimizer step at config.lr_at(step) on the next batch -> {"loss", model metrics..., ["grad_norm"], "lr"}."""
        cfg = self.config
        lr = cfg.lr_at(step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss, metrics = self._call_loss(self._next_batch(step))
        if not math.isfinite(loss.item()):
            raise FloatingPointError(
                f"non-finite training loss {loss.item()} at step {step} (last checkpoint kept in {self.run_dir})")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is not None:
            metrics["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip))
        self.optimizer.step()
        after_step = getattr(self.model, "after_step", None)  # e.g. target-network updates (HIQL's EMA value)
        if callable(after_step):
            after_step()
        return {"loss": loss.item(), **metrics, "lr": lr}

    def _validate(self, step: int, st: _Progress) -> dict[str, float]:
        """evaluate() at step; keeps the best weights and the early-stopping count in st -> val metrics + "best_loss"."""
        cfg = self.config
        val = self.evaluate()
        best = st.best_val_loss
        if math.isfinite(val["loss"]) and (best is None or val["loss"] < best - cfg.min_delta):
            st.best_val_loss, st.best_step, st.evals_since_improvement = val["loss"], step, 0
            save_weights(self.model, self.paths["best"])
        else:
            st.evals_since_improvement += 1
        if st.best_val_loss is None:  # no finite validation loss yet: nothing to log as the best
            raise FloatingPointError(
                f"non-finite validation loss {val['loss']} at step {step} (last checkpoint kept in {self.run_dir})")
        patience = cfg.early_stopping_patience
        if patience is not None and st.evals_since_improvement >= patience:
            st.stopped_early = True
        return {**val, "best_loss": st.best_val_loss}

    def _rollout(self, step: int) -> Any:
        """The rollout source's result for the model at step: model in eval mode without gradients, and the python,
        numpy and torch RNG states restored afterwards, so training continues exactly as without rollouts."""
        assert self.rollouts is not None
        was_training = self.model.training
        py_state, np_state = random.getstate(), np.random.get_state()
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices), torch.no_grad():
                self.model.eval()
                return self.rollouts(step)
        finally:
            self.model.train(was_training)
            random.setstate(py_state)
            np.random.set_state(np_state)

    def _tracker(self, resumed_from: int | None) -> Tracker:
        """TensorBoard in run_dir/tb (when config.tensorboard; events after the resumed checkpoint are purged) and
        W&B (config.tracking.wandb) for this fit."""
        cfg = self.config
        parts = self.run_dir.resolve().parts  # RUN/train/<network> or RUN/train/<stage>/<network>: W&B group RUN
        name, group = self.run_dir.name, None
        for at in range(len(parts) - 2, 1, -1):  # the last "train" with a run folder above it
            if parts[at] == "train":
                name, group = "/".join(parts[at + 1:]), parts[at - 1]
                break
        return make_tracker(cfg.tracking, tb_dir=self.paths["tb"] if cfg.tensorboard else None,
                            purge_step=(resumed_from + 1) if resumed_from is not None else None,
                            wandb_dir=self.run_dir, name=name, group=group, config=asdict(cfg))

    def _resume(self) -> tuple[_Progress, int | None]:
        """The progress to continue from and the step it was checkpointed at: restored (with model, optimizer and RNG
        states) from run_dir's checkpoint, or a fresh, freshly seeded start (step None)."""
        st = _Progress()
        if has_checkpoint(self.run_dir):
            record = read_checkpoint_record(self.run_dir)
            if record["step"] > self.config.max_steps:  # trained further than asked: a wrong folder or a damaged record
                raise InputError(f"{self.run_dir / CHECKPOINT_JSON}: key 'step': the checkpoint is at step {record['step']}, "
                                 f"beyond max_steps {self.config.max_steps} (raise max_steps or train into another folder)")
            st.restore(load_checkpoint(self.run_dir, self.model, self.optimizer, self.rng))
            return st, st.step
        self._seed_fresh()
        return st, None

    # -- main loop -----------------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train (or resume) up to config.max_steps; see the module docstring for what is written.

        A run that stopped early stays stopped (calling fit() again returns at once); a finished run given a
        larger max_steps continues. InputError if the checkpoint is corrupt / for another model, or another
        process is training in the same run_dir."""
        with RunLock(self.run_dir):
            return self._fit()

    def _fit(self) -> TrainResult:
        cfg = self.config
        if cfg.torch_threads:
            configure_torch_threads(cfg.torch_threads)
        remove_stale_temp_files(self.run_dir)
        st, resumed_from = self._resume()
        csv_log = CsvLog(self.paths["csv"], keep_until_step=resumed_from if resumed_from is not None else -1)
        tracker = self._tracker(resumed_from)
        self._iter = self._train_iter()
        start = time.perf_counter()
        bar = tqdm(total=cfg.max_steps, initial=st.step, desc=self.run_dir.name, dynamic_ncols=True,
                   disable=not (cfg.progress and sys.stderr.isatty()))
        window: dict[str, float] = {}
        window_n = 0
        last_train_loss: float | None = None  # mean training loss of the last logging window
        self.model.train()

        def log(step: int, split: str, metrics: Mapping[str, float]) -> None:
            csv_log.append(step, split, time.perf_counter() - start, metrics)
            tracker.scalars({f"{split}/{k}": v for k, v in metrics.items()}, step)

        def checkpoint(step: int) -> None:
            tracker.flush()
            save_weights(self.model, self.paths["last"])
            save_checkpoint(self.run_dir, step, self.model, self.optimizer, self.rng, {**asdict(st), "config": asdict(cfg)})

        try:
            step = st.step
            done = st.stopped_early or step >= cfg.max_steps
            while not done:
                step += 1
                for k, v in self._train_step(step).items():
                    window[k] = window.get(k, 0.0) + v
                window_n += 1
                st.step = step
                bar.update(1)
                if step % cfg.log_every == 0 or step == cfg.max_steps:
                    means = {k: v / window_n for k, v in window.items()}
                    last_train_loss = means["loss"]
                    log(step, "train", means)
                    bar.set_postfix(loss=f"{last_train_loss:.4g}", refresh=False)
                    window, window_n = {}, 0
                if self.val_batches is not None and (step % cfg.eval_every == 0 or step == cfg.max_steps):
                    log(step, "val", self._validate(step, st))
                if self.rollouts is not None and cfg.rollout_due(step, st.stopped_early):
                    t0 = time.perf_counter()
                    result = self._rollout(step)
                    log(step, "rollout", {**result.metrics, "seconds": time.perf_counter() - t0})
                    for i, clip in enumerate(result.videos):
                        tracker.video(f"rollout/video_{i}", clip, step, result.fps)
                done = st.stopped_early or step >= cfg.max_steps
                if done or step % cfg.checkpoint_every == 0:
                    checkpoint(step)
            if not self.paths["last"].exists():  # resumed a finished run whose weights file was removed
                save_weights(self.model, self.paths["last"])
        finally:
            bar.close()
            tracker.close()
            close = getattr(self.rollouts, "close", None)
            if callable(close):
                close()
        return TrainResult(
            steps_done=st.step, best_val_loss=st.best_val_loss, best_step=st.best_step,
            stopped_early=st.stopped_early, resumed_from=resumed_from, last_train_loss=last_train_loss,
            run_dir=self.run_dir, last_path=self.paths["last"],
            best_path=self.paths["best"] if st.best_step is not None else None,
            checkpoint_path=self.run_dir / "checkpoint.json", metrics_csv=self.paths["csv"],
            tensorboard_dir=self.paths["tb"] if cfg.tensorboard else None)

