"""The redo rows of the corrections recipe (FinetuneSpec.w_redo): which corrections are redos, and the demonstration
rows they add (every state of the redone skill, its memory a later subtask that left the skill's effect standing)."""
from __future__ import annotations

import numpy as np
import pytest

from hirl.learn.corrections import FinetuneSpec, high_rows, redo_tables, redone_skills
from hirl.learn.imitation_data import effect_holds, later_subtask_pairs
from hirl.policies.obs import DEFAULT_OBS_KEYS

CHAIN = "open the drawer, then turn on the light, then pick up the red block"


def test_a_redo_is_a_redo_correction_to_an_earlier_subtask_of_the_chain_than_the_proposal():
    redo = {"command": CHAIN, "kind": "redo"}
    records = [{**redo, "skill": "open the drawer", "proposed": "pick up the red block"},  # redo
               {**redo, "skill": "pick up the red block", "proposed": "open the drawer"},  # skipped ahead
               {**redo, "skill": "turn on the light", "proposed": "pick up the red block"},  # redo
               {**redo, "skill": "open the drawer", "proposed": "turn on the light"},  # the same skill again
               {**redo, "skill": "push the button", "proposed": "turn on the light"},  # not in the chain
               {**redo, "skill": "open the drawer", "proposed": None}]  # nothing proposed
    assert redone_skills(records) == ["open the drawer", "turn on the light"]


@pytest.mark.parametrize("kind", ["wrong", "human", "stale", None])
def test_a_correction_back_to_a_skipped_subtask_in_an_undisturbed_world_is_not_a_redo(kind):
    record = {"command": CHAIN, "skill": "open the drawer", "proposed": "pick up the red block", "kind": kind}
    assert redone_skills([record]) == []


@pytest.fixture
def tables(chain_dataset):
    return chain_dataset[1]


def test_redo_rows_are_the_effect_pairs_of_the_redone_skills_only(tables):
    t = tables
    eff = effect_holds(t)
    labels, pairs = eff.labels, eff.pairs
    skill = t.vocab[int(labels[pairs[0, 0]])]
    rows = redo_tables(t, [skill, "a skill the demonstrations lack"])
    assert rows is not None
    want = later_subtask_pairs(t, 1.0, only_effect_holds=True, only_labels=[t.vocab.index(skill)])
    assert len(rows.obs) == len(want["target"]) > 0
    assert (rows.label == t.vocab.index(skill)).all()
    np.testing.assert_array_equal(rows.prev_label, want["prev"])
    np.testing.assert_array_equal(rows.obs, want["obs"])
    assert set(rows.prev_label) <= {int(labels[j]) for i, j in pairs if t.vocab[int(labels[i])] == skill}
    assert redo_tables(t, []) is None and redo_tables(t, ["a skill the demonstrations lack"]) is None


def test_high_rows_build_the_redo_family_only_when_it_weighs(tables):
    t = tables
    eff = effect_holds(t)
    labels, pairs = eff.labels, eff.pairs
    skill = t.vocab[int(labels[pairs[0, 0]])]
    later = t.vocab[int(labels[pairs[0, 1]])]
    command = f"{skill}, then {later}"
    obs = t.obs[0].tolist()
    record = {"id": "e0-s5", "episode": 0, "step": 5, "kind": "redo", "command": command, "skill": skill, "proposed": later,
              "previous": skill, "obs": obs, "obs_keys": list(DEFAULT_OBS_KEYS), "context": []}
    assert high_rows([record], None, t, DEFAULT_OBS_KEYS, FinetuneSpec(holdout=0.0, w_redo=0.0)).redo is None
    rows = high_rows([record], None, t, DEFAULT_OBS_KEYS, FinetuneSpec(holdout=0.0)).redo  # on by default
    assert rows is not None and len(rows.obs) == len(redo_tables(t, [skill]).obs)
