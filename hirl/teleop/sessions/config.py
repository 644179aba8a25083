"""Typed configs of correction sessions and the correction loop (YAML via hirl.config.load_config)."""
from __future__ import annotations

from dataclasses import dataclass, field

from hirl.config import FieldError, at_least, in_range
from hirl.data.collect_config import MAX_CHAIN_LENGTH, MAX_IMAGE_SIZE
from hirl.learn.corrections_config import FinetuneSpec

__all__ = ["CorrectionLoopConfig", "FinetuneSpec", "ScriptedCorrectorConfig", "SessionConfig"]


MODES = ("language", "takeover", "mixed")  # what kinds of intervention the scripted corrector makes


@dataclass(frozen=True)
class ScriptedCorrectorConfig:
    """The scripted corrector: a stand-in for a person watching the robot with the env's task state as ground truth."""

    reaction_steps: int = 10  # control steps (50 Hz) a wrong or stale subgoal persists before the corrector reacts (0.2 s)
    miss_rate: float = 0.0  # probability a due correction is not made (tried again after another reaction delay)
    paraphrase: float = 0.0  # probability a correction is worded as one of the env's shipped paraphrases
    seed: int = 0  # seed of the miss / paraphrase draws
    mode: str = "language"  # language: type only | takeover: drive only | mixed: type when wrong, drive when stalled
    stall_steps: int = 150  # steps the right subgoal may run without finishing its subtask before a takeover (3 s)
    takeover_steps: int = 200  # longest takeover (steps); it also ends when the chain advances

    def __post_init__(self) -> None:
        at_least("reaction_steps", self.reaction_steps, 0)
        if self.mode not in MODES:
            raise FieldError("mode", f"{self.mode!r} is not one of {', '.join(MODES)}")
        at_least("stall_steps", self.stall_steps, 1)
        at_least("takeover_steps", self.takeover_steps, 1)
        for name in ("miss_rate", "paraphrase"):
            in_range(name, getattr(self, name), 0.0, 1.0)


@dataclass(frozen=True)
class CorrectionLoopConfig:
    """Rounds of (roll out with the scripted corrector -> fine-tune the high level on all corrections -> evaluate)."""

    episodes: list[int] = field(default_factory=lambda: [10, 20, 70])  # corrected episodes per round (cumulative 10, 30, 100)
    chain_length: int = 5  # subtasks per rollout and evaluation chain
    rollout_seed: int = 70_000  # base seed of corrected rollouts (disjoint from collection, adapt and evaluation seeds)
    eval_episodes: int = 30  # evaluation chains after each round (the run's eval seeds)
    corrector: ScriptedCorrectorConfig = field(default_factory=ScriptedCorrectorConfig)  # who corrects
    finetune: FinetuneSpec = field(default_factory=FinetuneSpec)  # how the levels learn from interventions
    low_dataset: str = ""  # the low level's own demonstrations, mixed with takeover rows ("": the run's dataset)
    agent: str = "hier_language"  # the run's agent the loop corrects: a two-level learned hierarchy (language or state)

    def __post_init__(self) -> None:
        if not self.episodes or min(self.episodes) < 1:
            raise FieldError("episodes", f"list at least one round, each >= 1 episode, got {self.episodes}")
        in_range("chain_length", self.chain_length, 1, MAX_CHAIN_LENGTH)
        at_least("eval_episodes", self.eval_episodes, 0)


@dataclass(frozen=True)
class SessionConfig:
    """A live session (`hirl correct`, `hirl teleop`)."""

    speed: float = 1.0  # simulated seconds per wall-clock second (1.0: real time at 50 Hz)
    max_fps: float = 15.0  # camera frames rendered per second and view at most (checked per 20 ms step: >= 10 delivered)
    auto_pause_steps: int = 10  # pause when the active subgoal has differed from the subtask due this many steps (0: never)
    image_size: int = 256  # camera width = height in pixels
    chain_length: int = 5  # subtasks per chain
    seed: int = 200_000  # base seed of session episodes
    max_text: int = 200  # longest accepted correction / label, in characters
    match_threshold: float = 0.6  # cosine similarity an unknown instruction needs to a known skill to be accepted
    match_margin: float = 0.05  # lead over the second-closest skill an embedding match needs (refuses near-misses)
    teleop_speed: float = 1.0  # action magnitude of a held movement key (actions are in [-1, 1])
    key_timeout: float = 0.5  # seconds without a key update after which teleop motion stops
    teleop_subtask_seconds: float = 60.0  # Tabletop teleop: time per subtask before the env fails the chain (subtask_budget)
    eval_episodes: int = 20  # chains in the before/after report when a correction session finishes
    finetune: FinetuneSpec = field(default_factory=FinetuneSpec)  # fine-tuning at the end of a correction session
    allowed_hosts: list[str] = field(default_factory=list)  # more Host names the page may be reached by (e.g. a tunnel's)

    def __post_init__(self) -> None:
        for name in ("speed", "max_fps"):
            if not getattr(self, name) > 0:
                raise FieldError(name, f"must be > 0, got {getattr(self, name)}")
        in_range("image_size", self.image_size, 16, MAX_IMAGE_SIZE)
        at_least("auto_pause_steps", self.auto_pause_steps, 0)
        in_range("chain_length", self.chain_length, 1, MAX_CHAIN_LENGTH)
        at_least("max_text", self.max_text, 1)
        if not 0.0 < self.match_threshold <= 1.0:
            raise FieldError("match_threshold", f"must be in (0, 1], got {self.match_threshold}")
        if not 0.0 <= self.match_margin < 1.0:
            raise FieldError("match_margin", f"must be in [0, 1), got {self.match_margin}")
