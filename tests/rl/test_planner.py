"""The planning high level (search on the replay buffer) against hand-built examples, and the HER buffer that keeps
failed HAC subgoal tests at their penalty."""
import numpy as np
import pytest
import torch
from gymnasium import spaces

from hirl.rl.planner import GraphPlanner, WaypointGraph, farthest_points, steps_from_q
from hirl.rl.sb3 import SubgoalTestHerReplayBuffer
from hirl.types import Command

STEPS_PER_METRE = 20.0


def wall_distance(states, goals):
    """Fake low-level distance: 20 steps per metre in a straight line, unreachable (far beyond any cap) when the
    segment crosses the wall x = 0.5 below y = 1."""
    a, b = np.asarray(states["achieved_goal"], dtype=float), np.asarray(goals, dtype=float)
    d = np.linalg.norm(a - b, axis=1) * STEPS_PER_METRE
    crosses = (a[:, 0] - 0.5) * (b[:, 0] - 0.5) < 0
    t = np.where(crosses, (0.5 - a[:, 0]) / np.where(crosses, b[:, 0] - a[:, 0], 1.0), 0.0)
    y_at_wall = a[:, 1] + t * (b[:, 1] - a[:, 1])
    return np.where(crosses & (y_at_wall < 1.0), 1e6, d)


def obs_at(xy, goal):
    return {"observation": np.array([*xy, 0.0, 0.0]), "achieved_goal": np.array(xy, float),
            "desired_goal": np.array(goal, float)}


def test_steps_from_q_inverts_the_discounted_step_count():
    gamma = 0.95
    for d in (0, 1, 5, 20):
        q = -(1 - gamma**d) / (1 - gamma)  # the Q of a low level that needs d steps under -1/0 rewards
        assert steps_from_q(np.array([q]), gamma)[0] == pytest.approx(d, abs=1e-6)
    assert np.isfinite(steps_from_q(np.array([-25.0]), gamma)[0])  # below the -1/(1-gamma) floor: large, not nan


def test_farthest_points_cover_clusters():
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.normal(c, 0.01, size=(50, 2)) for c in ([0, 0], [5, 0], [0, 5])])
    idx = farthest_points(pts, 3, rng)
    centres = {tuple(np.round(pts[i])) for i in idx}
    assert centres == {(0.0, 0.0), (5.0, 0.0), (0.0, 5.0)}


def test_planner_goes_around_the_wall():
    xy = np.array([[0.0, 1.2], [1.0, 1.2], [0.5, -3.0]])  # N0 above the start, N1 above the goal, N2 unreachable
    nodes = {"observation": np.hstack([xy, np.zeros_like(xy)]), "achieved_goal": xy}
    graph = WaypointGraph.build(nodes, wall_distance, n_nodes=3, max_edge_steps=30.0, seed=0)
    order = {tuple(graph.nodes["achieved_goal"][i]): i for i in range(3)}
    n0, n1 = order[(0.0, 1.2)], order[(1.0, 1.2)]
    assert graph.paths[n0, n1] == pytest.approx(20.0)  # one 1 m edge
    planner = GraphPlanner(graph, wall_distance, epsilon=0.3)
    cmd = Command("reach the goal")
    # start (0, 0), goal (1, 0): straight is through the wall; the way round is start -> N0 -> N1 -> goal
    assert np.allclose(planner.propose(obs_at([0.0, 0.0], [1.0, 0.0]), cmd).value, [0.0, 1.2])
    # at N0 (within epsilon) the next waypoint is N1
    assert np.allclose(planner.propose(obs_at([0.05, 1.15], [1.0, 0.0]), cmd).value, [1.0, 1.2])
    # goal directly in reach: the goal itself
    sub = planner.propose(obs_at([1.0, 1.0], [1.0, 0.0]), cmd)
    assert np.allclose(sub.value, [1.0, 0.0]) and sub.label == "goal"


def test_graph_round_trip(tmp_path):
    xy = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.4]])
    g = WaypointGraph.build({"observation": np.hstack([xy, xy]), "achieved_goal": xy}, wall_distance, 3, 30.0)
    loaded = WaypointGraph.load(g.save(tmp_path / "graph.npz"))
    assert np.array_equal(loaded.paths, g.paths) and loaded.max_edge_steps == 30.0
    assert np.array_equal(loaded.nodes["achieved_goal"], g.nodes["achieved_goal"])


class _GoalEnv:
    """Just enough of a VecEnv for HerReplayBuffer's reward recomputation: reward 0 within 0.1, else -1."""

    def env_method(self, name, achieved, desired, infos, indices=None):
        return [-(np.linalg.norm(achieved - desired, axis=-1) > 0.1).astype(np.float32)]


def test_failed_subgoal_tests_keep_the_penalty_under_her():
    obs_space = spaces.Dict({k: spaces.Box(-10, 10, (2,)) for k in ("observation", "achieved_goal", "desired_goal")})
    buf = SubgoalTestHerReplayBuffer(100, obs_space, spaces.Box(-1, 1, (2,)), env=_GoalEnv(), n_sampled_goal=4,
                                     goal_selection_strategy="future", penalty=-20.0)
    for t in range(4):  # one 4-step episode; step 1 is a failed subgoal test, stored with reward -20
        o = {k: np.full((1, 2), float(t)) for k in ("observation", "achieved_goal")}
        o["desired_goal"] = np.full((1, 2), 9.0)
        n = {k: np.full((1, 2), float(t + 1)) for k in ("observation", "achieved_goal")}
        n["desired_goal"] = o["desired_goal"]
        info = {"subgoal_test_failed": True} if t == 1 else {}
        buf.add(o, n, np.zeros((1, 2)), np.array([-20.0 if t == 1 else -1.0]), np.array([t == 3]), [info])
    assert buf.test_failed[:4, 0].tolist() == [False, True, False, False]
    idx = np.array([0, 1, 2, 1])
    env_idx = np.zeros(4, dtype=int)
    for samples in (buf._get_real_samples(idx, env_idx), buf._get_virtual_samples(idx, env_idx)):
        r, d = samples.rewards.flatten(), samples.dones.flatten()
        assert r[1].item() == -20.0 and r[3].item() == -20.0 and d[1].item() == 1.0  # penalty, no bootstrap
        assert r[0].item() in (-1.0, 0.0) and d[0].item() == 0.0  # others untouched
    virtual = buf._get_virtual_samples(np.array([0, 0, 0, 0]), env_idx)
    assert torch.all(virtual.rewards != -20.0)
