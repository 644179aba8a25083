"""Training imitation components with the one Trainer: which components the configured agents need, and
fitting one of them (its network, sampler and budget come from its registered ImitationComponent).
Weights land in RUN/models/<component>/ (PolicyModule.save), training state in RUN/train/<component>/."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hirl.curriculum import CurriculumSpec, stage_of_skill
from hirl.errors import InputError
from hirl.data.dataset import Dataset
from hirl.data.tables import StepTables, TextTables
from hirl.learn.components import ImitationComponent, head_of, imitation_component
from hirl.learn.imitation_data import GatherSampler
from hirl.learn.trainer import Trainer, TrainerConfig
from hirl.policies.heads import HeadConfig
from hirl.policies.module import PolicyModule
from hirl.runs import RunDir
from hirl.runs.agents import recipe
from hirl.tracking import RolloutSource
from hirl.weights import load_weights

VAL_SUBSET = 4096  # validation rows evaluated at every eval point (a fixed random subset)
VAL_CHUNK = 512  # rows per validation forward pass


def train_component(
    component: ImitationComponent, net: PolicyModule, train: tuple[StepTables, TextTables],
    val: tuple[StepTables, TextTables] | None, cfg: TrainerConfig, run: RunDir, stage: str | None = None,
    paraphrase_p: float = 0.0, rollouts: RolloutSource | None = None, curriculum: CurriculumSpec | None = None,
    sampler: Callable[[int, np.random.Generator], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fit net with the one Trainer, keep its best-on-validation weights, save it. Returns the fit summary.

    stage None: separate training, resumable in RUN/train/<component>, saved to RUN/models/<component>;
    a name (e.g. "adapt1"): a fine-tuning stage in RUN/train/<stage>/<component>, saved to
    RUN/models/adapted/<component>. paraphrase_p: goal-text paraphrase augmentation (components that train on
    paraphrases only). rollouts: the Trainer's rollout source (hirl.learn.rollouts), None = no rollouts.
    curriculum: a staged schedule over the segments' skills (hirl.curriculum) for a low level; None / shuffled = off.
    sampler: the training batch source instead of the component's own over `train` (e.g. hirl.learn.imitation_data's
    MixedSampler of weighted row families); curriculum and paraphrase_p then do not apply."""
    head = head_of(net)  # chunks / histories are sampled as the network's action head needs them
    train_sampler: Callable[[int, np.random.Generator], dict[str, Any]]
    if sampler is None:
        own = component.sampler(*train, cfg.batch_size, paraphrase_p if component.paraphrases else 0.0, head)
        if curriculum is not None and curriculum.staged and component.role == "low":
            stage_curriculum(own, curriculum, train[0].vocab, cfg.max_steps, component.name)
        train_sampler = own
    else:
        train_sampler = sampler
    val_batches = validation_batches(component, val, cfg.batch_size, head) if val is not None else None
    result = Trainer(net, cfg, run.train_dir(component.name, stage), train_sampler, val_batches, rollouts=rollouts).fit()
    if result.best_path is not None:
        load_weights(net, result.best_path)
    net.save(run.model_dir(component.name, adapted=stage is not None))
    return {"steps": result.steps_done, "best_val_loss": result.best_val_loss, "best_step": result.best_step,
            "last_train_loss": result.last_train_loss, "stopped_early": result.stopped_early}


def validation_batches(component: ImitationComponent, val: tuple[StepTables, TextTables], batch_size: int,
                       head: HeadConfig | None = None) -> Callable[[], list[dict[str, Any]]]:
    """() -> the validation batches of component over val: a fixed random subset of VAL_SUBSET samples (drawn with
    seed 0, so every call and every caller sees the same rows), in chunks of VAL_CHUNK."""
    val_sampler = component.sampler(*val, batch_size, head=head)
    rows = np.random.default_rng(0).integers(0, val_sampler.size, size=min(val_sampler.size, VAL_SUBSET))
    fixed = val_sampler.gather(rows)

    def fixed_batches() -> list[dict[str, Any]]:  # a fixed validation subset, evaluated in chunks
        n = len(next(iter(fixed.values())))
        return [{k: v[i:i + VAL_CHUNK] for k, v in fixed.items()} for i in range(0, n, VAL_CHUNK)]

    return fixed_batches


def stage_curriculum(sampler: GatherSampler, spec: CurriculumSpec, vocab: list[str], max_steps: int, name: str) -> None:
    """Make sampler draw step s's rows from the skills of stages <= spec.stage_of_step(s, max_steps); print the plan."""
    skill_stage = stage_of_skill(spec, vocab)
    rows = sampler.set_curriculum(skill_stage, lambda step: spec.stage_of_step(step, max_steps), len(spec.stages))
    added = [[v for v, s in zip(vocab, skill_stage, strict=True) if s == k] for k in range(len(rows))]
    if not all(rows):
        empty = rows.index(0)
        raise InputError(f"curriculum.stages: stage {empty} has no training rows of {name} (its skills: {added[empty]})")
    for k, (n, skills, first) in enumerate(zip(rows, added, spec.stage_starts(max_steps), strict=True)):
        print(f"curriculum {name}: stage {k} from step {first}: {n} rows in play, adds {skills}")


def components_for(agents: list[str]) -> list[ImitationComponent]:
    """The imitation components the agents are made of, each once, in first-use order (low level before high)."""
    names = list(dict.fromkeys(c for a in agents for c in recipe(a).components))
    return [imitation_component(c) for c in names]


def split_dataset(ds: Dataset, val_fraction: float, seed: int) -> tuple[Dataset, Dataset | None]:
    if val_fraction <= 0 or len(ds) < 5:
        return ds, None
    return ds.split(val_fraction, seed)
