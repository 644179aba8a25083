"""Skills as options: initiation refusal reported in the trace, termination by detector or timeout, the library's YAML
form, a code policy over a fixture env."""
from __future__ import annotations

import numpy as np
import pytest

from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.replan import ReplanContext
from hirl.policies.base import HighLevelPolicy
from hirl.skills.code_policy import CodeHighLevel, load_code_policy
from hirl.skills.library import INITIATIONS, Always, InitiationSet, Skill, SkillLibrary
from hirl.types import Command, Subgoal
from tests.fixtures.point_env import GreedyLowLevel, PointGoalEnv

CMD = Command("visit the corners")


class LeftHalfOnly(InitiationSet):
    """May start only while the point is in the left half (x < 0)."""

    kind = "left_half"

    def why_not(self, skill, obs, info):
        return None if obs["observation"][0] < 0 else "the point is not in the left half"


def point_library(timeout: int = 50) -> SkillLibrary:
    right = Skill("go_right", "go to the right", Subgoal("state", [0.8, 0.0]), LeftHalfOnly(), "state_distance",
                  {"epsilon": 0.05}, timeout)
    left = Skill("go_left", "go to the left", Subgoal("state", [-0.8, 0.0]), Always(), "state_distance",
                 {"epsilon": 0.05}, timeout)
    return SkillLibrary([right, left])


class Sequence_(HighLevelPolicy):  # a HighLevelPolicy proposing a fixed list, recording refusals
    def __init__(self, goals):
        self.goals, self.i, self.refusals = list(goals), 0, []

    def reset(self):
        self.i, self.refusals = 0, []

    def propose(self, obs, command):
        g = self.goals[min(self.i, len(self.goals) - 1)]
        self.i += 1
        return g

    def refused(self, subgoal, why):
        self.refusals.append((subgoal.text, why))


def start(env, seed=0, x=0.5):
    _, info = env.reset(seed=seed)
    env.pos = np.array([x, 0.0])
    return env._obs(), info


def test_refused_proposal_is_in_the_trace_and_the_next_one_starts():
    lib = point_library()
    right, left = lib.get("go_right").subgoal, lib.get("go_left").subgoal
    high = Sequence_([right, left])
    agent = HierarchicalAgent(high, GreedyLowLevel(), lib.termination(None), initiation=lib.initiation)
    env = PointGoalEnv()
    obs, info = start(env, x=0.5)  # right half: go_right may not start
    agent.reset(CMD)
    agent.act(obs, info)
    entry = agent.trace[0]
    assert entry.reason == "start" and entry.subgoal is left
    assert entry.refused == (("go to the right", "the point is not in the left half"),)
    assert high.refusals == [("go to the right", "the point is not in the left half")]


def test_all_refused_keeps_the_previous_subgoal_and_retries_next_step():
    lib = point_library()
    right, left = lib.get("go_right").subgoal, lib.get("go_left").subgoal
    high = Sequence_([left] + [right] * 10)
    agent = HierarchicalAgent(high, GreedyLowLevel(), lib.termination(None), initiation=lib.initiation, max_refusals=2)
    env = PointGoalEnv()
    obs, info = start(env, x=0.5)
    agent.reset(CMD)
    agent.act(obs, info)  # starts go_left
    agent._retry = False
    # force a replan now (as if complete): every proposal is go_right, refused in the right half
    agent.rule = type("Always", (), {"decide": lambda self, ctx: "completion", "reset": lambda self: None})()
    agent.act(obs, info)
    e = agent.trace[1]
    assert e.subgoal is left and e.reason is None and e.queried
    assert len(e.refused) == 3  # the first proposal + max_refusals retries
    agent.act(obs, info)
    assert agent.trace[2].reason is None and len(agent.trace[2].refused) == 3  # asked again at the next step


def test_nothing_admissible_at_the_first_step_is_an_error():
    lib = point_library()
    high = Sequence_([lib.get("go_right").subgoal])
    agent = HierarchicalAgent(high, GreedyLowLevel(), lib.termination(None), initiation=lib.initiation)
    obs, info = start(PointGoalEnv(), x=0.5)
    agent.reset(CMD)
    with pytest.raises(RuntimeError, match="no proposal may start"):
        agent.act(obs, info)


def test_termination_by_timeout_and_by_detector():
    lib = point_library(timeout=5)
    rule = lib.termination(None)
    left = lib.get("go_left").subgoal
    far = {"observation": np.array([0.5, 0.0]), "achieved_goal": np.array([0.5, 0.0])}
    near = {"observation": np.array([-0.79, 0.0]), "achieved_goal": np.array([-0.79, 0.0])}
    assert rule.decide(ReplanContext(4, 4, left, far)) is None
    assert rule.decide(ReplanContext(5, 5, left, far)) == "timeout"
    assert rule.decide(ReplanContext(2, 2, left, near)) == "completion"
    other = Subgoal("state", [0.1, 0.1])  # no skill's subgoal: the default timeout
    assert rule.decide(ReplanContext(299, 299, other, far)) is None
    assert rule.decide(ReplanContext(300, 300, other, far)) == "timeout"


def test_library_yaml_round_trip_and_bad_input(tmp_path):
    INITIATIONS.register("left_half")(LeftHalfOnly)
    lib = point_library(timeout=7)
    path = lib.save(tmp_path / "skills.yaml")
    back = SkillLibrary.load(path)
    assert back.names == ["go_right", "go_left"]
    s = back.get("go_right")
    assert s.timeout == 7 and s.detector_args == {"epsilon": 0.05} and isinstance(s.initiation, LeftHalfOnly)
    np.testing.assert_allclose(s.subgoal.value, [0.8, 0.0])
    bad = tmp_path / "bad.yaml"
    bad.write_text(path.read_text().replace("timeout: 7", "timeout: -1", 1))
    with pytest.raises(InputError, match=r"bad.yaml: skills\[0\].*timeout"):
        SkillLibrary.load(bad)
    bad.write_text("skills:\n- {name: a, description: b}\n")
    with pytest.raises(InputError, match=r"skills\[0\]: missing field 'subgoal'"):
        SkillLibrary.load(bad)


POLICY = '''
def next_skill(state, done, skills):
    # alternate: left first, then right, then left ...
    return "go_right" if len(done) % 2 == 1 else "go_left"
'''


def test_code_policy_over_a_fixture_env_visits_both_sides(tmp_path):
    path = tmp_path / "policy.py"
    path.write_text(POLICY)
    lib = point_library(timeout=40)
    high = CodeHighLevel(load_code_policy(path), lib)
    agent = HierarchicalAgent(high, GreedyLowLevel(), lib.termination(None), initiation=lib.initiation)
    env = PointGoalEnv(max_steps=120)
    obs, info = start(env, x=0.5)
    env.goal = np.array([5.0, 5.0])  # never reached: the episode runs all steps
    agent.reset(CMD)
    for _ in range(120):
        obs, _, _, _, info = env.step(agent.act(obs, info))
    assert high.done[:3] == ["go_left", "go_right", "go_left"]
    assert [e.reason for e in agent.trace if e.reason][:3] == ["start", "completion", "completion"]
    assert all(not e.refused for e in agent.trace)  # go_right was only proposed from the left half


def test_code_policy_bad_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_code_policy(tmp_path / "missing.py")
    (tmp_path / "none.py").write_text("X = 1\n")
    with pytest.raises(InputError, match="defines no function next_skill"):
        load_code_policy(tmp_path / "none.py")
    (tmp_path / "broken.py").write_text("def next_skill(:\n")
    with pytest.raises(InputError, match="importing it failed: SyntaxError"):
        load_code_policy(tmp_path / "broken.py")
    (tmp_path / "wrong.py").write_text("def next_skill(state, done, skills):\n    return 'fly'\n")
    high = CodeHighLevel(load_code_policy(tmp_path / "wrong.py"), point_library())
    with pytest.raises(InputError, match="returned 'fly', not a skill name"):
        high.propose({"observation": np.zeros(2)}, CMD)
