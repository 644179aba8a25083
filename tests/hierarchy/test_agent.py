"""HierarchicalAgent on the toy numpy goal env: the high level is queried exactly when the rule says."""
import itertools

import numpy as np
import pytest

from hirl.hierarchy import FixedInterval, HierarchicalAgent, OnCompletion, OnOverride, StateDistance
from hirl.types import Command, Subgoal
from tests.fixtures.point_env import GreedyLowLevel, PointGoalEnv, WaypointHighLevel

CMD = Command("reach the goal")


def run(agent, env, seed=0, steps=60, on_step=None):
    obs, info = env.reset(seed=seed)
    agent.reset(CMD)
    for t in range(steps):
        if on_step is not None:
            on_step(t, agent)
        obs, _, terminated, truncated, info = env.step(agent.act(obs, info))
        if terminated or truncated:
            break
    return info


def test_fixed_interval_queries_exactly_every_n_steps():
    high, env = WaypointHighLevel(), PointGoalEnv()
    agent = HierarchicalAgent(high, GreedyLowLevel(), FixedInterval(7))
    obs, _ = env.reset(seed=3)
    env.goal = np.array([5.0, 5.0])  # unreachable: the episode runs all steps
    agent.reset(CMD)
    for _ in range(30):
        obs, *_ = env.step(agent.act(obs))
    queried = [e.step for e in agent.trace if e.queried]
    assert queried == [0, 7, 14, 21, 28]
    assert high.queries == agent.num_queries == 5
    assert [e.reason for e in agent.trace if e.reason] == ["start"] + ["interval"] * 4


def test_on_completion_queries_when_subgoal_reached_and_reaches_goal():
    high, low = WaypointHighLevel(reach=0.3), GreedyLowLevel()
    agent = HierarchicalAgent(high, low, OnCompletion(StateDistance(0.02), timeout=1000))
    info = run(agent, PointGoalEnv(), seed=1, steps=200)
    assert info["is_success"]
    # every query after the first happened right when the previous subgoal was reached
    for prev, entry in itertools.pairwise([e for e in agent.trace if e.queried]):
        before = agent.trace[entry.step - 1]
        assert entry.reason == "completion" and before.subgoal is prev.subgoal
    assert low.calls == len(agent.trace)


def test_timeout_cuts_off_a_never_complete_subgoal():
    # the proposed subgoal is the goal itself, outside the reachable box: the detector never fires
    agent = HierarchicalAgent(WaypointHighLevel(reach=100.0), GreedyLowLevel(), OnCompletion(StateDistance(0.01), timeout=10))
    env = PointGoalEnv()
    obs, _ = env.reset(seed=0)
    env.goal = np.array([5.0, 5.0])
    agent.reset(CMD)
    for _ in range(35):
        obs, *_ = env.step(agent.act(obs))
    assert [e.step for e in agent.trace if e.queried] == [0, 10, 20, 30]
    assert {e.reason for e in agent.trace if e.reason and e.reason != "start"} == {"timeout"}


def test_override_takes_effect_on_next_step_without_querying():
    agent = HierarchicalAgent(WaypointHighLevel(), GreedyLowLevel(), OnOverride())
    human = Subgoal("state", [0.5, 0.5], "human")
    seen = {}

    def correct(t, ag):
        if t == 5:
            ag.override(human)
            seen["before"] = ag.subgoal
    run(agent, PointGoalEnv(max_steps=20), seed=2, steps=12, on_step=correct)
    entry = agent.trace[5]
    assert entry.subgoal is human and entry.reason == "override" and not entry.queried and entry.source == "human"
    assert agent.trace[4].subgoal is seen["before"] and agent.trace[4].source == "policy"
    assert agent.num_queries == 1  # only the start query: OnOverride alone never asks the high level again
    assert all(e.subgoal is human for e in agent.trace[5:])


def test_override_wins_over_a_rule_that_fires_at_the_same_step():
    agent = HierarchicalAgent(WaypointHighLevel(), GreedyLowLevel(), FixedInterval(1))
    human = Subgoal("state", [0.0, 0.0], "human")
    run(agent, PointGoalEnv(max_steps=10), seed=0, steps=4, on_step=lambda t, ag: ag.override(human) if t == 2 else None)
    assert agent.trace[2].reason == "override" and agent.trace[3].reason == "interval"


def test_reset_cascades_and_clears_state():
    high, agent = WaypointHighLevel(), None
    agent = HierarchicalAgent(high, GreedyLowLevel(), FixedInterval(3))
    run(agent, PointGoalEnv(), steps=10)
    agent.override(Subgoal("state", [0.0, 0.0], "human"))
    agent.reset()
    assert agent.trace == [] and agent.subgoal is None and high.queries == 0
    env = PointGoalEnv()
    obs, _ = env.reset(seed=0)
    agent.act(obs)
    assert agent.trace[0].reason == "start"  # the pending override was cleared by reset


def test_act_without_command_is_an_error():
    agent = HierarchicalAgent(WaypointHighLevel(), GreedyLowLevel(), FixedInterval(3))
    with pytest.raises(RuntimeError, match="no command"):
        agent.act({"achieved_goal": np.zeros(2), "desired_goal": np.zeros(2)})


def test_the_high_level_is_told_of_completions_only(monkeypatch):
    high, low = WaypointHighLevel(reach=0.3), GreedyLowLevel()
    told = []
    monkeypatch.setattr(high, "completed", lambda g: told.append(g), raising=False)
    agent = HierarchicalAgent(high, low, OnCompletion(StateDistance(0.02), timeout=1000))
    run(agent, PointGoalEnv(), seed=1, steps=200)
    completions = [e for e in agent.trace if e.reason == "completion"]
    assert completions and len(told) == len(completions)
    assert all(g is agent.trace[e.step - 1].subgoal for g, e in zip(told, completions, strict=True))
    told.clear()
    agent = HierarchicalAgent(high, low, FixedInterval(7))
    run(agent, PointGoalEnv(), seed=1, steps=30)
    assert told == []
