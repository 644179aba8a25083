from dataclasses import dataclass, field
from typing import Literal

import pytest
import yaml

from hirl.config import MAX_BASE_FILES, ConfigError, load_config, merge_over, save_config
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


# -- base: files (includes): the file's own keys deep-merged over its bases', overrides over everything
def test_base_merges_mappings_and_replaces_lists_and_scalars(tmp_path):
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "base.yaml").write_text("name: b\nsteps: 3\noptim: {lr: 0.5, betas: [0.1, 0.2]}\n"
                                                   "tags: [x, y]\nreplan: {interval: 4}\n")
    p = write(tmp_path, "base: common/base.yaml\nsteps: 7\noptim: {lr: 0.01}\ntags: [z]\n")
    cfg = load_config(Run, p)
    assert cfg == Run("b", 7, "fast", Optim(0.01, (0.1, 0.2)), ["z"], ReplanConfig(interval=4))
    assert merge_over({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "d": None}) == {"a": {"b": 1, "c": [2]},
                                                                                             "d": None}


def test_bases_chain_and_lists_apply_in_order(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nsteps: 1\nmode: slow\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text("base: ../a.yaml\nsteps: 2\noptim: {lr: 0.2}\n")  # relative to b.yaml
    (tmp_path / "c.yaml").write_text("steps: 3\noptim: {betas: [0.3, 0.4]}\n")
    p = write(tmp_path, "base: [sub/b.yaml, c.yaml]\ntags: [t]\n")  # c.yaml is merged over the chain b -> a
    assert load_config(Run, p) == Run("a", 3, "slow", Optim(0.2, (0.3, 0.4)), ["t"])
    (tmp_path / "d.yaml").write_text("base: [c.yaml, c.yaml]\nname: d\n")  # a base named twice is not a cycle
    assert load_config(Run, tmp_path / "d.yaml").steps == 3


def test_overrides_win_over_the_file_and_its_bases(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nsteps: 1\noptim: {lr: 0.5}\n")
    p = write(tmp_path, "base: a.yaml\nsteps: 2\n")
    cfg = load_config(Run, p, ["steps=9", "optim.lr=0.7", "name=o"])
    assert (cfg.name, cfg.steps, cfg.optim.lr) == ("o", 9, 0.7)


def test_saved_config_has_no_base_and_loads_back(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\noptim: {lr: 0.5}\n")
    cfg = load_config(Run, write(tmp_path, "base: a.yaml\nsteps: 2\n"), ["seed=4"])
    out = save_config(cfg, tmp_path / "run" / "config.yaml")
    (tmp_path / "a.yaml").unlink()  # the saved file stands alone
    assert "base" not in yaml.safe_load(out.read_text()) and load_config(Run, out) == cfg


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"cfg.yaml": "base: cfg.yaml\nname: a\n"}, r"cfg.yaml: key 'base': base files form a cycle: \S*cfg.yaml -> "),
        ({"cfg.yaml": "base: a.yaml\n", "a.yaml": "base: [b.yaml]\n", "b.yaml": "base: a.yaml\n"},
         r"b.yaml: key 'base': base files form a cycle: \S*a.yaml -> \S*b.yaml -> \S*a.yaml$"),
        ({"cfg.yaml": "base: nope.yaml\nname: a\n"}, r"cfg.yaml: key 'base': base \S*nope.yaml: config file not found"),
        ({"cfg.yaml": "base: [a.yaml, nope.yaml]\n", "a.yaml": "name: a\n"},
         r"cfg.yaml: key 'base\[1\]': base \S*nope.yaml: config file not found"),
        ({"cfg.yaml": "base: a.yaml\n", "a.yaml": "- 1\n"},
         r"cfg.yaml: key 'base': base \S*a.yaml: top level must be a mapping, got list"),
        ({"cfg.yaml": "base: 3\nname: a\n"}, r"cfg.yaml: key 'base': expected a config file path .*got int 3"),
        ({"cfg.yaml": "base: a.yaml\nsteps: 1\n", "a.yaml": "name: a\nstesp: 1\n"},
         r"a.yaml \(a base of \S*cfg.yaml\): key 'stesp': unknown key"),
        ({"cfg.yaml": "base: [a.yaml, b.yaml]\n", "a.yaml": "name: a\noptim: {lr: x}\n", "b.yaml": "optim: {lr: y}\n"},
         r"b.yaml \(a base of \S*cfg.yaml\): key 'optim.lr': expected float"),  # the last base to set it
        ({"cfg.yaml": "base: a.yaml\noptim: {lr: x}\n", "a.yaml": "name: a\noptim: {lr: 1}\n"},
         r"^\S*cfg.yaml: key 'optim.lr': expected float"),
        ({"cfg.yaml": "base: a.yaml\ntags: [1]\n", "a.yaml": "tags: [x]\n"}, r"^\S*cfg.yaml: key 'name': missing"),
    ],
)
def test_base_errors_are_one_line_naming_file_and_key(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=expected) as err:
        load_config(Run, tmp_path / "cfg.yaml")
    assert "\n" not in str(err.value)


def test_base_files_are_limited(tmp_path):
    names = [f"b{i}.yaml" for i in range(MAX_BASE_FILES + 1)]
    for name in names:
        (tmp_path / name).write_text("steps: 1\n")
    with pytest.raises(ConfigError, match=rf"key 'base\[{MAX_BASE_FILES}\]': more than {MAX_BASE_FILES} base files"):
        load_config(Run, write(tmp_path, f"base: {names}\nname: a\n"))


def test_run_kind_and_names_are_read_through_base_files(tmp_path):
    from hirl.runs import config_kind, run_kind

    (tmp_path / "a.yaml").write_text("kind: rl\nstage: nope\n")
    p = write(tmp_path, "base: a.yaml\nsteps: 100\n")
    assert config_kind(p) == "rl"
    with pytest.raises(ConfigError, match=r"a.yaml \(a base of \S*cfg.yaml\): key 'stage': must be one of"):
        run_kind("rl").read_config(p)
    assert run_kind("rl").read_config(p, ["stage=flat"]).steps == 100
