"""The affordance classifier learns where a skill succeeds; the SayCan-style high level multiplies relevance by it,
vetoes a relevant skill that cannot work, keeps the step through an enabling skill, and splits free-form commands."""
from __future__ import annotations

import numpy as np
import pytest

from hirl.encoders.text import HashTextEncoder
from hirl.skills.affordance import AffordanceModel
from hirl.skills.library import INITIATIONS, Always, Skill, SkillLibrary
from hirl.skills.saycan import AffordanceHighLevel, split_command
from hirl.types import Command, Subgoal


def test_split_command_connectors_and_quantifiers():
    objects = ["the red block", "the green block"]
    assert split_command("first open up the drawer, after that take the red block; shut the drawer") == [
        "open up the drawer", "take the red block", "shut the drawer"]
    assert split_command("put every block in the drawer and close it", objects) == [
        "put the red block in the drawer", "put the green block in the drawer", "close it"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("aff")
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(600, 1)).astype(np.float32)
    skill = rng.integers(0, 2, size=600)
    success = np.where(skill == 0, x[:, 0] > 0, True)  # "reach" works only for x > 0; "open" always works
    model = AffordanceModel(["reach", "open"], ("observation",), 1, hidden=32)
    stats = model.fit(x, skill, success, steps=600, seed=0)
    assert stats["val_accuracy"] > 0.9 and 0 < stats["best_step"] <= 600
    model.save(tmp_path / "aff")
    return AffordanceModel.load(tmp_path / "aff")


def test_affordance_model_learns_where_a_skill_works_and_round_trips(fitted):
    model = fitted
    p_pos = model.probabilities({"observation": np.array([0.8])}, ["reach", "open"])
    p_neg = model.probabilities({"observation": np.array([-0.8])}, ["reach", "open"])
    assert p_pos[0] > 0.8 and p_neg[0] < 0.2 and p_neg[1] > 0.8


def test_saycan_vetoes_the_relevant_skill_that_cannot_work_and_keeps_the_step(fitted):
    model = fitted
    library = SkillLibrary([Skill("reach", "reach the red target", Subgoal("language", "reach the red target"), Always()),
                            Skill("open", "open the gate", Subgoal("language", "open the gate"), Always())])
    high = AffordanceHighLevel(library, model, HashTextEncoder(dim=64), temperature=0.2,
                               admissible=lambda name, obs: None if name == "open" or obs["observation"][0] > 0 else "no")
    cmd = Command("reach the red target")
    g = high.propose({"observation": np.array([-0.8])}, cmd)  # reach cannot work here: the enabler is chosen
    assert g.value == "open the gate"
    assert high.history[-1]["veto"] and high.history[-1]["vetoed_outside_initiation"]
    high.completed(g)  # an enabling skill completing does not end the step
    g = high.propose({"observation": np.array([0.8])}, cmd)
    assert g.value == "reach the red target" and not high.history[-1]["veto"]
    high.completed(g)
    assert high._k == 1


def test_a_skill_that_timed_out_is_not_proposed_again_at_once(fitted):
    model = fitted
    library = SkillLibrary([Skill("reach", "reach the red target", Subgoal("language", "reach the red target"), Always()),
                            Skill("open", "open the gate", Subgoal("language", "open the gate"), Always())])
    high = AffordanceHighLevel(library, model, HashTextEncoder(dim=64), temperature=0.2)
    cmd = Command("reach the red target")
    obs = {"observation": np.array([0.8])}
    assert high.propose(obs, cmd).value == "reach the red target"
    assert high.propose(obs, cmd).value == "open the gate"  # no completed(): the last one timed out
    with pytest.raises(ValueError):
        AffordanceHighLevel(library, model, HashTextEncoder(dim=64), temperature=0.0)


def test_learned_initiation_set_from_the_affordance_model(fitted, tmp_path):
    fitted.save(tmp_path / "aff")
    init = INITIATIONS.build("learned", path=str(tmp_path / "aff"), threshold=0.5)
    skill = Skill("reach", "reach the red target", Subgoal("language", "reach the red target"), init)
    assert init.why_not(skill, {"observation": np.array([0.8])}, {}) is None
    assert init.why_not(skill, {"observation": np.array([-0.8])}, {}).startswith("predicted success 0.")
    back = Skill.from_dict(skill.to_dict())
    assert back.initiation.spec() == {"kind": "learned", "path": str(tmp_path / "aff"), "threshold": 0.5}
