"""Templated instruction variants (goal-text augmentation): deterministic, distinct, skill-preserving, held apart from
the phrasings hirl measures unseen wording with, and switched on by the run config's instruction_variants."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hirl.config import FieldError
from hirl.data.instruction_variants import KEEP, _dropout, instruction_variants, with_variants
from hirl.learn.run_config import RunConfig
from hirl_envs.tabletop import tasks

ROOT = Path(__file__).resolve().parents[2]


def measured_phrasings() -> dict[str, set[str]]:
    """canonical instruction -> the phrasings the unseen-wording measurements use (held-out paraphrase + the map)."""
    out = {s.instruction: {s.paraphrases[-1]} for s in tasks.SUBTASKS.values()}
    for line in (ROOT / "experiments/tabletop/instruction_map.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            canonical, phrasing = line.split("\t")
            out[canonical].add(phrasing)
    return out


def test_variants_are_deterministic_distinct_and_new():
    text = "stack the red block on the green block"
    got = instruction_variants(text, 16, seed=3, exclude=["place the red block on the green block"])
    assert got == instruction_variants(text, 16, seed=3, exclude=["place the red block on the green block"])
    assert got != instruction_variants(text, 16, seed=4)
    assert len(got) == len(set(got)) == 16
    assert text not in got and "place the red block on the green block" not in got
    assert instruction_variants(text, 0) == []


def test_variants_keep_the_colours_and_their_order():
    for s in tasks.SUBTASKS.values():
        colours = [w for w in s.instruction.split() if w in tasks.COLOURS]
        for v in instruction_variants(s.instruction, 24):
            words = v.replace(",", " ").split()
            assert [w for w in words if w in tasks.COLOURS] == colours, (s.instruction, v)


def test_word_dropout_drops_articles_and_never_a_word_that_tells_skills_apart():
    rng = np.random.default_rng(0)
    for _ in range(200):
        out = _dropout("turn off the light in the drawer on the red block", rng).split()
        assert not {"the", "a", "an"} & set(out)
        assert all(w in out for w in KEEP & {"off", "in", "on", "red"})


def test_variants_never_produce_a_phrasing_the_unseen_wording_measurements_use():
    for canonical, measured in measured_phrasings().items():
        assert not measured & set(instruction_variants(canonical, 64)), canonical


def test_run_config_adds_the_variants_to_the_training_paraphrases():
    def split(text: str) -> tuple[list[str], list[str]]:
        return ["lift the red block"], ["take the red block"]

    cfg = RunConfig(instruction_variants=5)
    phrasings = cfg.training_phrasings(split)
    assert phrasings is not None
    got = phrasings("pick up the red block")
    assert got[0] == "lift the red block" and len(got) == 6
    assert got[1:] == with_variants(lambda t: split(t)[0], 5, cfg.seed)("pick up the red block")[1:]
    assert RunConfig().training_phrasings(split)("pick up the red block") == ["lift the red block"]  # default: none
    assert RunConfig(paraphrase_augment=0.0, instruction_variants=5).training_phrasings(split) is None
    with pytest.raises(FieldError, match="instruction_variants"):
        RunConfig(instruction_variants=-1)
