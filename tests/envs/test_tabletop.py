"""Contract tests for hirl/Tabletop-v0 and its scripted expert (fast: the whole file runs in well under a minute)."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import hirl_envs  # noqa: F401  (registers the envs)
from hirl_envs.tabletop import tasks
from hirl_envs.tabletop.env import GOAL_DIM, OBS_DIM, TOUCH_DIM, VELOCITY_DIM, TabletopEnv
from hirl_envs.tabletop.expert import PHASES, TabletopExpert, family
from hirl.eval.expert import tabletop_expert_success


def _run_expert(env: TabletopEnv, expert: TabletopExpert, obs, info) -> dict:
    done = False
    while not done:
        action, label = expert.act_chain(obs, info)
        assert label == info["current_subtask"]
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return info


def _reset_with_task(env: TabletopEnv, name: str) -> tuple:
    for seed in range(100):
        try:
            return env.reset(seed=seed, options={"task": [name]})
        except ValueError:
            continue
    raise AssertionError(f"no seed makes {name} feasible")


def test_gym_make_and_spaces() -> None:
    env = gym.make("hirl/Tabletop-v0")
    obs, info = env.reset(seed=0)
    assert obs["observation"].shape == (OBS_DIM,)
    assert obs["velocity"].shape == (VELOCITY_DIM,) and obs["touch"].shape == (TOUCH_DIM,)
    assert env.observation_space.contains(obs)
    assert obs["achieved_goal"].shape == obs["desired_goal"].shape == (GOAL_DIM,)
    assert env.unwrapped.dt == pytest.approx(0.02)
    assert set(info) >= {"task", "task_names", "subtask_index", "current_subtask", "completed_subtasks", "subtask_success",
                         "is_success"}
    assert len(info["subtask_success"]) == len(tasks.SUBTASKS)
    assert 1 <= len(info["task"]) <= 5
    env.close()


def test_gymnasium_checker() -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make("hirl/Tabletop-v0").unwrapped, skip_render_check=True)


def test_sb3_checker() -> None:
    from stable_baselines3.common.env_checker import check_env

    # SB3 requires step reward == compute_reward(...), for both reward types (the chain reward is read from the step's
    # info). Gymnasium 1.x wrappers no longer forward compute_reward, so SB3's goal-env check needs the unwrapped env.
    for reward_type in ("chain", "goal"):
        check_env(gym.make("hirl/Tabletop-v0", reward_type=reward_type).unwrapped)


def test_control_rate_checked() -> None:
    with pytest.raises(ValueError, match="50 Hz"):
        TabletopEnv(frame_skip=7)
    with pytest.raises(ValueError, match="50 Hz"):
        TabletopEnv(timestep=0.005)
    assert TabletopEnv(timestep=0.001, frame_skip=20).dt == pytest.approx(0.02)


def test_invalid_actions() -> None:
    env = TabletopEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(4,\)"):
        env.step(np.zeros(3))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        env.step(np.array([0.0, np.nan, 0.0, 0.0]))


def test_determinism() -> None:
    def rollout() -> list[np.ndarray]:
        env = TabletopEnv(chain_length=3)
        obs, _ = env.reset(seed=123)
        rng = np.random.default_rng(0)
        out = [obs["observation"].copy()]
        for _ in range(60):
            obs, *_ = env.step(rng.uniform(-1, 1, 4))
            out.append(obs["observation"].copy())
        return out

    for a, b in zip(rollout(), rollout(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_compute_reward_vectorised() -> None:
    env = TabletopEnv(reward_type="goal")  # compute_reward is the goal reward (the chain type's reads the step's info)
    obs, _ = env.reset(seed=1)
    ag, dg = obs["achieved_goal"], obs["desired_goal"]
    assert env.compute_reward(ag, ag, {}) == 0.0
    batch_a = np.stack([ag, ag, ag])
    batch_d = np.stack([ag, dg, ag + 1.0])
    r = env.compute_reward(batch_a, batch_d, [{}] * 3)
    assert r.shape == (3,)
    assert r[0] == 0.0 and r[2] == -1.0
    assert env.goal_distance(batch_a, batch_d).shape == (3,)


def test_physics_blowup_terminates() -> None:
    env = TabletopEnv()
    env.reset(seed=0)
    env.data.qvel[:] = 1e30
    obs, _, terminated, _, info = env.step(np.zeros(4))
    assert terminated and "physics_error" in info
    assert all(np.all(np.isfinite(v)) for v in obs.values())
    env.reset(seed=0)  # recovers
    env.data.qpos[0] = np.nan
    _, _, terminated, _, info = env.step(np.zeros(4))
    assert terminated and "physics_error" in info


def test_vocabulary_helpers() -> None:
    env = TabletopEnv()
    names = env.subtask_names()
    assert 15 <= len(names) <= 25
    for n in names:
        assert env.canonical(n) == n
        assert env.canonical(env.instruction(n)) == n
        assert 4 <= len(env.paraphrases(n)) <= 6
        for p in env.paraphrases(n):
            assert env.canonical(p) == n
    assert env.canonical("dance a jig") is None
    env.reset(seed=0)
    assert env.goal_for("open_drawer").shape == (GOAL_DIM,)
    assert (env.subtask_done("open_drawer"), env.subtask_done("close_drawer")) == (False, True)  # seed 0: drawer closed
    env.reset(seed=1)
    assert (env.subtask_done("open_drawer"), env.subtask_done("close_drawer")) == (True, False)  # seed 1: drawer open
    assert env.obs_layout["light"] == slice(27, 28) and env.velocity_layout["drawer_vel"] == slice(3, 4)
    assert env.touch_layout["load_supported"] == slice(2, 3)


def test_explicit_and_infeasible_tasks() -> None:
    env = TabletopEnv()
    _, info = env.reset(seed=0, options={"task": ["push the button", "push_button"]})
    assert info["task_names"] == ["push_button", "push_button"]
    with pytest.raises(ValueError, match="infeasible"):
        env.reset(seed=0, options={"task": ["pick_up_red", "pick_up_green"]})
    with pytest.raises(ValueError, match="unknown subtask"):
        env.reset(seed=0, options={"task": ["fly away"]})
    _, info = env.reset(seed=0, options={"chain_length": 4})
    assert len(info["task"]) == 4


def test_budget_failure() -> None:
    env = TabletopEnv(subtask_budget=5, chain_length=2)
    env.reset(seed=0)
    for _ in range(5):
        _, r, terminated, _, info = env.step(np.zeros(4))
    assert terminated and not info["is_success"] and r == 0.0


@pytest.mark.parametrize("name", tasks.SUBTASK_NAMES)
def test_expert_solves_single_subtask(name: str) -> None:
    env = TabletopEnv()
    obs, info = _reset_with_task(env, name)
    info = _run_expert(env, TabletopExpert(env, noise=0.0, seed=0), obs, info)
    assert info["is_success"], (name, info["subtask_index"])
    assert info["completed_subtasks"] == [env.instruction(name)]


def test_expert_solves_five_chain_with_rewards() -> None:
    env = gym.make("hirl/Tabletop-v0", chain_length=5)
    obs, info = env.reset(seed=7)
    expert = TabletopExpert(env, noise=0.0, seed=0)
    total, done = 0.0, False
    while not done:
        action, _ = expert.act_chain(obs, info)
        obs, r, terminated, truncated, info = env.step(action)
        total += r
        done = terminated or truncated
    assert info["is_success"] and total == 5.0 and info["current_subtask"] is None


def test_touch_flags_follow_a_stack() -> None:
    """obs["touch"]: nothing touched in the air; both fingers on the block while carrying (load_supported 0: it hangs);
    the block set down on its base raises load_supported, which is what the expert releases on."""
    env = TabletopEnv()
    obs, info = _reset_with_task(env, "stack_red_on_green")
    np.testing.assert_array_equal(obs["touch"], np.zeros(3))
    expert, seen = TabletopExpert(env, noise=0.0, seed=0), []
    done = False
    while not done:
        action, _ = expert.act_chain(obs, info)
        seen.append((expert.phase_name, tuple(obs["touch"])))
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    assert info["is_success"]
    assert all(t == (1.0, 1.0, 0.0) for phase, t in seen if phase == "carry")
    assert seen[-1][0] == "release" and seen[-1][1][2] == 1.0
    assert set(v for _, t in seen for v in t) <= {0.0, 1.0}


def test_expert_decides_on_the_observation_only() -> None:
    """The expert is Markov in obs["observation"] + obs["touch"]: an expert bound to another env (in another state)
    gives the same action on the same observation, and its phase is read off that observation."""
    env, other = TabletopEnv(chain_length=3), TabletopEnv()
    obs, info = env.reset(seed=5)
    other.reset(seed=99)
    expert, blind = TabletopExpert(env), TabletopExpert(other)
    done, phases = False, set()
    while not done:
        action, _ = expert.act_chain(obs, info)
        np.testing.assert_array_equal(action, blind.act_chain(obs, info)[0])
        assert expert.phase_name == blind.phase_name
        kind = tasks.parse(info["task_names"][info["subtask_index"]])[0]
        assert expert.phase_name in PHASES[family(kind)]
        phases.add(expert.phase_name)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    assert info["is_success"] and len(phases) >= 4


def test_expert_success_summary() -> None:
    res = tabletop_expert_success(n_episodes=3, chain_length=2, noise=0.05, seed=0)
    assert set(res) >= {"success_rate", "per_subtask", "chain_length_reached"}
    assert res["success_rate"] == 1.0 and res["chain_length_reached"] == {2: 3}  # 3 short chains: all solved, 2 subtasks each
    assert res["per_subtask"] and set(res["per_subtask"].values()) == {1.0}


def test_render_rgb_array() -> None:
    env = gym.make("hirl/Tabletop-v0", render_mode="rgb_array", width=96, height=80)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (80, 96, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # not a blank image
    env.close()


@pytest.mark.slow
def test_expert_success_rate_benchmark() -> None:
    res = tabletop_expert_success(n_episodes=100, chain_length=5, noise=0.05, seed=0)
    assert res["success_rate"] >= 0.95, res
