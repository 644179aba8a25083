"""The `replan:` section as a tagged union: today's fields (the shorthand) or `{rule: NAME, ...}` of any registered
rule, built recursively from REPLAN_RULES; a plugin's rule (examples/reacher_plugin) named from YAML."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hirl.config import ConfigError, FieldError, from_dict, load_config, to_dict
from hirl.hierarchy import (
    AnyOf, AnyOfConfig, FixedInterval, FixedIntervalConfig, OnCompletion, OnCompletionConfig, OnOverride, ReplanConfig,
    ReplanContext, RuleConfig, build_replan_rule,
)
from hirl.learn.run_config import RunConfig
from hirl.types import Subgoal

ROOT = Path(__file__).resolve().parents[2]
GOAL = Subgoal("state", [0.0, 0.0])


def ctx(since: int, achieved: tuple[float, float] = (1.0, 1.0)) -> ReplanContext:
    return ReplanContext(since, since, GOAL, {"achieved_goal": np.array(achieved)}, {}, None)


def test_a_rule_tree_builds_recursively_and_round_trips() -> None:
    raw = {"rule": "any_of", "rules": [
        {"rule": "on_completion", "detector": "state_distance", "detector_args": {"epsilon": 0.1}, "timeout": 20},
        {"rule": "fixed_interval", "n": 5},
        {"rule": "any_of", "rules": [{"rule": "on_override"}]},
        {"timeout": 7, "detector": "state_distance"},  # the shorthand is valid inside a tree too
    ]}
    cfg = from_dict(RunConfig, {"replan": raw})
    assert isinstance(cfg.replan, AnyOfConfig) and isinstance(cfg.replan.rules[1], FixedIntervalConfig)
    assert isinstance(cfg.replan.rules[3], ReplanConfig)
    rule = build_replan_rule(cfg.replan)
    assert isinstance(rule, AnyOf) and [type(r) for r in rule.rules] == [OnCompletion, FixedInterval, AnyOf, OnCompletion]
    assert rule.decide(ctx(5)) == "interval" and rule.decide(ctx(1, (0.0, 0.0))) == "completion"
    assert from_dict(RunConfig, to_dict(cfg)) == cfg  # a saved run config loads back as the same tree
    assert cfg.replan.subgoal_steps() == 5  # the first bound that fires


def test_the_shorthand_is_unchanged() -> None:
    cfg = from_dict(RunConfig, {"replan": {"detector": "state_distance", "interval": 5, "timeout": 20}})
    assert type(cfg.replan) is ReplanConfig
    assert to_dict(cfg)["replan"] == to_dict(ReplanConfig(detector="state_distance", interval=5, timeout=20))
    assert isinstance(RunConfig().replan, ReplanConfig) and "rule" not in to_dict(RunConfig())["replan"]
    assert cfg.replan.with_interval(3) == ReplanConfig(detector="state_distance", interval=3, timeout=20)
    assert isinstance(build_replan_rule(ReplanConfig(on_completion=False)), OnOverride)


def test_a_tagged_rule_with_an_interval_is_wrapped_in_any_of() -> None:
    cfg = OnCompletionConfig(detector="chain_progress", timeout=30)
    wrapped = cfg.with_interval(4)
    assert wrapped == AnyOfConfig(rules=[cfg, FixedIntervalConfig(n=4)])
    assert isinstance(build_replan_rule(wrapped), AnyOf)


@pytest.mark.parametrize(("raw", "key", "problem"), [
    ({"rule": "nope"}, "replan.rule", "unknown replan rule 'nope' (known: any_of, fixed_interval"),
    ({"rule": 3}, "replan.rule", "expected a replan rule name"),
    ({"rule": "fixed_interval"}, "replan.n", "missing required key"),
    ({"rule": "fixed_interval", "n": 2, "timeout": 3}, "replan.timeout", "unknown key; known keys: rule, n"),
    ({"rule": "any_of", "rules": []}, "replan.rules", "name at least one rule"),
    ({"rule": "any_of", "rules": [{"rule": "fixed_interval", "n": 0}]}, "replan.rules[0].n", "must be >= 1"),
    ({"rule": "on_override", "x": 1}, "replan.x", "unknown key; known keys: rule"),
])
def test_a_bad_rule_is_one_line_naming_the_key(raw: dict, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(RunConfig, {"replan": raw}, "run.yaml")
    assert str(err.value).startswith(f"run.yaml: key '{key}': ") and problem in str(err.value)


def test_validate_names_the_unknown_detector_inside_a_tree() -> None:
    from hirl.learn.validate import validate

    cfg = from_dict(RunConfig, {"text_encoder": "hash", "replan": {"rule": "any_of", "rules": [
        {"rule": "fixed_interval", "n": 3}, {"rule": "on_completion", "detector": "nope"}]}})
    with pytest.raises(FieldError, match=r"^replan\.rules\[1\]\.detector: unknown 'nope'"):
        validate(cfg)
    with pytest.raises(FieldError, match=r"^rule: 'fixed_interval' is configured by FixedIntervalConfig"):
        RuleConfig(rule="fixed_interval").validate()


@pytest.fixture
def reacher_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """examples/ on the path; what importing the plugin registers (and the plugin list that collection workers import)
    is undone afterwards, so later tests see hirl's own registries."""
    import hirl.plugins
    from hirl.integrations import ENVIRONMENTS
    from hirl.registry import COMPLETION_DETECTORS, REPLAN_RULES

    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    for registry in (ENVIRONMENTS, COMPLETION_DETECTORS, REPLAN_RULES):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_lazy", dict(registry._lazy))
    monkeypatch.setattr(hirl.plugins, "_imported", list(hirl.plugins._imported))
    yield
    for name in [m for m in sys.modules if m == "reacher_plugin" or m.startswith("reacher_plugin.")]:
        del sys.modules[name]


@pytest.mark.usefixtures("reacher_plugin")
def test_the_reacher_plugins_rule_is_named_from_yaml() -> None:
    """examples/reacher_plugin/reacher.yaml names the plugin's `stalled` rule inside `rule: any_of`."""
    cfg = load_config(RunConfig, ROOT / "examples" / "reacher_plugin" / "reacher.yaml")
    plugin = sys.modules["reacher_plugin.plugin"]
    assert isinstance(cfg.replan, AnyOfConfig) and isinstance(cfg.replan.rules[1], plugin.StalledConfig)
    cfg.replan.validate()
    rule = build_replan_rule(cfg.replan)
    assert isinstance(rule.rules[1], plugin.Stalled) and rule.rules[1].window == 10
    stuck = [rule.decide(ctx(s)) for s in range(1, 13)]  # the fingertip never moves: the plugin's rule fires
    assert stuck[:10] == [None] * 10 and stuck[10] == "stalled"
    rule.reset()
    moving = [rule.decide(ctx(s, (1.0 - 0.01 * s, 1.0))) for s in range(1, 13)]  # closing 1 cm per step: never
    assert moving == [None] * 12
    with pytest.raises(ConfigError, match=r"key 'replan.rules\[0\].window': must be >= 1"):
        load_config(RunConfig, ROOT / "examples" / "reacher_plugin" / "reacher.yaml",
                    ["replan={rule: any_of, rules: [{rule: stalled, window: 0}]}"])
