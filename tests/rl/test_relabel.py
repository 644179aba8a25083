"""High-level transition relabeling against hand-computed examples: HAC hindsight actions, subgoal testing, HIRO."""
import numpy as np
import pytest

from hirl.rl.config import HighSpec
from hirl.rl.relabel import (RELABELERS, HACRelabel, HIROCorrection, hac_relabel, hiro_correct, hiro_log_likelihoods,
                              relabeler_class)

SCALE = 2.0  # relative subgoal reach: subgoal = start + action * SCALE


def encode(g, s):
    return np.clip((np.asarray(g) - np.asarray(s)) / SCALE, -1, 1)


def decode(a, s):
    return np.asarray(s) + np.asarray(a) * SCALE


def test_hac_relabel_hand_example():
    # three transitions from start (0, 0) / (1, 1) / (0, 0):
    #  0: asked for (1, 0) [action (0.5, 0)], ended at (0.4, 0.2), missed, not tested -> action = encode(0.4, 0.2) = (0.2, 0.1)
    #  1: asked for (2, 1) [action (0.5, 0)], reached -> unchanged
    #  2: asked for (0, -2) [action (0, -1)], ended at (0, -0.5), missed, tested -> action unchanged, reward = penalty -25
    actions = np.array([[0.5, 0.0], [0.5, 0.0], [0.0, -1.0]], dtype=np.float32)
    start = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    achieved = np.array([[0.4, 0.2], [2.0, 1.02], [0.0, -0.5]])
    reached = np.array([False, True, False])
    rewards = np.array([-1.0, -1.0, -1.0])
    tested = np.array([False, False, True])
    out, r = hac_relabel(actions, start, achieved, reached, rewards, encode, tested=tested, penalty=-25.0)
    np.testing.assert_allclose(out, [[0.2, 0.1], [0.5, 0.0], [0.0, -1.0]], atol=1e-6)
    np.testing.assert_allclose(r, [-1.0, -1.0, -25.0])
    np.testing.assert_allclose(actions, [[0.5, 0.0], [0.5, 0.0], [0.0, -1.0]])  # inputs untouched


def test_hac_relabel_clips_reached_state_outside_the_action_range():
    out, _ = hac_relabel(np.zeros((1, 2)), np.zeros((1, 2)), np.array([[5.0, -1.0]]), np.array([False]), np.zeros(1), encode)
    np.testing.assert_allclose(out, [[1.0, -0.5]])


def low_mean(obs, goals):
    """A hand low level: action = goal - position (the exact mean the likelihood is computed under)."""
    return np.asarray(goals) - np.asarray(obs["achieved_goal"])


def test_hiro_picks_the_candidate_maximising_low_level_likelihood():
    # the low level actually pursued the goal (1, 1) from positions (0, 0) and (0.5, 0.5): actions (1, 1), (0.5, 0.5)
    low_obs = {"observation": np.array([[0.0, 0.0], [0.5, 0.5]]), "achieved_goal": np.array([[0.0, 0.0], [0.5, 0.5]])}
    low_actions = np.array([[1.0, 1.0], [0.5, 0.5]])
    start = np.zeros(2)
    cands = np.array([[0.0, 0.0], [0.5, 0.5], [-0.5, 0.5]])  # subgoals (0, 0), (1, 1) [the true one], (-1, 1)
    ll = hiro_log_likelihoods(cands, start, low_obs, low_actions, decode, low_mean)
    # hand-computed: (0,0): mu = (0,0),(-.5,-.5) -> -0.5*(2 + 2) = -2; (1,1): 0;
    # (-1,1): mu = (-1,1),(-1.5,.5) -> -0.5*(4 + 4) = -4
    np.testing.assert_allclose(ll, [-2.0, 0.0, -4.0])
    # the full correction: proposed (0, 0) [action 0], reached (0.9, 0.9): the best candidate decodes near (1, 1)
    best = hiro_correct(np.zeros(2), start, np.array([0.9, 0.9]), low_obs, low_actions, encode, decode, low_mean,
                        n=64, sigma=0.05, rng=np.random.default_rng(0))
    target = np.array([1.0, 1.0])
    assert np.linalg.norm(decode(best, start) - target) < np.linalg.norm(np.array([0.9, 0.9]) - target)


def test_every_relabeler_is_registered():
    assert RELABELERS.names() == ["hac", "hiro", "none"]


@pytest.mark.parametrize("mode", ["hac", "hiro", "none"])
def test_transition_relabeler_modes(mode):
    spec = HighSpec(relabel=mode, subgoal_test=0.0, subgoal_penalty=0.0, hiro_candidates=4, hiro_sigma=0.1)
    rel = relabeler_class(mode).from_spec(spec, encode, decode, low_mean, seed=0)
    info = {"start": np.zeros(2), "achieved": np.array([0.4, 0.2]), "reached": False,
            "low_obs": {"observation": np.zeros((1, 2)), "achieved_goal": np.zeros((1, 2))},
            "low_actions": np.array([[0.4, 0.2]])}
    out, r = rel(np.array([[0.5, 0.0]], dtype=np.float32), np.array([-1.0]), [info])
    if mode == "none":
        np.testing.assert_allclose(out, [[0.5, 0.0]])
    else:  # both corrections move the action to the one that explains what happened: encode((0.4, 0.2)) = (0.2, 0.1)
        np.testing.assert_allclose(out, [[0.2, 0.1]], atol=1e-6)
        assert rel.counts["relabelled"] == 1
    np.testing.assert_allclose(r, [-1.0])


def test_hiro_needs_the_low_level():
    with pytest.raises(ValueError, match="low_mean"):
        HIROCorrection(encode, decode, None)


def test_failed_subgoal_tests_are_marked_for_the_replay_buffer():
    rel = HACRelabel(encode, subgoal_test=1.0, penalty=-20.0)
    missed = {"start": np.zeros(2), "achieved": np.array([0.4, 0.2]), "reached": False}
    reached = {"start": np.zeros(2), "achieved": np.array([1.0, 0.0]), "reached": True}
    out, r = rel(np.array([[0.5, 0.0], [0.5, 0.0]], dtype=np.float32), np.array([-1.0, -1.0]), [missed, reached])
    np.testing.assert_allclose(out, [[0.5, 0.0], [0.5, 0.0]])  # a tested subgoal keeps its action
    np.testing.assert_allclose(r, [-20.0, -1.0])
    # SubgoalTestHerReplayBuffer reads this
    assert missed["subgoal_test_failed"] is True and "subgoal_test_failed" not in reached
