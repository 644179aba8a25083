"""The config of an imitation run (`hirl train`, `hirl eval`, `hirl demo`): data, agents, budgets, replanning,
evaluation. The constructors check the fields themselves; the names the config looks up in registries (agents, text
encoder, replan rule) are checked by hirl.learn.validate.validate, which the commands call."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hirl.config import FieldError, at_least, in_range
from hirl.curriculum import CurriculumSpec
from hirl.data.collect_config import MAX_CHAIN_LENGTH, MAX_IMAGE_SIZE, CollectSettings
from hirl.data.instruction_variants import with_variants
from hirl.hierarchy.replan import ReplanConfig, ReplanSpec
from hirl.learn.trainer import TrainerConfig
from hirl.policies.heads import HeadConfig


@dataclass(frozen=True)
class CollectSpec(CollectSettings):
    """Expert demonstrations collected when the dataset path does not exist yet: the collection settings
    (hirl.data.collect_config.CollectSettings) with a run's defaults; env and env_kwargs are the run config's."""

    episodes: int = 200  # expert episodes (a run's default; `hirl collect` requires the number)
    image_size: int = 64  # stored frame width and height in pixels (a run's default; image agents need image_every >= 1)


@dataclass(frozen=True)
class AdaptSpec:
    """The adapt stage after separate training (DAgger against the scripted expert's labels)."""

    enabled: bool = False  # False: "separate only"; True: "separate + adapt"
    rounds: int = 2  # roll out -> relabel -> fine-tune rounds
    episodes: int = 20  # on-policy episodes per round
    steps: int = 800  # fine-tuning optimizer steps per network per round
    lr: float = 3e-4  # fine-tuning learning rate (constant)


@dataclass(frozen=True)
class EvalSpec:
    """CALVIN-style chained evaluation."""

    episodes: int = 50  # evaluation chains
    chain_length: int = 5  # subtasks per evaluation chain
    seed: int = 100_000  # base seed of evaluation episodes (disjoint from collection seeds)
    videos: int = 1  # first episodes filmed per agent; > 0 also films the first failed episode (0: no videos)
    frame_every: int = 4  # control steps between video frames
    video_size: int = 320  # camera size for videos, rendered at display size (image agents: the dataset's image size)

    def __post_init__(self) -> None:
        in_range("chain_length", self.chain_length, 1, MAX_CHAIN_LENGTH)
        at_least("videos", self.videos, 0)
        at_least("frame_every", self.frame_every, 1)
        in_range("video_size", self.video_size, 8, MAX_IMAGE_SIZE)


MAX_SUBGOAL_HORIZON = 1000  # steps: longer than any Tabletop chain (5 subtasks x 250-step budgets)


@dataclass(frozen=True)
class SubgoalSpec:
    """Short-horizon state subgoals (the `*_ahead` components and agents; HIQL's k): the high level proposes the
    achieved goal `horizon` steps ahead, the low level is trained to reach goals that far ahead, and the agent asks
    its high level again every `replan_every` steps (and whenever the run's replan rule fires)."""

    horizon: int = 10  # k: steps ahead of a subgoal (HIQL: 10 for manipulation, 25 for mazes)
    replan_every: int | None = None  # control steps between high-level queries; null = every `horizon` steps

    def __post_init__(self) -> None:
        in_range("horizon", self.horizon, 1, MAX_SUBGOAL_HORIZON)
        if self.replan_every is not None:
            in_range("replan_every", self.replan_every, 1, MAX_SUBGOAL_HORIZON)

    @property
    def interval(self) -> int:
        """Control steps between the high level's queries."""
        return self.replan_every if self.replan_every is not None else self.horizon


def _budget(max_steps: int, batch_size: int) -> Callable[[], TrainerConfig]:
    """default_factory of a TrainingBudgets entry: lr 1e-3, validation and a checkpoint every 500 steps."""
    return lambda: TrainerConfig(max_steps=max_steps, batch_size=batch_size, lr=1e-3, eval_every=500, checkpoint_every=500)


@dataclass
class TrainingBudgets:
    """One TrainerConfig per kind of network (low levels, high levels, whole-task baselines, image generator);
    each imitation component names the entry that trains it (ImitationComponent.budget_field)."""

    low: TrainerConfig = field(default_factory=_budget(3000, 256))  # low-level BC
    high: TrainerConfig = field(default_factory=_budget(2000, 256))  # high-level policies
    baseline: TrainerConfig = field(default_factory=_budget(3000, 256))  # flat and chain-of-thought
    image: TrainerConfig = field(default_factory=_budget(1500, 32))  # goal-image generator
    low_image: TrainerConfig = field(default_factory=_budget(3000, 64))  # image-goal low level (CNN per sample: small batches)


@dataclass
class RunConfig:
    kind: str = "imitation"  # run kind (hirl.runs.RUN_KINDS); `kind: rl` configs are RLRunConfig
    imports: list[str] = field(default_factory=list)  # plugin modules imported first (they register envs, agents, rules)
    env: str = "hirl/Tabletop-v0"  # environment id
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # extra gym.make arguments (collection, eval, adapt; e.g. layout)
    dataset: str = "runs/data/tabletop"  # dataset path; collected with `collect` when missing
    collect: CollectSpec = field(default_factory=CollectSpec)  # how to collect the dataset if missing
    agents: list[str] = field(default_factory=lambda: ["hier_language", "flat"])  # agents to train and evaluate
    # Dict obs entries the policies read, concatenated: Tabletop's state + touch flags, no velocity (docs/imitation.md)
    obs_keys: list[str] = field(default_factory=lambda: ["observation", "touch"])
    text_encoder: str = "text"  # goal/command text encoder: text (MiniLM) | hash (tests only)
    paraphrase_augment: float = 0.5  # P(low-level goal text -> a training paraphrase) per sample; 0 = instructions as recorded
    # templated variants per instruction (verbs, word dropout, objects, politeness: hirl.data.instruction_variants)
    # added to the env's training paraphrases that paraphrase_augment draws from; 0 = the shipped paraphrases only
    instruction_variants: int = 0
    val_fraction: float = 0.1  # episodes held out for validation / early stopping
    seed: int = 0  # seed of splits and training
    train: TrainingBudgets = field(default_factory=TrainingBudgets)  # optimizer budgets per network kind
    head: HeadConfig = field(default_factory=HeadConfig)  # action head of the low levels, flat and cot (hirl.policies.heads)
    # network config fields per component, over its own (e.g. {gciql_cpu: {normalize: false}}); goal-conditioned ones
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    curriculum: CurriculumSpec = field(default_factory=CurriculumSpec)  # low levels' skill schedule (hirl.curriculum)
    subgoals: SubgoalSpec = field(default_factory=SubgoalSpec)  # k-steps-ahead state subgoals (the *_ahead agents)
    # the hierarchical agents' replan rule: today's fields (ReplanConfig), or {rule: NAME, ...} of any registered rule
    replan: ReplanSpec = field(default_factory=lambda: ReplanConfig(detector="chain_progress", timeout=300))
    adapt: AdaptSpec = field(default_factory=AdaptSpec)  # separate only vs separate + adapt
    eval: EvalSpec = field(default_factory=EvalSpec)  # evaluation protocol

    def training_phrasings(self, paraphrase_split: Callable[[str], tuple[list[str], list[str]]]
                           ) -> Callable[[str], list[str]] | None:
        """text -> the phrasings goal-text augmentation draws from (the env adapter's training paraphrases, plus
        instruction_variants templated ones), or None when paraphrase_augment is off."""
        if self.paraphrase_augment <= 0:
            return None
        return with_variants(lambda text: paraphrase_split(text)[0], self.instruction_variants, self.seed)

    def __post_init__(self) -> None:
        if self.kind != "imitation":
            raise ValueError(f"kind must be 'imitation' for an imitation config, got {self.kind!r}")
        if not self.dataset.strip():
            raise FieldError("dataset", "empty path (it would collect into the working folder); name the dataset folder")
        if not self.obs_keys:
            raise FieldError("obs_keys", "name at least one observation entry")
        if not self.agents:
            raise FieldError("agents", "name at least one agent")
        for name in ("agents", "obs_keys"):
            twice = sorted({x for x in getattr(self, name) if getattr(self, name).count(x) > 1})
            if twice:
                raise FieldError(name, f"{', '.join(map(repr, twice))} listed more than once")
        if not 0 <= self.paraphrase_augment <= 1:
            raise ValueError(f"paraphrase_augment must be in [0, 1], got {self.paraphrase_augment}")
        for name, fields in self.networks.items():
            if isinstance(fields, dict) and float(fields.get("command_augment", 0) or 0) > 0 and self.paraphrase_augment <= 0:
                raise FieldError(f"networks.{name}.command_augment", "needs paraphrase_augment > 0 (the run builds the "
                                 "training phrasings only then)")
        if self.instruction_variants < 0:
            raise FieldError("instruction_variants", f"must be >= 0, got {self.instruction_variants}")
        if not 0 <= self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in [0, 0.5), got {self.val_fraction}")
