"""Staged vs shuffled schedules (hirl.curriculum): stage boundaries, skill matching, the imitation low level's sampler
drawing only the skills in play (end to end through train_run), and the RL low level's staged goal radius."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hirl.config import ConfigError, load_config
from hirl.curriculum import CurriculumSpec, stage_at, stage_of_skill
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.errors import InputError
from hirl.learn.imitation_data import GatherSampler
from hirl.learn.run import train_run
from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig, TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.rl.config import RLRunConfig
from hirl.rl.envs import GoalCurriculum
from hirl.runs import RunDir

STAGES = [["push the button", "turn * the light"], ["* the drawer"], ["*"]]


def test_stage_boundaries_split_the_fraction_equally() -> None:
    # 3 stages over the first half: [0, 1/6) stage 0, [1/6, 1/3) stage 1, from 1/3 on the last stage
    assert [stage_at(p, 3, 0.5) for p in (0.0, 0.16, 0.17, 0.33, 0.34, 0.5, 1.0)] == [0, 0, 1, 1, 2, 2, 2]
    assert stage_at(0.0, 3, 0.0) == 2  # no curriculum share: everything from the start
    spec = CurriculumSpec(schedule="shuffled", stages=STAGES)
    assert spec.stage_at(0.0) == 2  # shuffled: every stage (all skills) from the first step
    staged = CurriculumSpec(schedule="staged", stages=[*STAGES, ["*"]], fraction=0.5)
    assert staged.stage_starts(12000) == [1, 1501, 3001, 4501]
    assert [staged.stage_of_step(s, 12000) for s in (1500, 1501, 4500, 4501, 12000)] == [0, 1, 2, 3, 3]
    assert CurriculumSpec(schedule="staged", stages=STAGES, fraction=0.25).stage_starts(10) == [1, 2, 3]


def test_skills_go_to_the_first_matching_stage_and_unmatched_skills_are_named() -> None:
    spec = CurriculumSpec(schedule="staged", stages=STAGES)
    names = ["open the drawer", "push the button", "pick up the red block", "turn on the light"]
    assert stage_of_skill(spec, names).tolist() == [1, 0, 2, 0]
    with pytest.raises(InputError, match=r"curriculum\.stages: no stage matches skill\(s\) \['pick up the red block'\]"):
        stage_of_skill(CurriculumSpec(schedule="staged", stages=STAGES[:2]), names)


def test_bad_curriculum_config_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("agents: [hier_language]\ncurriculum: {schedule: staged, stages: [['*']]}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: key 'curriculum.stages': a staged schedule needs at least 2 stages"):
        load_config(RunConfig, path)
    path.write_text("agents: [hier_language]\ncurriculum: {schedule: sorted}\n")
    with pytest.raises(ConfigError, match=r"key 'curriculum.schedule': must be one of shuffled, staged"):
        load_config(RunConfig, path)
    rl = tmp_path / "rl.yaml"
    rl.write_text("kind: rl\nlow: {curriculum_schedule: stepwise}\n")
    with pytest.raises(ConfigError, match=r"key 'low.curriculum_schedule': must be one of linear, staged, shuffled"):
        load_config(RLRunConfig, rl)


def test_sampler_draws_only_the_skills_in_play() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])  # vocabulary entries 0, 1, 2 -> stages 0, 1, 1
    sampler = GatherSampler({"x": np.arange(8)}, {}, batch_size=64, labels=labels)
    sizes = sampler.set_curriculum(np.array([0, 1, 1]), lambda step: 0 if step <= 10 else 1, 2)
    assert sizes == [2, 8]
    rng = np.random.default_rng(0)
    early = sampler(1, rng)["x"].numpy()
    late = sampler(11, rng)["x"].numpy()
    assert set(early.tolist()) == {0, 1}  # only rows of skill 0
    assert set(late.tolist()) == set(range(8))
    a, b = GatherSampler({"x": np.arange(8)}, {}, 4, labels=labels), GatherSampler({"x": np.arange(8)}, {}, 4, labels=labels)
    for s in (a, b):
        s.set_curriculum(np.array([0, 1, 1]), lambda step: 0, 2)
    assert np.array_equal(a(1, np.random.default_rng(5))["x"], b(1, np.random.default_rng(5))["x"])  # rng-only: resumable


def test_staged_goal_radius_steps_and_shuffled_starts_full() -> None:
    points = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    staged = GoalCurriculum(points, 1.0, 3.0, 0.6, 0.0, schedule="staged", stages=3)
    radii = []
    for p in (0.0, 0.19, 0.21, 0.39, 0.41, 1.0):
        staged.progress = p
        radii.append(staged.radius)
    assert radii == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    shuffled = GoalCurriculum(points, 1.0, 3.0, 0.6, 0.0, schedule="shuffled")
    assert shuffled.radius == 3.0
    linear = GoalCurriculum(points, 1.0, 3.0, 0.6, 0.0)
    linear.progress = 0.3
    assert linear.radius == pytest.approx(2.0)
    with pytest.raises(ValueError, match="schedule"):
        GoalCurriculum(points, 1.0, 3.0, 0.6, 0.0, schedule="sorted")


@pytest.fixture(scope="module")
def tabletop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tt") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=4, workers=1, seed=3, chain_length=3), path, progress=False)
    return path


def test_staged_run_trains_the_low_level_stage_by_stage(tabletop: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from hirl.data.dataset import load_dataset

    vocab = sorted({str(t) for e in load_dataset(tabletop).episodes for t in e.subgoal_text[e.seg_start]})
    first = [v for v in vocab if v != vocab[-1]][:1]  # one skill alone in stage 0, the rest after it
    base = TrainerConfig(max_steps=8, batch_size=16, eval_every=4, checkpoint_every=4, progress=False, tensorboard=False)
    cfg = RunConfig(dataset=str(tabletop), collect=CollectSpec(episodes=4, chain_length=3, seed=3), agents=["hier_language"],
                    text_encoder="hash", val_fraction=0.0, train=TrainingBudgets(low=base, high=replace(base, max_steps=2)),
                    eval=EvalSpec(episodes=1, chain_length=1, videos=0),
                    curriculum=CurriculumSpec(schedule="staged", stages=[first, ["*"]], fraction=0.5))
    summary = train_run(cfg, RunDir(tmp_path / "run"), progress=False)
    out = capsys.readouterr().out
    assert "curriculum low_language: stage 0 from step 1:" in out and f"adds {first}" in out
    assert "curriculum low_language: stage 1 from step 3:" in out
    assert "curriculum high_language" not in out  # high levels always see every skill
    assert summary["components"]["low_language"]["steps"] == 8
    assert json.loads((tmp_path / "run" / "train_summary.json").read_text())["components"]["low_language"]["steps"] == 8
    bad = replace(cfg, curriculum=CurriculumSpec(schedule="staged", stages=[first, ["no such skill"]]))
    with pytest.raises(InputError, match="no stage matches skill"):
        train_run(bad, RunDir(tmp_path / "bad"), progress=False)
    assert not (tmp_path / "bad").exists()  # checked before anything is written


def test_staged_with_every_skill_in_the_first_stage_trains_exactly_like_shuffled(tabletop: Path, tmp_path: Path) -> None:
    """The curriculum path changes which rows are drawn and nothing else: with every skill in stage 0 the pools are all
    rows, so the weights are bit-identical to the shuffled schedule's."""
    from safetensors.torch import load_file

    base = TrainerConfig(max_steps=6, batch_size=16, eval_every=6, checkpoint_every=6, progress=False, tensorboard=False)
    budgets = TrainingBudgets(low=base, high=replace(base, max_steps=1))
    common: dict[str, Any] = dict(dataset=str(tabletop), collect=CollectSpec(episodes=4, chain_length=3, seed=3),
                                  agents=["hier_language"], text_encoder="hash", val_fraction=0.0, train=budgets,
                                  eval=EvalSpec(episodes=1, chain_length=1, videos=0))
    shuffled = RunConfig(**common, curriculum=CurriculumSpec(schedule="shuffled"))
    trivial = RunConfig(**common, curriculum=CurriculumSpec(schedule="staged", stages=[["*"], ["*"]]))
    weights = []
    for name, cfg in (("shuffled", shuffled), ("trivial", trivial)):
        train_run(cfg, RunDir(tmp_path / name), progress=False)
        weights.append(load_file(str(tmp_path / name / "train" / "low_language" / "last.safetensors")))
    assert weights[0].keys() == weights[1].keys()
    assert all(np.array_equal(weights[0][k].numpy(), weights[1][k].numpy()) for k in weights[0])
