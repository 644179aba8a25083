"""`hirl train`: dataset (collected if missing) -> tables -> every network the configured agents need -> RUN/models."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from hirl.config import save_config
from hirl.data.collect import CollectConfig, collect
from hirl.data.dataset import Dataset, load_dataset
from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.integrations import adapter as env_adapter
from hirl.learn.imitation import build_network, budget_for, components_for, split_dataset, train_component
from hirl.learn.imitation_data import StepTables, TextTables, build_tables, text_tables
from hirl.learn.run_config import RunConfig
from hirl.policies.features import MAX_SUBTASKS, make_text_encoder

TEXT_DIM = 384  # MiniLM embedding size; the hash test encoder is built at the same size


def ensure_dataset(cfg: RunConfig, progress: bool = True) -> Path:
    """The dataset at cfg.dataset, collected with cfg.collect first if the path does not exist."""
    path = Path(cfg.dataset)
    if not (path / "data").exists():
        c = cfg.collect
        collect(CollectConfig(env=cfg.env, episodes=c.episodes, seed=c.seed, workers=c.workers, image_every=c.image_every,
                              image_size=c.image_size, noise=c.noise, chain_length=c.chain_length,
                              env_kwargs=dict(cfg.env_kwargs)), path,
                resume=(path / "journal").exists(), progress=progress)
    return path


def load_tables(cfg: RunConfig, path: Path) -> tuple[tuple[StepTables, TextTables], tuple[StepTables, TextTables] | None, Any]:
    """Train/validation tables (split by episode) and the text encoder."""
    ds = load_dataset(path, obs_keys=tuple(cfg.obs_keys), images=cfg.collect.image_every > 0 or "hier_image" in cfg.agents)
    if ds.meta.get("env_id") not in (None, cfg.env):
        raise InputError(f"{path}: dataset was collected on {ds.meta.get('env_id')!r}, the config says env {cfg.env!r}")
    train_ds, val_ds = split_dataset(ds, cfg.val_fraction, cfg.seed)
    encoder = make_text_encoder(cfg.text_encoder, TEXT_DIM)
    env = env_adapter(cfg.env)
    paraphrases = (lambda text: env.paraphrase_split(text)[0]) if cfg.paraphrase_augment > 0 else None  # noqa: E731
    keys = tuple(cfg.obs_keys)
    return (_tables(train_ds, keys, encoder, paraphrases),
            (_tables(val_ds, keys, encoder, None) if val_ds is not None else None), encoder)


def _tables(ds: Dataset, obs_keys: tuple[str, ...], encoder: Any, paraphrases: Any) -> tuple[StepTables, TextTables]:
    t = build_tables(ds, obs_keys)
    return t, text_tables(t, encoder, MAX_SUBTASKS, paraphrases)


def train_run(cfg: RunConfig, run_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Train every component of cfg.agents into run_dir/models; resumable (each network's Trainer resumes)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    start = time.perf_counter()
    path = ensure_dataset(cfg, progress)
    train, val, encoder = load_tables(cfg, path)
    summary: dict[str, Any] = {"dataset": str(path), "train_steps": int(len(train[0].obs)), "vocabulary": train[0].vocab,
                               "components": {}}
    for component in components_for(cfg.agents):
        budget = budget_for(component, cfg.train)
        net = build_network(component, train[0], train[1], cfg.text_encoder, tuple(cfg.obs_keys))
        t0 = time.perf_counter()
        result = train_component(component, net, train, val, budget, run_dir, paraphrase_p=cfg.paraphrase_augment)
        result["seconds"] = round(time.perf_counter() - t0, 1)
        result["parameters"] = net.num_parameters()
        summary["components"][component] = result
        print(f"trained {component}: {json.dumps(result)}")
    if cfg.adapt.enabled:
        from hirl.learn.adapt import adapt_run

        summary["adapt"] = adapt_run(cfg, run_dir, train, val, encoder, progress)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    atomic_write_json(run_dir / "train_summary.json", summary)
    return summary
