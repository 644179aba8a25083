"""Gymnasium registration: every hirl/ id is made by gym.make in a fresh interpreter that imports neither hirl nor
hirl_envs (the installed start-up hook calls the "gymnasium.envs" entry point), and passes Gymnasium's and SB3's
checkers exactly as gym.make returns it (wrappers included)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

CHECK_EVERY_ID = """
import json, sys, warnings
import gymnasium as gym
from gymnasium.utils.env_checker import check_env as gym_check
from stable_baselines3.common.env_checker import check_env as sb3_check
ids = sorted(i for i in gym.registry if i.startswith("hirl/"))
imported = [m for m in ("hirl", "hirl_envs.tabletop", "hirl_envs.maze") if m in sys.modules]
warnings.simplefilter("ignore")
for env_id in ids:
    gym_check(gym.make(env_id), skip_render_check=True)
    sb3_check(gym.make(env_id), skip_render_check=True)
print(json.dumps({"ids": ids, "imported_before_make": imported}))
"""


def test_every_registered_id_passes_both_checkers_without_importing_hirl(tmp_path: Path) -> None:
    # run outside the checkout (cwd tmp_path, no PYTHONPATH) so only the installed distribution can register the envs
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", CHECK_EVERY_ID], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    from hirl_envs import ENV_IDS

    assert report["ids"] == sorted(ENV_IDS)
    assert report["imported_before_make"] == []  # registration did not import hirl or an env module


def test_module_prefixed_id_and_import_register_idempotently() -> None:
    import gymnasium as gym

    import hirl_envs

    hirl_envs.register_envs()  # a second call leaves the registry alone
    env = gym.make("hirl_envs:hirl/Maze-v0")
    assert env.spec is not None and env.spec.id == "hirl/Maze-v0"
    env.close()


def test_chain_reward_is_compute_reward_of_the_step() -> None:
    import gymnasium as gym

    from hirl_envs.goal_api import CHAIN_REWARD_KEY

    env = gym.make("hirl/Tabletop-v0", chain_length=1)
    obs, _ = env.reset(seed=0)
    compute = env.get_wrapper_attr("compute_reward")
    for _ in range(5):
        obs, reward, *_, info = env.step(env.action_space.sample())
        assert info[CHAIN_REWARD_KEY] == reward == compute(obs["achieved_goal"], obs["desired_goal"], info)
    batch = compute(np.stack([obs["achieved_goal"]] * 3), np.zeros((3, 14)), [info, dict(info, chain_reward=1.0), info])
    np.testing.assert_array_equal(batch, [reward, 1.0, reward])
    # the unwrapped env's compute_reward is the same chain reward; its goal-reaching reward is goal_reward
    assert env.unwrapped.compute_reward(obs["achieved_goal"], obs["desired_goal"], info) == reward
    assert env.unwrapped.goal_reward(obs["achieved_goal"], obs["achieved_goal"]) == 0.0
    env.close()


def test_goal_id_reward_is_goal_reward() -> None:
    import gymnasium as gym

    env = gym.make("hirl/TabletopGoal-v0")
    obs, _ = env.reset(seed=1)
    obs, reward, *_, info = env.step(env.action_space.sample())
    assert reward == env.get_wrapper_attr("compute_reward")(obs["achieved_goal"], obs["desired_goal"], info) == -1.0
    env.close()


def test_installed_startup_hook_is_the_current_source() -> None:
    import site
    import sysconfig

    dirs = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    installed = [Path(d, "hirl-gymnasium-envs.pth") for d in dirs if Path(d, "hirl-gymnasium-envs.pth").is_file()]
    assert installed, "hirl-gymnasium-envs.pth not installed: run `pip install -e . --no-deps` (make setup)"
    source = (ROOT / "envs" / "autoregister.py").read_text()
    assert repr(source) in installed[0].read_text(), "stale start-up hook: reinstall (`pip install -e . --no-deps`)"
