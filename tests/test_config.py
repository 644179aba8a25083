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


# -- limits and generic ranges: a hostile file fails at once, in one line naming it
def test_config_file_limits_fail_fast(tmp_path):
    import time

    from hirl.config import MAX_CONFIG_BYTES

    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    cases = {
        "bomb.yaml": ("\n".join(bomb) + "\nname: a\n", "more than 100000 values"),
        "deep.yaml": ("name: a\ntags: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32 levels"),
        "cycle.yaml": ("name: a\ntags: &t [*t]\n", "recursive alias"),
        "big.yaml": ("name: a\n" + "#" * MAX_CONFIG_BYTES + "\n", "larger than"),
    }
    for name, (text, expected) in cases.items():
        t0 = time.perf_counter()
        with pytest.raises(ConfigError, match=expected) as err:
            load_config(Run, write(tmp_path, text).rename(tmp_path / name))
        assert "\n" not in str(err.value) and name in str(err.value) and time.perf_counter() - t0 < 2.0
    with pytest.raises(ConfigError, match=r"command-line override 'tags=\[\[\[.*nested deeper"):
        load_config(Run, write(tmp_path, "name: a\n"), ["tags=" + "[" * 100 + "]" * 100])
    ok = write(tmp_path, "name: a\ntags: &t [x, y]\noptim: {betas: [0.1, 0.2]}\n")
    assert load_config(Run, ok).tags == ["x", "y"]  # ordinary anchors still work


@dataclass(frozen=True)
class Counts:
    episodes: int = 3  # generic: >= 1
    seed: int = 0  # generic: 0..2**32-1
    rate: float = 0.5  # generic: finite

    def __post_init__(self) -> None:
        from hirl.config import in_range

        in_range("rate", self.rate, 0.0, 1.0)


@pytest.mark.parametrize("text, expected", [
    ("episodes: 0\n", "key 'episodes': must be >= 1, got 0"),
    ("seed: -1\n", "key 'seed': must be in 0..4294967295, got -1"),
    ("seed: 100000000000000000000\n", "key 'seed': expected a 64-bit int"),
    ("rate: .nan\n", "key 'rate': expected a finite float, got nan"),
    ("rate: .inf\n", "key 'rate': expected a finite float, got inf"),
    ("rate: 2\n", r"key 'rate': must be in 0.0..1.0, got 2.0"),  # FieldError from __post_init__ names the field
])
def test_generic_ranges_and_field_errors_name_the_key(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(Counts, write(tmp_path, text))


def test_collect_settings_errors_name_the_run_config_key(tmp_path):
    from hirl.learn.run_config import RunConfig

    with pytest.raises(ConfigError, match=r"cfg.yaml: key 'collect.episodes': must be >= 1, got -1"):
        load_config(RunConfig, write(tmp_path, "collect: {episodes: -1}\n"))
    with pytest.raises(ConfigError, match=r"command-line override: key 'collect.chain_length': must be in 1..5, got 0"):
        load_config(RunConfig, None, ["collect.chain_length=0"])
