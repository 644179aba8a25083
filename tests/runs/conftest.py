"""Session-scoped fixture runs shared by the contract tests of tests/runs/ (what they hold: tests/runs/helpers.py):

    tabletop_data     4 expert episodes of 2-subtask Tabletop chains, a 32 px frame every 10 steps
    tables            its StepTables (with frames) and TextTables (hash encoder, training paraphrases)
    imitation_run     every registered imitation component built from the tables (untrained) in RUN/models/, the
                      adapt stage's components (other weights) in RUN/models/adapted/
    rl_run            the U maze trained by stages low -> plan -> high -> adapt -> flat, 200 env steps each
    rl_language_run   stage language on Tabletop, 100 env steps

Budgets are tiny on purpose (hash text encoder, 32 px frames, 16-unit SB3 nets): these runs check the plumbing of
every registry entry, not learning; all of them together take about 5 s."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from hirl.config import load_config, save_config
from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.tables import StepTables, TextTables, build_tables, text_tables
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.encoders.text import TEXT_DIM
from hirl.encoders.text_factory import make_text_encoder
from hirl.integrations import adapter
from hirl.learn.adapt import adaptable_agents
from hirl.learn.components import ImitationComponent
from hirl.learn.run_config import EvalSpec, RunConfig
from hirl.learn.validate import trainable_agents
from hirl.rl.config import RLRunConfig
from hirl.rl.stages import train_rl
from hirl.runs import RunDir
from hirl.runs.agents import component, recipe
from tests.runs.helpers import (
    COLLECT, EPISODE_STEPS, LANGUAGE_FAST, OBS_KEYS, RL_ADAPTED, RL_COMPONENTS, RL_FAST, RL_STAGES, TABLETOP, TEXT_ENCODER,
    FixtureRun, imitation_components,
)


@pytest.fixture(scope="session")
def tabletop_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 expert episodes of 2-subtask Tabletop chains with a 32 px frame every 10 steps (about 1 s to collect)."""
    path = tmp_path_factory.mktemp("tabletop") / "data"
    c = COLLECT
    collect(CollectConfig(env=TABLETOP, episodes=c.episodes, seed=c.seed, workers=c.workers, image_every=c.image_every,
                          image_size=c.image_size, chain_length=c.chain_length), path, progress=False)
    return path


@pytest.fixture(scope="session")
def tables(tabletop_data: Path) -> tuple[StepTables, TextTables]:
    """The training tables of the fixture dataset: StepTables with frames, TextTables with training paraphrases."""
    ds = load_dataset(tabletop_data, obs_keys=OBS_KEYS, images=True)
    t = build_tables(ds, OBS_KEYS)
    ad = adapter(TABLETOP)
    tt = text_tables(t, make_text_encoder(TEXT_ENCODER, TEXT_DIM), MAX_SUBTASKS, lambda text: ad.paraphrase_split(text)[0])
    return t, tt


def imitation_config(dataset: Path) -> RunConfig:
    """The imitation fixture run's config: every trainable agent, hash encoder, 25-step 1-subtask evaluation episodes."""
    return RunConfig(dataset=str(dataset), collect=COLLECT, agents=trainable_agents(), text_encoder=TEXT_ENCODER,
                     obs_keys=list(OBS_KEYS), env_kwargs={"max_episode_steps": EPISODE_STEPS},
                     eval=EvalSpec(episodes=1, chain_length=1, videos=0))


@pytest.fixture(scope="session")
def imitation_run(tmp_path_factory: pytest.TempPathFactory, tabletop_data: Path,
                  tables: tuple[StepTables, TextTables]) -> Iterator[FixtureRun]:
    """Every imitation component built from the tables (normalisers fitted, weights at their seeded init) and saved
    in RUN/models/; the components of the agents the adapt stage fine-tunes built again with another seed (other
    weights, as after fine-tuning) in RUN/models/adapted/."""
    run = RunDir(tmp_path_factory.mktemp("imitation") / "run")
    cfg = imitation_config(tabletop_data)
    save_config(cfg, run.config_path)
    names = imitation_components()
    adapted = {c for a in adaptable_agents(cfg) for c in recipe(a).components}
    for name in names:
        c = component(name)
        assert isinstance(c, ImitationComponent)
        torch.manual_seed(0)
        c.build(*tables, TEXT_ENCODER, OBS_KEYS).save(run.model_dir(name))
        if name in adapted:
            torch.manual_seed(1)
            c.build(*tables, TEXT_ENCODER, OBS_KEYS).save(run.model_dir(name, adapted=True))
    fixture = FixtureRun(run, frozenset(names), frozenset(adapted))
    yield fixture
    fixture.close()


@pytest.fixture(scope="session")
def rl_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureRun]:
    """One RL run directory on the U maze trained by stages low -> plan -> high -> adapt -> flat (about 3 s)."""
    run = RunDir(tmp_path_factory.mktemp("rl") / "run")
    for stage, extra in RL_STAGES:
        train_rl(load_config(RLRunConfig, None, [f"stage={stage}", *RL_FAST, *extra]), run)
    fixture = FixtureRun(run, RL_COMPONENTS, RL_ADAPTED)
    yield fixture
    fixture.close()


@pytest.fixture(scope="session")
def rl_language_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureRun]:
    """Stage language on Tabletop (hash encoder, 100 env steps): RUN/models/rl_language."""
    run = RunDir(tmp_path_factory.mktemp("rl_language") / "run")
    train_rl(load_config(RLRunConfig, None, LANGUAGE_FAST), run)
    fixture = FixtureRun(run, frozenset({"rl_language"}))
    yield fixture
    fixture.close()
