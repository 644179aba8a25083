"""Hindsight language relabeling of the RL low level: a failed attempt that achieved another subtask is stored
again under that subtask's instruction, up to the step it completed; a short real Tabletop run."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import hirl.encoders.text  # noqa: F401  (registers the text encoders)
from hirl.config import load_config
from hirl.errors import InputError
from hirl.encoders.text_factory import make_text_encoder
from hirl.rl.config import RLRunConfig
from hirl.rl.language import LanguageSubtaskEnv
from hirl.rl.stages import train_rl

NAMES = ["open the drawer", "push the button"]


class ScriptedTask(gym.Env):
    """Predicates follow a script: 'push the button' turns true at step 2 whatever is commanded."""

    observation_space = spaces.Dict({"observation": spaces.Box(-10, 10, (1,), np.float64)})
    action_space = spaces.Box(-1, 1, (1,), np.float32)

    def canonical(self, text):
        return text if text in NAMES else None

    def instruction(self, name):
        return name

    def subtask_names(self):
        return NAMES

    def _info(self):
        return {"subtask_success": {"open the drawer": False, "push the button": self.t >= 2}}

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return {"observation": np.zeros(1)}, self._info()

    def step(self, action):
        self.t += 1
        return {"observation": np.array([float(self.t)])}, 0.0, False, False, self._info()


def make(relabel=True, steps=4):
    encoder = make_text_encoder("hash", 384)
    return LanguageSubtaskEnv(ScriptedTask(), ["open the drawer"], encoder, ["observation"], steps, relabel)


def test_failed_attempt_is_relabelled_with_what_it_achieved():
    env = make()
    env.reset(seed=0)
    for _ in range(4):
        _, r, term, trunc, info = env.step(np.zeros(1, np.float32))
        assert r == -1.0 and not info["is_success"]
    assert trunc and not term
    hs = env.pop_hindsight()
    # steps 1, 2 under "push the button": step 1 not yet done (-1), step 2 achieved it (0, terminal); nothing after
    assert [(r, d) for *_, r, d in hs] == [(-1.0, False), (0.0, True)]
    np.testing.assert_allclose(hs[0][0]["instruction"], env.embed("push the button"))
    np.testing.assert_allclose([o["observation"][0] for o, *_ in hs], [0.0, 1.0])
    assert env.pop_hindsight() == []


def test_no_relabeling_when_disabled_or_when_nothing_else_was_achieved():
    env = make(relabel=False)
    env.reset(seed=0)
    for _ in range(4):
        env.step(np.zeros(1, np.float32))
    assert env.pop_hindsight() == []
    env = make(steps=1)  # ends before the button turns on: nothing achieved, nothing to relabel
    env.reset(seed=0)
    env.step(np.zeros(1, np.float32))
    assert env.pop_hindsight() == []


def test_unknown_instruction_is_one_line():
    with pytest.raises(InputError, match=r"language\.subtasks: unknown instructions \['fly'\]"):
        LanguageSubtaskEnv(ScriptedTask(), ["fly"], make_text_encoder("hash", 384), ["observation"], 4, True)


def test_language_stage_runs_on_tabletop(tmp_path):
    cfg = load_config(RLRunConfig, None, [
        "stage=language", "env=hirl/Tabletop-v0", "steps=160", "eval.every=0", "eval.episodes=1", "checkpoint_every=1000",
        "progress=false", "algo.learning_starts=60", "algo.batch_size=16", "algo.net_arch=[16]", "algo.buffer_size=1000",
        "language.text_encoder=hash", "language.episode_steps=40"])
    summary = train_rl(cfg, tmp_path / "lang")
    assert summary["env_steps"] == 160 and (tmp_path / "lang" / "models" / "rl_language" / "model.zip").is_file()
    assert set(summary["relabel_counts"]) == {"hindsight_episodes", "hindsight_transitions"}
