"""hirl/Maze-v0: registration, checkers, 50 Hz clock, action validation, determinism, rewards,
physics blow-ups, walls, rendering, and the BFS + PD expert."""
from __future__ import annotations

import itertools
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
import pytest

import hirl_envs  # noqa: F401  (registers hirl/Maze-v0)
from hirl_envs.maze.env import MazeEnv, goal_distance
from hirl_envs.maze.expert import MazeExpert
from hirl.eval.expert import maze_expert_success
from hirl_envs.maze.layouts import LAYOUTS, bfs_path, get_layout

LAYOUT_NAMES = ["u", "medium", "large"]


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_make_each_layout(name: str) -> None:
    env = gym.make("hirl/Maze-v0", layout=name)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["observation"].shape == (4,) and obs["observation"].dtype == np.float64
    assert env.observation_space["achieved_goal"] is env.observation_space["desired_goal"]
    assert env.action_space.shape == (2,) and env.action_space.dtype == np.float32
    assert env.unwrapped.maze_size == np.asarray(LAYOUTS[name]).shape
    assert "is_success" in info
    _, _, _, _, info = env.step(env.action_space.sample())
    assert "is_success" in info
    env.close()


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_checkers_pass(name: str) -> None:
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    env = gym.make("hirl/Maze-v0", layout=name)
    gym_check(env.unwrapped, skip_render_check=True)
    # SB3's checker calls env.compute_reward directly, which Gymnasium 1.x wrappers (TimeLimit) no longer forward.
    sb3_check(env.unwrapped)
    env.close()


def test_control_rate_is_50hz_and_checked() -> None:
    env = gym.make("hirl/Maze-v0")
    assert env.unwrapped.dt == pytest.approx(0.02, abs=1e-12)
    with pytest.raises(ValueError, match="50 Hz"):
        MazeEnv(frame_skip=3)


def test_invalid_actions_raise_with_shape() -> None:
    env = MazeEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        env.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        env.step(np.array([np.nan, 0.0], dtype=np.float32))
    obs, *_ = env.step(np.array([5.0, -5.0]))  # out of range: clipped, not an error
    assert np.all(np.isfinite(obs["observation"]))


def test_determinism() -> None:
    actions = np.random.default_rng(1).uniform(-1, 1, size=(150, 2)).astype(np.float32)
    runs = []
    for _ in range(2):
        env = gym.make("hirl/Maze-v0", layout="medium")
        obs, _ = env.reset(seed=123)
        trace = [obs["observation"].copy(), obs["desired_goal"].copy()]
        for a in actions:
            obs, _, term, trunc, _ = env.step(a)
            trace.append(obs["observation"].copy())
            if term or trunc:
                obs, _ = env.reset()
                trace.append(obs["desired_goal"].copy())
        runs.append(np.concatenate(trace))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_compute_reward_vectorised() -> None:
    env = MazeEnv(eps=0.45)
    a = np.array([[0.0, 0.0], [1.0, 0.0], [0.3, 0.3], [0.0, 0.45]])
    b = np.zeros((4, 2))
    r = env.compute_reward(a, b, [{}] * 4)
    assert r.shape == (4,)
    np.testing.assert_array_equal(r, [0.0, -1.0, 0.0, 0.0])
    assert env.compute_reward(a[1], b[1], {}) == -1.0 and isinstance(env.compute_reward(a[0], b[0], {}), float)
    np.testing.assert_allclose(goal_distance(a, b), [0.0, 1.0, np.hypot(0.3, 0.3), 0.45])
    assert env.goal_distance(a[1], b[1]) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [np.nan, 1e30])
def test_physics_blowup_terminates_with_info(bad: float) -> None:
    env = MazeEnv()
    env.reset(seed=0)
    env.data.qvel[:] = bad
    obs, reward, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
    assert terminated and not truncated
    assert "physics_error" in info and info["is_success"] is False
    assert reward == -1.0 and all(np.all(np.isfinite(v)) for v in obs.values())


def test_reset_options_fix_cells_and_reject_walls() -> None:
    env = MazeEnv(layout="u")
    obs, info = env.reset(seed=0, options={"start_cell": (1, 1), "goal_cell": (3, 1)})
    assert env.xy_to_cell(obs["achieved_goal"]) == (1, 1) and env.xy_to_cell(obs["desired_goal"]) == (3, 1)
    assert np.allclose(env.model.site_pos[env._goal_site, :2], obs["desired_goal"])
    with pytest.raises(ValueError, match=r"\(2, 1\)"):
        env.reset(options={"goal_cell": (2, 1)})
    with pytest.raises(ValueError, match="start_cell"):
        env.reset(options={"start_cell": (0, 0)})
    with pytest.raises(ValueError, match="unknown maze layout"):
        MazeEnv(layout="huge")
    for seed in range(30):  # sampled start and goal are distinct free cells
        _, info = env.reset(seed=seed)
        assert info["start_cell"] != info["goal_cell"]
        assert env.is_free(info["start_cell"]) and env.is_free(info["goal_cell"])


def test_geometry_helpers_and_regions() -> None:
    env = MazeEnv(layout="u")
    for cell in env.free_cells():
        assert env.xy_to_cell(env.cell_to_xy(cell)) == cell
    assert env.region_name(env.cell_to_xy((1, 1))) == "north-west room"
    assert env.region_name(env.cell_to_xy((1, 3))) == "north-east room"
    assert env.region_name(env.cell_to_xy((2, 3))) == "east room"
    assert env.region_name(env.cell_to_xy((3, 2))) == "south room"
    assert env.region_name(np.zeros(2)) == "the centre"
    large = MazeEnv(layout="large")
    names = {large.region_name(large.cell_to_xy(c)) for c in large.free_cells()}
    assert len(names) == 9


def test_robot_does_not_tunnel_through_walls() -> None:
    env = MazeEnv(layout="u")
    for action in [(-1, 0), (0, 1), (0, -1), (-1, 1), (-1, -1)]:
        obs, _ = env.reset(seed=0, options={"start_cell": (1, 1), "goal_cell": (3, 3)})
        centre = env.cell_to_xy((1, 1))
        for _ in range(150):
            obs, _, _, _, info = env.step(np.array(action, dtype=np.float32))
            assert "physics_error" not in info
        assert env.xy_to_cell(obs["achieved_goal"]) == (1, 1)  # every push is into the corner cell's walls
        # the ball (radius 0.1) stays within ~1 cm of the wall faces of its corner cell
        assert np.all(obs["achieved_goal"] >= centre + np.array([-0.41, -0.5])) and obs["achieved_goal"][1] <= centre[1] + 0.41


def test_continuing_mode_does_not_terminate() -> None:
    env = MazeEnv(layout="u", continuing=True)
    obs, _ = env.reset(seed=0, options={"start_cell": (1, 1), "goal_cell": (1, 2)})
    env.goal = obs["achieved_goal"].copy()
    _, reward, terminated, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert reward == 0.0 and info["is_success"] and not terminated


def test_render_shape_and_dtype() -> None:
    env = gym.make("hirl/Maze-v0", layout="large", render_mode="rgb_array", width=96, height=64)
    env.reset(seed=0)
    img = env.render()
    assert img.shape == (64, 96, 3) and img.dtype == np.uint8 and img.std() > 5
    env.close()
    assert MazeEnv().render() is None


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_expert_reaches_goal(name: str) -> None:
    env = gym.make("hirl/Maze-v0", layout=name)
    expert = MazeExpert(env, noise=0.1, seed=0)
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        expert.reset()
        labels = []
        for _ in range(1000):
            action, waypoint, label = expert.act(obs)
            assert action.shape == (2,) and action.dtype == np.float32 and waypoint.shape == (2,)
            labels.append(label)
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        assert info["is_success"], f"{name} seed {seed}"
        assert labels[-1].startswith("go to the goal in ")
    env.close()


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_plan_segments_are_collision_free(name: str) -> None:
    env = MazeEnv(layout=name)
    expert = MazeExpert(env)
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        points = [obs["achieved_goal"], *expert.plan(obs)]
        np.testing.assert_allclose(points[-1], obs["desired_goal"])
        for p, q in itertools.pairwise(points):
            for t in np.linspace(0, 1, 50):
                x = (1 - t) * p + t * q
                for off in ([0.1, 0], [-0.1, 0], [0, 0.1], [0, -0.1]):  # robot radius 0.1 m
                    assert env.is_free(env.xy_to_cell(x + off)), (name, seed, p, q)


def test_reach_drives_to_nearby_target() -> None:
    env = MazeEnv(layout="large")
    expert = MazeExpert(env)
    obs, _ = env.reset(seed=0, options={"start_cell": (3, 3), "goal_cell": (1, 1)})
    target = env.cell_to_xy((3, 4)) + np.array([0.2, -0.2])
    for _ in range(100):
        action = expert.reach(obs, target)
        assert action.dtype == np.float32 and np.all(np.abs(action) <= 1.0)
        obs, *_ = env.step(action)
    assert np.linalg.norm(obs["achieved_goal"] - target) < 0.05
    assert np.linalg.norm(obs["observation"][2:]) < 0.05


def test_next_subgoal_labels_use_regions() -> None:
    env = MazeEnv(layout="u")
    expert = MazeExpert(env)
    obs, _ = env.reset(seed=0, options={"start_cell": (1, 1), "goal_cell": (3, 1)})
    waypoint, label = expert.next_subgoal(obs)
    assert env.xy_to_cell(waypoint) == (1, 3) and label == "go to the north-east room"
    assert [env.xy_to_cell(w) for w in expert.plan(obs)] == [(1, 3), (3, 3), (3, 1)]


def test_layout_validation() -> None:
    grid = get_layout("u")
    assert bfs_path(grid, (1, 1), (3, 1))[0] == (1, 1) and len(bfs_path(grid, (1, 1), (3, 1))) == 7
    with pytest.raises(ValueError, match="enclosed"):
        get_layout([[0, 1, 1], [1, 0, 1], [1, 1, 1]])
    with pytest.raises(ValueError, match="connected"):
        get_layout([[1, 1, 1, 1, 1], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1]])


@pytest.mark.slow
@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_expert_success_rate(name: str) -> None:
    stats = maze_expert_success(name, n_episodes=200, noise=0.1, seed=0, max_steps=1000)
    assert stats["success_rate"] >= 0.95, stats


@pytest.mark.slow
def test_her_replay_buffer_runs() -> None:
    from stable_baselines3 import SAC, HerReplayBuffer

    env = gym.make("hirl/Maze-v0", layout="u", max_episode_steps=50)
    model = SAC("MultiInputPolicy", env, replay_buffer_class=HerReplayBuffer, learning_starts=100,
                replay_buffer_kwargs={"n_sampled_goal": 4, "goal_selection_strategy": "future"}, seed=0)
    model.learn(300)
