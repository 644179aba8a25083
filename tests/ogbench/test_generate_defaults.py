"""hirl.data.ogbench.generate's defaults are OGBench's published dataset settings, for every env and style hirl
generates; the noisy datasets' random actions reach the env. The expected values are copied from
data_gen_scripts/commands.sh of seohongpark/ogbench (and, where a row passes no flag, the defaults of
data_gen_scripts/generate_manipspace.py: --noise 0.1, --p_random_action 0)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hirl.data.ogbench.generate import Published, default_style, published
from hirl.errors import InputError

# commands.sh: env -> (num_episodes, max_episode_steps) of its published dataset(s) (play and noisy alike)
NAVIGATE = {  # generate_locomaze.py --dataset_type=navigate --noise=0.5
    "pointmaze-medium-v0": (1000, 1001), "pointmaze-large-v0": (1000, 1001), "pointmaze-giant-v0": (500, 2001),
    "pointmaze-teleport-v0": (1000, 1001),
}
MANIPULATION = {  # generate_manipspace.py --dataset_type=play | noisy
    "cube-single-v0": (1000, 1001), "cube-double-v0": (1000, 1001), "cube-triple-v0": (3000, 1001),
    "cube-quadruple-v0": (5000, 1001), "scene-v0": (1000, 1001), "puzzle-3x3-v0": (1000, 1001),
    "puzzle-4x4-v0": (1000, 1001), "puzzle-4x5-v0": (3000, 1001), "puzzle-4x6-v0": (5000, 1001),
}
NOISY_P_RANDOM = {"cube": 0.1, "scene": 0.1, "puzzle": 0.2}  # commands.sh: --p_random_action on the noisy rows


@pytest.mark.parametrize("env", sorted(NAVIGATE))
def test_navigate_defaults_are_commands_sh(env: str) -> None:
    episodes, steps = NAVIGATE[env]
    assert default_style(env) == "navigate"
    assert published(env, "navigate") == Published(episodes, steps, noise=0.5, p_random_action=0.0)


@pytest.mark.parametrize("env", sorted(MANIPULATION))
def test_manipulation_defaults_are_commands_sh(env: str) -> None:
    episodes, steps = MANIPULATION[env]
    assert default_style(env) == "play"
    assert published(env, "play") == Published(episodes, steps, noise=0.1, p_random_action=0.0)
    p_random = NOISY_P_RANDOM[env.split("-")[0]]
    assert published(env, "noisy") == Published(episodes, steps, noise=0.1, p_random_action=p_random)


def test_styles_an_env_has_no_dataset_of_are_refused() -> None:
    with pytest.raises(InputError, match="navigate"):
        published("scene-v0", "navigate")
    with pytest.raises(InputError, match="navigate"):
        published("pointmaze-large-v0", "play")


def test_noisy_generation_passes_the_random_actions_to_the_env(tmp_path: Path) -> None:
    pytest.importorskip("ogbench")
    from hirl.data import load_dataset
    from hirl.data.metadata import read_metadata
    from hirl.adapters.ogbench.env import OgbenchEnv
    from hirl.data.ogbench.generate import generate

    generate("cube-single-v0", 1, tmp_path / "d", style="noisy", max_episode_steps=25, progress=False)
    collection = read_metadata(tmp_path / "d")["collection"]
    assert collection["noise"] == 0.1
    assert collection["env_kwargs"] == {"collection": "noisy", "max_episode_steps": 25, "p_random_action": 0.1}
    assert len(load_dataset(tmp_path / "d").episodes[0].actions) == 25
    # p_random_action 1: every action is uniform in the action box, never the oracle's
    env = OgbenchEnv("cube-single-v0", collection="noisy", max_episode_steps=25, p_random_action=1.0)
    env.reset(seed=0)
    actions = np.stack([env.oracle_action() for _ in range(200)])
    assert np.abs(actions).max() <= 1.0 and actions.std(0).min() > 0.5  # uniform on [-1, 1]: std 0.58
    with pytest.raises(ValueError, match="p_random_action"):
        OgbenchEnv("pointmaze-medium-v0", collection="navigate", p_random_action=0.1)
