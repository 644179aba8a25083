"""`hirl train` of an imitation run: dataset (collected if missing) -> tables -> every network the configured agents
need -> RUN/models."""
from __future__ import annotations

import dataclasses
import json
import time
import zlib
from pathlib import Path
from typing import Any

import torch

from hirl.config import FieldError, save_config
from hirl.curriculum import stage_of_skill
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig, CollectSettings
from hirl.data.dataset import Dataset, load_dataset
from hirl.data.tables import StepTables, TextTables, build_tables, text_tables
from hirl.devices import resolve_device
from hirl.encoders.text import TEXT_DIM, TextEncoder
from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.integrations import adapter as env_adapter
from hirl.learn.components import ImitationComponent
from hirl.learn.imitation import components_for, split_dataset, train_component
from hirl.learn.rollouts import component_rollouts
from hirl.learn.run_config import RunConfig
from hirl.learn.validate import validate
from hirl.runs import RunDir
from hirl.runs.rundir import as_run_dir
from hirl.runs.agents import recipe
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.encoders.text_factory import make_text_encoder


def ensure_dataset(cfg: RunConfig, progress: bool = True) -> Path:
    """The dataset at cfg.dataset, collected with cfg.collect first if the path does not exist; an unfinished
    collection there (its journal left by a kill or Ctrl-C, beside the partial dataset it saved) is resumed first,
    never trained on as it is."""
    path = Path(cfg.dataset)
    unfinished = (path / "journal").exists()
    if not (path / "data").exists() or unfinished:
        if unfinished:
            print(f"{path}: an unfinished collection (its journal is there); resuming it before training")
        settings = {f.name: getattr(cfg.collect, f.name) for f in dataclasses.fields(CollectSettings)}
        collect(CollectConfig(env=cfg.env, env_kwargs=dict(cfg.env_kwargs), **settings), path, resume=unfinished,
                progress=progress)
    return path


def needs_images(cfg: RunConfig) -> bool:
    """Whether any configured agent sees camera frames (its components train on the dataset's images)."""
    return any(recipe(a).renders() for a in cfg.agents)


def load_tables(cfg: RunConfig, path: Path) -> tuple[tuple[StepTables, TextTables], tuple[StepTables, TextTables] | None, Any]:
    """Train/validation tables (split by episode) and the text encoder."""
    ds = load_dataset(path, obs_keys=tuple(cfg.obs_keys), images=cfg.collect.image_every > 0 or needs_images(cfg))
    if ds.meta.get("env_id") not in (None, cfg.env):
        raise InputError(f"{path}: dataset was collected on {ds.meta.get('env_id')!r}, the config says env {cfg.env!r}")
    train_ds, val_ds = split_dataset(ds, cfg.val_fraction, cfg.seed)
    encoder = make_text_encoder(cfg.text_encoder, TEXT_DIM)
    env = env_adapter(cfg.env)
    paraphrases = cfg.training_phrasings(env.paraphrase_split)
    keys = tuple(cfg.obs_keys)
    return (_tables(train_ds, keys, encoder, paraphrases),
            (_tables(val_ds, keys, encoder, None) if val_ds is not None else None), encoder)


def _tables(ds: Dataset, obs_keys: tuple[str, ...], encoder: TextEncoder, paraphrases: Any) -> tuple[StepTables, TextTables]:
    t = build_tables(ds, obs_keys)
    return t, text_tables(t, encoder, MAX_SUBTASKS, paraphrases)


def init_seed(seed: int, component: str) -> int:
    """The torch seed a component's network is initialised with: from the run's seed and the component's name, so a
    config gives the same weights in `hirl train`, `hirl demo` or a script, whatever the process did before."""
    return (int(seed) * 1_000_003 + zlib.crc32(component.encode())) % 2**31


def check_before_work(cfg: RunConfig) -> list[ImitationComponent]:
    """The components of cfg.agents, configured from cfg, after checking the names the run looks up later: the
    registry names (hirl.learn.validate), the `networks:` entries and their fields (FieldError naming the key), so a
    typo fails before a collection or a training starts (`hirl train` runs it first through ImitationKind.check; the
    env is checked by hirl.commands.arguments.check_run_config)."""
    validate(cfg)
    components = components_for(cfg.agents)
    names = [c.name for c in components]
    for name in cfg.networks:
        if name not in names:
            raise FieldError(f"networks.{name}", f"not a component of the run's agents ({', '.join(names)})")
    for component in components:
        component.configure(cfg)
        component.set_network_fields(cfg.networks.get(component.name, {}))
    return components


def train_run(cfg: RunConfig, run: str | Path | RunDir, progress: bool = True) -> dict[str, Any]:
    """Train every component of cfg.agents into RUN/models; resumable (each network's Trainer resumes)."""
    run = as_run_dir(run)
    start = time.perf_counter()
    for budget in dataclasses.fields(cfg.train):  # an absent GPU is one line now, not after the collection
        resolve_device(getattr(cfg.train, budget.name).device, f"train.{budget.name}.device")
    components = check_before_work(cfg)  # every name in the config, before minutes of collection
    path = ensure_dataset(cfg, progress)
    train, val, encoder = load_tables(cfg, path)  # a bad dataset fails here, before anything is written to the run
    if cfg.curriculum.staged:  # every skill of the dataset in one stage, checked before anything is written
        stage_of_skill(cfg.curriculum, train[0].vocab)
    run.path.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run.config_path)
    run.summary_path.unlink(missing_ok=True)  # written again at the end: its presence says the training finished
    summary: dict[str, Any] = {"dataset": str(path), "train_steps": len(train[0].obs), "vocabulary": train[0].vocab,
                               "components": {}}
    trained: list[str] = []
    for component in components:
        torch.manual_seed(init_seed(cfg.seed, component.name))  # the network's initial weights: whatever ran before
        net = component.build(train[0], train[1], cfg.text_encoder, tuple(cfg.obs_keys), cfg.head)
        t0 = time.perf_counter()
        if not component.trained:  # fitted by build(): saved as it is
            net.save(run.model_dir(component.name))
            result: dict[str, Any] = {"steps": 0}
        else:
            trainer_cfg = component.budget(cfg.train)
            result = train_component(component, net, train, val, trainer_cfg, run, paraphrase_p=cfg.paraphrase_augment,
                                     rollouts=component_rollouts(cfg, run, component, net, trainer_cfg, trained, encoder),
                                     curriculum=cfg.curriculum)
        trained.append(component.name)
        result["seconds"] = round(time.perf_counter() - t0, 1)
        result["parameters"] = net.num_parameters()
        summary["components"][component.name] = result
        print(f"trained {component.name}: {json.dumps(result)}")
    if cfg.adapt.enabled:
        from hirl.learn.adapt import adapt_run

        summary["adapt"] = adapt_run(cfg, run, train, val, encoder, progress)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    atomic_write_json(run.summary_path, summary)
    return summary
