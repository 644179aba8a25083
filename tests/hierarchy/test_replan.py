"""Replan rules and completion detectors as pure decisions on a context."""
import numpy as np
import pytest

from hirl.hierarchy import (
    AnyOf, EnvPredicate, FixedInterval, LearnedCompletion, NoisyDetector, OnCompletion, OnOverride, ReplanConfig,
    ReplanContext, StateDistance, build_replan_rule,
)
from hirl.hierarchy.completion import CompletionDetector

from hirl.types import Subgoal

STATE_GOAL = Subgoal("state", [0.0, 0.0])


def ctx(since, obs=None, info=None, override=None, subgoal=STATE_GOAL, step=None):
    obs = obs if obs is not None else {"achieved_goal": np.array([1.0, 1.0])}
    return ReplanContext(step if step is not None else since, since, subgoal, obs, info or {}, override)


class Never(CompletionDetector):
    def done(self, obs, subgoal, info):
        return False


class Always(CompletionDetector):
    def done(self, obs, subgoal, info):
        return True


def test_fixed_interval():
    rule = FixedInterval(3)
    assert [rule.decide(ctx(s)) for s in range(1, 5)] == [None, None, "interval", "interval"]
    with pytest.raises(ValueError):
        FixedInterval(0)


def test_never_firing_detector_is_cut_off_by_timeout():
    rule = OnCompletion(Never(), timeout=50)
    assert all(rule.decide(ctx(s)) is None for s in range(1, 50))
    assert rule.decide(ctx(50)) == "timeout"


def test_timeout_is_mandatory():
    with pytest.raises(TypeError):
        OnCompletion(Never())  # type: ignore[call-arg]  # the missing timeout is what this test checks
    with pytest.raises(ValueError):
        OnCompletion(Never(), timeout=0)


def test_completion_fires_before_timeout():
    rule = OnCompletion(StateDistance(0.1), timeout=100)
    near = {"achieved_goal": np.array([0.05, 0.0])}
    assert rule.decide(ctx(1)) is None
    assert rule.decide(ctx(1, obs=near)) == "completion"


def test_override_and_any_of_order():
    human = Subgoal("state", [1.0, 0.0], "human")
    assert OnOverride().decide(ctx(1)) is None
    assert OnOverride().decide(ctx(1, override=human)) == "override"
    rule = AnyOf([OnCompletion(Always(), 10), FixedInterval(2)])
    assert rule.decide(ctx(2)) == "completion"
    assert AnyOf([FixedInterval(2), OnCompletion(Never(), 10)]).decide(ctx(1)) is None
    assert AnyOf([FixedInterval(2), OnCompletion(Never(), 10)]).decide(ctx(10)) == "interval"


def test_state_distance_dims_and_errors():
    det = StateDistance(0.1, dims=[0])
    assert det.done({"achieved_goal": np.array([0.0, 5.0])}, STATE_GOAL, {})
    with pytest.raises(TypeError, match="state subgoals"):
        det.done({"achieved_goal": np.zeros(2)}, Subgoal("language", "x"), {})
    with pytest.raises(ValueError, match="shape"):
        StateDistance(0.1).done({"achieved_goal": np.zeros(3)}, STATE_GOAL, {})


def test_env_predicate_bool_mapping_and_canonicalize():
    lang = Subgoal("language", "pull the drawer open")
    assert EnvPredicate("reached").done({}, lang, {"reached": True})
    flags = {"open the drawer": True}
    assert not EnvPredicate().done({}, lang, {"subtask_success": flags})
    canon = {"pull the drawer open": "open the drawer"}.get
    assert EnvPredicate(canonicalize=canon).done({}, lang, {"subtask_success": flags})
    with pytest.raises(KeyError, match="subtask_success"):
        EnvPredicate().done({}, lang, {})


def test_learned_and_noisy_detectors():
    class Half:
        def success_probability(self, obs, subgoal):
            return 0.6

    assert LearnedCompletion(Half(), 0.5).done({}, STATE_GOAL, {})
    assert not LearnedCompletion(Half(), 0.7).done({}, STATE_GOAL, {})
    noisy = NoisyDetector(Never(), false_positive=0.2, seed=1)
    rate = np.mean([noisy.done({}, STATE_GOAL, {}) for _ in range(2000)])
    assert 0.15 < rate < 0.25
    assert not any(NoisyDetector(Always(), false_negative=1.0).done({}, STATE_GOAL, {}) for _ in range(10))


def test_build_replan_rule_from_config():
    rule = build_replan_rule(ReplanConfig(detector="state_distance", detector_args={"epsilon": 0.1}, interval=5, timeout=20))
    assert isinstance(rule, AnyOf)
    assert rule.decide(ctx(5)) == "interval"
    assert rule.decide(ctx(1, obs={"achieved_goal": np.zeros(2)})) == "completion"
    assert isinstance(build_replan_rule(ReplanConfig(on_completion=False)), OnOverride)
    with pytest.raises(ValueError, match="detector_args"):
        build_replan_rule(ReplanConfig(detector="state_distance", detector_args={"radius": 1.0}))


def test_chain_progress_fires_when_the_chain_advances_under_this_subgoal():
    from hirl.hierarchy import ChainProgress

    det = ChainProgress()
    a, b = Subgoal("language", "a"), Subgoal("image", np.zeros((4, 4, 3), np.uint8))
    assert not det.done({}, a, {"completed_subtasks": ["x"]})
    assert not det.done({}, a, {"completed_subtasks": ["x"]})
    assert det.done({}, a, {"completed_subtasks": ["x", "a"]})
    assert not det.done({}, b, {"completed_subtasks": ["x", "a"]})  # a new subgoal starts counting afresh
    # a subgoal proposed at the step before: a subtask completed by its very first step counts for it
    c = Subgoal("language", "c")
    assert det.done({}, c, {"completed_subtasks": ["x", "a", "b"]})
    det.reset()
    with pytest.raises(KeyError, match="completed_subtasks"):
        det.done({}, a, {})


def test_chain_progress_counts_a_redo_after_the_chain_went_back():
    from hirl.hierarchy import ChainProgress

    det = ChainProgress()
    a, b = Subgoal("language", "a"), Subgoal("language", "b")
    assert not det.done({}, b, {"completed_subtasks": ["a"]})
    assert not det.done({}, b, {"completed_subtasks": []})  # a undone while b was active
    assert not det.done({}, a, {"completed_subtasks": []})  # a, due again
    assert det.done({}, a, {"completed_subtasks": ["a"]})  # redone: progress from where the chain went back to


def _chain(n):
    return {"completed_subtasks": ["s"] * n}


def test_on_completion_replans_when_the_chain_goes_back():
    rule = OnCompletion(Never(), timeout=100)
    a, b = Subgoal("language", "a"), Subgoal("language", "b")
    # b became active at step 10 (the rule decided there: count 1); the count falls at step 14: "undone"
    assert rule.decide(ctx(5, info=_chain(1), subgoal=a, step=10)) is None
    assert [rule.decide(ctx(s, info=_chain(1), subgoal=b, step=10 + s)) for s in (1, 2, 3)] == [None] * 3
    assert rule.decide(ctx(4, info=_chain(0), subgoal=b, step=14)) == "undone"
    # the subgoal chosen at that step is judged from the count then: no second "undone"
    assert rule.decide(ctx(1, info=_chain(0), subgoal=a, step=15)) is None
    # progress never reads as undone, nor does a chain that went back before the subgoal's first decision that the
    # rule did not see chosen (e.g. a correction typed after the disturbance)
    assert rule.decide(ctx(2, info=_chain(1), subgoal=a, step=16)) is None
    assert rule.decide(ctx(3, info=_chain(0), subgoal=b, step=40)) is None
    assert rule.decide(ctx(4, info=_chain(0), subgoal=b, step=41)) is None
    assert OnCompletion(Never(), timeout=100).decide(ctx(1, info={})) is None  # envs without a chain
    rule.reset()
    assert rule.decide(ctx(1, info=_chain(0), subgoal=a, step=1)) is None


def test_detector_extra_reaches_only_detectors_that_take_it():
    from hirl.hierarchy import ReplanConfig, build_replan_rule

    canon = {"canonicalize": lambda text: text}
    build_replan_rule(ReplanConfig(detector="chain_progress", timeout=10), canon)  # ChainProgress takes no canonicalize
    rule = build_replan_rule(ReplanConfig(detector="env_predicate", timeout=10), canon)
    assert rule.detector.canonicalize is canon["canonicalize"]
