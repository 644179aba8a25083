"""Training one env-stepping RL stage into a run directory: from the stage's StageSetup (its MDP and learner),
resume from the last checkpoint, learn for `steps` env steps with a progress bar, TensorBoard logging, a learning
curve and atomic checkpoints.

    RUN/config.yaml                  the last stage's config (what `hirl eval RUN` reads; `kind: rl`)
    RUN/train/<stage>/config.yaml    each stage's resolved config
    RUN/train/<stage>/tb/            TensorBoard (SB3's losses + eval/success_rate, eval/avg_chain_length,
                                     hirl/env_steps_per_s, ..., eval/video_<i> with tracking.videos)
    RUN/train/<stage>/wandb/         W&B files (tracking.wandb: every SB3 record and the videos go there too)
    RUN/train/<stage>/checkpoint/    model.zip (SB3), buffer.npz/.json (no pickle), state.json (written last)
    RUN/train/<stage>/curve.json     [{env_steps, success_rate, ...}] learning curve, rewritten at every point
    RUN/models/<output>/model.zip    the trained component (Stage.output, hirl.rl.components)
"""
from __future__ import annotations

import json
import time
from abc import abstractmethod
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from collections.abc import Callable
from typing import Any

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter, TensorBoardOutputFormat
from tqdm import tqdm

from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.rl.config import RLRunConfig
from hirl.rl.envs import GoalCurriculum
from hirl.rl.relabel import TransitionRelabeler
from hirl.rl.replay_io import load_buffer, save_buffer
from hirl.rl.sb3 import MODEL_FILE, load_model
from hirl.rl.stage import Stage
from hirl.integrations import adapter as env_adapter
from hirl.rl.task import evaluation_env
from hirl.runs import RunDir
from hirl.tracking import RolloutResult, Tracker, Trackers, make_tracker, rollouts, truncate_events



@dataclass
class StageSetup:
    """What differs between env-stepping stages (built by each stage's setup()):

    env                    the (single) training env the learner steps
    new_model(tb_dir)        a fresh learner (or one initialised from an earlier stage's model)
    count_steps(model)       env (control) steps taken by this learner so far
    eval_agent(model, env)   the rollout agent evaluated on the task during training
    curriculum               goal curriculum whose progress the trainer advances (stage low), else None
    relabeler                high-level transition relabeler (stage high), else None
    evaluate(model, n, seed) success rate replacing the task-episode evaluation (stage language), else None
    extra_eval(model)        more learning-curve metrics {name: value}, logged as eval/<name> (stage low's planner)
    callbacks                extra SB3 callbacks of the stage; stats() -> counts for the summary (both optional)"""

    env: gym.Env
    new_model: Callable[[str], Any]
    count_steps: Callable[[Any], int]
    eval_agent: Callable[[Any, gym.Env], Any]
    curriculum: GoalCurriculum | None = None
    relabeler: TransitionRelabeler | None = None
    evaluate: Callable[[Any, int, int], float] | None = None
    extra_eval: Callable[[Any], dict[str, float]] | None = None
    callbacks: list[Any] = field(default_factory=list)
    stats: Callable[[], dict[str, int]] | None = None


class LearnerStage(Stage):
    """A stage whose SB3 learner steps an env: setup() builds its StageSetup, StageTrainer trains it."""

    @abstractmethod
    def setup(self, cfg: RLRunConfig, run: RunDir) -> StageSetup:
        """The stage's MDP, learner and evaluation in the run (InputError when an earlier stage's model is missing)."""

    def train(self, cfg: RLRunConfig, run: RunDir) -> dict[str, Any]:
        return StageTrainer(cfg, run, self.setup(cfg, run), self.output_dir(run) / MODEL_FILE).run()


def save_model(model: Any, path: Path) -> None:
    """model.save to path atomically (through model.tmp.zip beside it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("model.tmp.zip")
    model.save(tmp)
    tmp.replace(path)


class TrackerOutput(KVWriter):
    """An SB3 logger output that hands every numeric record (losses, eval/..., hirl/...) to a Tracker (W&B)."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        numbers = {k: float(v) for k, v in key_values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if numbers:
            self.tracker.scalars(numbers, step)

    def close(self) -> None:
        pass  # the tracker is closed by its StageTrainer


class StageCallback(BaseCallback):
    """Counts env steps, drives the curriculum, draws the progress bar, evaluates every eval.every env steps,
    checkpoints every checkpoint_every env steps, and stops the learner at the budget."""

    def __init__(self, trainer: StageTrainer) -> None:
        super().__init__()
        self.t = trainer

    def _on_training_start(self) -> None:
        self.t.start_tracking()

    def _on_step(self) -> bool:
        t = self.t
        steps = t.env_steps()
        t.bar.update(steps - t.bar.n)
        if t.setup.curriculum is not None:
            t.setup.curriculum.progress = steps / t.cfg.steps
        if t.cfg.eval.every and steps >= t.state["next_eval"]:
            t.evaluate(steps)
            t.state["next_eval"] += t.cfg.eval.every
        if steps >= t.state["next_checkpoint"] and steps < t.cfg.steps:
            t.checkpoint(steps)
            t.state["next_checkpoint"] += t.cfg.checkpoint_every
        return steps < t.cfg.steps


class StageTrainer:
    """One env-stepping stage of one run directory (see the module docstring)."""

    def __init__(self, cfg: RLRunConfig, run: RunDir, setup: StageSetup, out: Path) -> None:
        self.cfg, self.rundir, self.setup, self.out = cfg, run, setup, out
        self.dir = run.train_dir(cfg.stage)
        self.ckpt = self.dir / "checkpoint"
        self.state: dict[str, Any] = {"env_steps": 0, "train_seconds": 0.0, "curve": [], "next_eval": cfg.eval.every,
                                      "next_checkpoint": cfg.checkpoint_every, "env_steps_offset": 0}
        self.model: Any = None
        self.bar: Any = None
        self.tracker: Tracker | None = None  # videos onto SB3's TensorBoard writer, W&B (from start_tracking)
        self._t0 = 0.0
        self._eval_seconds = 0.0
        self._base_seconds = 0.0

    def env_steps(self) -> int:
        return self.state["env_steps_offset"] + self.setup.count_steps(self.model)

    # -- checkpoints -----------------------------------------------------------------------------------------
    def _resume(self) -> bool:
        state_file = self.ckpt / "state.json"
        if not state_file.is_file():
            return False
        try:
            state = json.loads(state_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{state_file}: unreadable checkpoint state ({exc})") from None
        self.model = load_model(self.ckpt / MODEL_FILE, env=self.setup.env)
        self.model.relabeler = self.setup.relabeler
        load_buffer(self.model.replay_buffer, self.ckpt / "buffer.npz")
        if hasattr(self.model.replay_buffer, "truncate_last_trajectory"):
            self.model.replay_buffer.truncate_last_trajectory()
        # SB3 logs on into the same tb/tb_<n> folder: what it logged past the checkpoint would come twice
        truncate_events(self.dir / "tb", self.model.num_timesteps + 1)
        self.state = state
        self.state["env_steps_offset"] = state["env_steps"] - self.setup.count_steps(self.model)
        if self.setup.relabeler is not None:
            self.setup.relabeler.counts.update(state.get("relabel_counts", {}))
        return True

    def checkpoint(self, steps: int) -> None:
        """model.zip and buffer first, state.json last (atomic): a kill at any time leaves a usable checkpoint."""
        save_model(self.model, self.ckpt / MODEL_FILE)
        save_buffer(self.model.replay_buffer, self.ckpt / "buffer.npz")
        self.state.update(env_steps=steps, train_seconds=self._train_seconds(),
                          relabel_counts=self._counts())
        atomic_write_json(self.ckpt / "state.json", self.state)

    def _counts(self) -> dict[str, int]:
        if self.setup.relabeler is not None:
            return dict(self.setup.relabeler.counts)
        return self.setup.stats() if self.setup.stats is not None else {}

    def _train_seconds(self) -> float:
        return self._base_seconds + (time.perf_counter() - self._t0 - self._eval_seconds)

    # -- tracking ----------------------------------------------------------------------------------------------
    def start_tracking(self) -> None:
        """At the learner's start: a Tracker writing videos into SB3's own TensorBoard events and, with
        tracking.wandb, a W&B run that also receives every SB3 record (through TrackerOutput)."""
        if self.tracker is not None:
            return
        cfg = self.cfg
        writer = next((f.writer for f in self.model.logger.output_formats if isinstance(f, TensorBoardOutputFormat)), None)
        self.tracker = make_tracker(replace(cfg.tracking, wandb=False), tb_writer=writer)
        if cfg.tracking.wandb:  # W&B only (no TensorBoard given): SB3's records reach it through TrackerOutput
            wb = make_tracker(cfg.tracking, wandb_dir=self.dir, name=cfg.stage, group=self.rundir.path.name,
                              config=asdict(cfg))
            self.model.logger.output_formats.append(TrackerOutput(wb))
            self.tracker = Trackers([self.tracker, wb])

    # -- learning curve ----------------------------------------------------------------------------------------
    def _rollouts(self) -> RolloutResult:
        """The rollouts of eval.episodes episodes (seeds eval.seed + i) of the stage's eval agent in the evaluation
        env, the first tracking.videos filmed and logged as eval/video_<i>."""
        cfg, videos = self.cfg, self.cfg.tracking.videos if self.tracker is not None else 0
        env = evaluation_env(cfg, render=videos > 0, size=cfg.tracking.video_size if videos else None)
        try:
            agent = self.setup.eval_agent(self.model, env)
            result = rollouts(env, agent, env_adapter(cfg.env).command, episodes=cfg.eval.episodes, seed=cfg.eval.seed,
                              videos=videos, frame_every=cfg.tracking.frame_every)
        finally:
            env.close()
        for i, clip in enumerate(result.videos):
            assert self.tracker is not None
            self.tracker.video(f"eval/video_{i}", clip, self.model.num_timesteps, result.fps)
        return result

    def evaluate(self, steps: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        chain: dict[str, float] = {}
        if self.setup.evaluate is not None:
            success = self.setup.evaluate(self.model, self.cfg.eval.episodes, self.cfg.eval.seed)
        else:
            result = self._rollouts()
            success = result.metrics["success_rate"]
            if any(r.task for r in result.episodes):  # an env with subtask chains (Tabletop): their length too
                chain["avg_chain_length"] = result.metrics["avg_chain_length"]
        train_s = self._train_seconds()
        point = {"env_steps": steps, "success_rate": success, **chain, "train_seconds": round(train_s, 1),
                 "env_steps_per_s": round(steps / max(train_s, 1e-9), 1)}
        for name, value in chain.items():
            self.model.logger.record(f"eval/{name}", value)
        for name, value in (self.setup.extra_eval(self.model) if self.setup.extra_eval is not None else {}).items():
            point[name] = value
            self.model.logger.record(f"eval/{name}", value)
        self.state["curve"].append(point)
        atomic_write_json(self.dir / "curve.json", self.state["curve"])
        self.model.logger.record("eval/success_rate", point["success_rate"])
        self.model.logger.record("hirl/env_steps", steps)
        self.model.logger.record("hirl/env_steps_per_s", point["env_steps_per_s"])
        self.model.logger.dump(self.model.num_timesteps)
        self.bar.set_postfix(success=f"{point['success_rate']:.2f}")
        self._eval_seconds += time.perf_counter() - t0
        return point

    # -- the stage ---------------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        Stage.start(self.cfg, self.rundir)
        self.dir.mkdir(parents=True, exist_ok=True)
        resumed = self._resume()
        if not resumed:
            self.model = self.setup.new_model(str(self.dir / "tb"))
            self.model.relabeler = self.setup.relabeler
        done = self.state["env_steps"]
        self._t0, self._base_seconds = time.perf_counter(), float(self.state["train_seconds"])
        self.bar = tqdm(total=self.cfg.steps, initial=done, desc=f"stage {self.cfg.stage}", unit="step",
                        disable=not self.cfg.progress, mininterval=2.0)
        if done < self.cfg.steps:
            try:
                self.model.learn(total_timesteps=10**12, callback=[StageCallback(self), *self.setup.callbacks],
                                 reset_num_timesteps=not resumed, tb_log_name="tb", log_interval=10)
            except BaseException:  # Ctrl-C, a crash: what was logged reaches the event files (a resume cuts them)
                self.model.logger.close()
                raise
        else:  # already finished (a re-run): reloading and re-saving is not training time
            self._t0, self._eval_seconds = time.perf_counter(), 0.0
        steps = self.env_steps()
        if not self.state["curve"] or self.state["curve"][-1]["env_steps"] != steps:
            self.evaluate(steps)
        self.bar.close()
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None
        out = self.out
        save_model(self.model, out)
        self.checkpoint(steps)
        summary = {"stage": self.cfg.stage, "env_steps": steps, "train_seconds": round(self._train_seconds(), 1),
                   "env_steps_per_s": round(steps / max(self._train_seconds(), 1e-9), 1),
                   "final_success_rate": self.state["curve"][-1]["success_rate"], "curve": self.state["curve"],
                   "relabel_counts": self._counts(), "model": str(out)}
        atomic_write_json(self.rundir.stage_summary_path(self.cfg.stage), summary)
        return summary
