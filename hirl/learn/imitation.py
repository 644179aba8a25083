"""Hierarchical behaviour cloning and its baselines: which networks each agent needs, how each is built from
the data, and training them with the one Trainer. Weights land in RUN/models/<component>/ (PolicyModule.save)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hirl.data.dataset import Dataset
from hirl.learn.checkpoint import load_weights
from hirl.learn.imitation_data import StepTables, TextTables, sampler_for
from hirl.learn.trainer import Trainer, TrainerConfig
from hirl.policies.features import DEFAULT_OBS_KEYS, PolicyModule
from hirl.policies.flat import ChainOfThoughtPolicy, CoTConfig, FlatConfig, FlatPolicy
from hirl.policies.high.image import ImageGenConfig, ImageGoalGenerator
from hirl.policies.high.language import LanguageGoalNet, LanguageHLConfig
from hirl.policies.high.state import StateGoalNet, StateHLConfig
from hirl.policies.low.bc import BCConfig, GoalConditionedBC

# agent name -> the components (networks) it is made of
AGENTS: dict[str, tuple[str, ...]] = {
    "hier_language": ("low_language", "high_language"),
    "hier_state": ("low_state", "high_state"),
    "hier_image": ("low_image", "high_image"),
    "flat": ("flat",),
    "cot": ("cot",),
}


@dataclass
class TrainingBudgets:
    """One TrainerConfig per kind of network (low levels, high levels, whole-task baselines, image generator)."""

    low: TrainerConfig = field(default_factory=lambda: TrainerConfig(max_steps=3000, batch_size=256, lr=1e-3, eval_every=500, checkpoint_every=500))  # low-level BC
    high: TrainerConfig = field(default_factory=lambda: TrainerConfig(max_steps=2000, batch_size=256, lr=1e-3, eval_every=500, checkpoint_every=500))  # high-level policies
    baseline: TrainerConfig = field(default_factory=lambda: TrainerConfig(max_steps=3000, batch_size=256, lr=1e-3, eval_every=500, checkpoint_every=500))  # flat and chain-of-thought
    image: TrainerConfig = field(default_factory=lambda: TrainerConfig(max_steps=1500, batch_size=32, lr=1e-3, eval_every=500, checkpoint_every=500))  # goal-image generator
    low_image: TrainerConfig = field(default_factory=lambda: TrainerConfig(max_steps=3000, batch_size=64, lr=1e-3, eval_every=500, checkpoint_every=500))  # image-goal low level (a CNN per sample: smaller batches)


def budget_for(component: str, budgets: TrainingBudgets) -> TrainerConfig:
    if component == "high_image":
        return budgets.image
    if component == "low_image":
        return budgets.low_image
    if component.startswith("low_"):
        return budgets.low
    if component.startswith("high_"):
        return budgets.high
    return budgets.baseline


def build_network(component: str, t: StepTables, tt: TextTables, text_encoder: str,
                  obs_keys: tuple[str, ...] = DEFAULT_OBS_KEYS) -> PolicyModule:
    """A fresh network for component, sized from the data (t.obs built from obs_keys), with its input normalisers fitted."""
    S, A, G = t.obs.shape[1], t.action.shape[1], t.goal_state.shape[1]
    E = tt.vocab_emb.shape[1]
    if component.startswith("low_"):
        kind = component.removeprefix("low_")
        net = GoalConditionedBC(BCConfig(goal_kind=kind, obs_dim=S, action_dim=A, goal_dim=G, text_dim=E, text_encoder=text_encoder, obs_keys=obs_keys))
        texts = tt.vocab_emb if tt.paraphrase_emb is None or not len(tt.paraphrase_emb) else np.concatenate([tt.vocab_emb, tt.paraphrase_emb])
        return net.fit(t.obs, t.goal_state, texts)
    if component == "high_language":
        net = LanguageGoalNet(LanguageHLConfig(obs_dim=S, text_dim=E, text_encoder=text_encoder, obs_keys=obs_keys), t.vocab, tt.vocab_emb)
        return net.fit(t.obs, tt.vocab_emb)
    if component == "high_state":
        return StateGoalNet(StateHLConfig(obs_dim=S, goal_dim=G, text_dim=E, text_encoder=text_encoder, obs_keys=obs_keys)).fit(t.obs, t.goal_state, tt.vocab_emb)
    if component == "high_image":
        return ImageGoalGenerator(ImageGenConfig(text_dim=E, text_encoder=text_encoder)).fit(tt.vocab_emb)
    if component == "flat":
        return FlatPolicy(FlatConfig(obs_dim=S, action_dim=A, text_dim=E, text_encoder=text_encoder, obs_keys=obs_keys)).fit(t.obs, tt.vocab_emb)
    if component == "cot":
        net = ChainOfThoughtPolicy(CoTConfig(obs_dim=S, action_dim=A, text_dim=E, text_encoder=text_encoder, obs_keys=obs_keys), t.vocab, tt.vocab_emb)
        return net.fit(t.obs, tt.vocab_emb)
    raise ValueError(f"unknown component {component!r} (known: {sorted({c for cs in AGENTS.values() for c in cs})})")


def train_component(
    component: str, net: PolicyModule, train: tuple[StepTables, TextTables], val: tuple[StepTables, TextTables] | None,
    cfg: TrainerConfig, run_dir: Path, stage: str | None = None, paraphrase_p: float = 0.0,
) -> dict[str, Any]:
    """Fit net with the one Trainer, keep its best-on-validation weights, save it. Returns the fit summary.

    stage None: separate training, resumable in run_dir/train/<component>, saved to run_dir/models/<component>;
    a name (e.g. "adapt1"): a fine-tuning stage in run_dir/train/<stage>/<component>, saved to
    run_dir/models/adapted/<component>. paraphrase_p: goal-text paraphrase augmentation (low_language only)."""
    train_sampler = sampler_for(component, *train, cfg.batch_size, paraphrase_p if component == "low_language" else 0.0)
    val_batches = None
    if val is not None:
        val_sampler = sampler_for(component, *val, cfg.batch_size)
        fixed = val_sampler.gather(np.random.default_rng(0).integers(0, val_sampler.size, size=min(val_sampler.size, 4096)))
        val_batches = lambda: [  # noqa: E731  a fixed validation subset, evaluated in chunks
            {k: v[i:i + 512] for k, v in fixed.items()} for i in range(0, len(next(iter(fixed.values()))), 512)
        ]
    train_dir = run_dir / "train" / (stage or "") / component
    result = Trainer(net, cfg, train_dir, train_sampler, val_batches).fit()
    if result.best_path is not None:
        load_weights(net, result.best_path)
    net.save(model_dir(run_dir, component, adapted=stage is not None))
    return {"steps": result.steps_done, "best_val_loss": result.best_val_loss, "best_step": result.best_step,
            "last_train_loss": result.last_train_loss, "stopped_early": result.stopped_early}


def model_dir(run_dir: Path, component: str, adapted: bool = False) -> Path:
    """Where a trained component lives: RUN/models/<component>, or RUN/models/adapted/<component> after adapt."""
    return run_dir / "models" / ("adapted" if adapted else "") / component


def load_network(component: str, directory: Path) -> PolicyModule:
    """A saved component network (the class is chosen by the component name)."""
    if component.startswith("low_"):
        return GoalConditionedBC.load(directory)
    classes = {"high_language": LanguageGoalNet, "high_state": StateGoalNet, "high_image": ImageGoalGenerator,
               "flat": FlatPolicy, "cot": ChainOfThoughtPolicy}
    if component not in classes:
        raise ValueError(f"unknown component {component!r}")
    return classes[component].load(directory)


def components_for(agents: list[str]) -> list[str]:
    unknown = [a for a in agents if a not in AGENTS]
    if unknown:
        raise ValueError(f"unknown agent(s) {unknown} (known: {sorted(AGENTS)})")
    return list(dict.fromkeys(c for a in agents for c in AGENTS[a]))


def split_dataset(ds: Dataset, val_fraction: float, seed: int) -> tuple[Dataset, Dataset | None]:
    if val_fraction <= 0 or len(ds) < 5:
        return ds, None
    return ds.split(val_fraction, seed)

