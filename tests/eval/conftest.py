"""A tiny imitation run holding only the language low level (untrained: weights at their seeded init, normalisers
fitted on 2 expert episodes; hash text encoder), enough for oracle_high and its rewordings. About 1 s to build.
Evaluation episodes are 25 control steps of 1-subtask chains: this checks the plumbing of `hirl eval`, not learning."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hirl.config import save_config
from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.tables import build_tables, text_tables
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.encoders.text import TEXT_DIM
from hirl.encoders.text_factory import make_text_encoder
from hirl.integrations import adapter
from hirl.learn.components import ImitationComponent
from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig
from hirl.runs import RunDir
from hirl.runs.agents import component
from tests.runs.helpers import EPISODE_STEPS, OBS_KEYS, TABLETOP, TEXT_ENCODER

COLLECT = CollectSpec(episodes=2, seed=3, workers=1, chain_length=2)  # 2 expert episodes of 2-subtask chains


@pytest.fixture(scope="session")
def language_run(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    """RUN/models/low_language (untrained) and RUN/config.yaml: 2 evaluation chains of 1 subtask, 25 steps each."""
    root = tmp_path_factory.mktemp("language_run")
    data = root / "data"
    collect(CollectConfig(env=TABLETOP, episodes=COLLECT.episodes, seed=COLLECT.seed, workers=1,
                          chain_length=COLLECT.chain_length), data, progress=False)
    tables = build_tables(load_dataset(data, obs_keys=OBS_KEYS), OBS_KEYS)
    ad = adapter(TABLETOP)
    texts = text_tables(tables, make_text_encoder(TEXT_ENCODER, TEXT_DIM), MAX_SUBTASKS,
                        lambda text: ad.paraphrase_split(text)[0])
    run = RunDir(root / "run")
    save_config(RunConfig(dataset=str(data), collect=COLLECT, agents=["hier_language"], text_encoder=TEXT_ENCODER,
                          obs_keys=list(OBS_KEYS), env_kwargs={"max_episode_steps": EPISODE_STEPS},
                          eval=EvalSpec(episodes=2, chain_length=1, videos=0)), run.config_path)
    low = component("low_language")
    assert isinstance(low, ImitationComponent)
    torch.manual_seed(0)
    low.build(tables, texts, TEXT_ENCODER, OBS_KEYS).save(run.model_dir("low_language"))
    return run


def write(path: Path, text: str) -> Path:
    """text written to path (parents created); returns path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
