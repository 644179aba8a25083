from dataclasses import dataclass, field
from typing import Literal

import pytest

from hirl.config import ConfigError, load_config, save_config
from hirl.hierarchy.replan import ReplanConfig


@dataclass(frozen=True)
class Optim:
    lr: float = 1e-3  # learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam betas


@dataclass(frozen=True)
class Run:
    name: str  # required
    steps: int = 10  # training steps
    mode: Literal["fast", "slow"] = "fast"  # speed
    optim: Optim = field(default_factory=Optim)  # optimiser
    tags: list[str] = field(default_factory=list)  # free labels
    replan: ReplanConfig = field(default_factory=ReplanConfig)  # replan rule
    seed: int | None = None  # optional seed


def write(tmp_path, text):
    p = tmp_path / "cfg.yaml"
    p.write_text(text)
    return p


def test_round_trip_with_overrides(tmp_path):
    p = write(tmp_path, "name: a\nsteps: 5\noptim:\n  lr: 0.01\ntags: [x]\n")
    cfg = load_config(Run, p, ["optim.betas=[0.5, 0.6]", "replan.interval=7", "mode=slow", "seed=3"])
    assert cfg == Run("a", 5, "slow", Optim(0.01, (0.5, 0.6)), ["x"], ReplanConfig(interval=7), 3)
    out = save_config(cfg, tmp_path / "run" / "config.yaml")
    assert load_config(Run, out) == cfg


def test_int_accepted_for_float(tmp_path):
    assert load_config(Run, write(tmp_path, "name: a\noptim: {lr: 1}\n")).optim.lr == 1.0


@pytest.mark.parametrize(
    "text, overrides, expected",
    [
        ("name: a\nsteps: 5\nstesp: 3\n", [], r"cfg.yaml: key 'stesp': unknown key \(did you mean 'steps'\?\)"),
        ("name: a\noptim: {lrr: 1}\n", [], r"cfg.yaml: key 'optim.lrr': unknown key"),
        ("name: a\nsteps: five\n", [], r"cfg.yaml: key 'steps': expected int, got str 'five'"),
        ("name: a\nsteps: 2.5\n", [], r"key 'steps': expected int, got float"),
        ("name: a\nmode: medium\n", [], r"key 'mode': expected one of 'fast', 'slow', got 'medium'"),
        ("name: a\noptim: 3\n", [], r"key 'optim': expected a mapping for Optim"),
        ("name: a\noptim: {betas: [1]}\n", [], r"key 'optim.betas': expected 2 items, got 1"),
        ("name: a\ntags: [1]\n", [], r"key 'tags\[0\]': expected str, got int"),
        ("steps: 1\n", [], r"key 'name': missing required key \(expected str\)"),
        ("name: a\n", ["steps=x"], r"command-line override: key 'steps': expected int"),
        ("name: a\n", ["nope=1"], r"command-line override: key 'nope': unknown key"),
        ("name: a\n", ["steps"], r"command-line override 'steps': expected key=value"),
        ("name: a\nreplan: {timeout: 0}\n", [], r"cfg.yaml: key 'replan': replan.timeout must be >= 1"),
        ("- 1\n- 2\n", [], r"cfg.yaml: top level must be a mapping, got list"),
        ("name: [a\n", [], r"cfg.yaml: invalid YAML at line"),
        ("name: a\nseed: x\n", [], r"key 'seed': expected int or null, got str 'x'"),
    ],
)
def test_config_errors_are_one_line(tmp_path, text, overrides, expected):
    with pytest.raises(ConfigError, match=expected) as err:
        load_config(Run, write(tmp_path, text), overrides)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(Run, tmp_path / "nope.yaml")
