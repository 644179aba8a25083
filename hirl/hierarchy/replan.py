"""Replan rules: when is the high level asked for a new subgoal?

A rule is a pure decision on a ReplanContext: `decide(ctx)` returns the reason to replan
("interval", "completion", "timeout", "override") or None to keep the current subgoal.
Rules compose with AnyOf; the first rule that fires names the reason.
"""
from __future__ import annotations

import abc
import inspect
from dataclasses import dataclass, field
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hirl.hierarchy.completion import CompletionDetector
from hirl.registry import COMPLETION_DETECTORS, REPLAN_RULES
from hirl.types import Observation, Subgoal


@dataclass(frozen=True)
class ReplanContext:
    """What a rule may look at, once per control step while a subgoal is active.

    step                control steps since the episode started
    steps_since_replan  control steps the current subgoal has been executed (>= 1 when a rule is asked)
    subgoal             the active subgoal
    obs, info           the latest observation and env info (info is {} when the caller has none)
    override            a correction waiting to take effect, else None
    """

    step: int
    steps_since_replan: int
    subgoal: Subgoal
    obs: Observation
    info: Mapping[str, Any] = field(default_factory=dict)
    override: Subgoal | None = None


class ReplanRule(abc.ABC):
    def reset(self) -> None:
        """Called at the start of every episode."""

    @abc.abstractmethod
    def decide(self, ctx: ReplanContext) -> str | None:
        """Reason to replan now, or None."""

    def should_replan(self, ctx: ReplanContext) -> bool:
        return self.decide(ctx) is not None


@REPLAN_RULES.register("fixed_interval")
class FixedInterval(ReplanRule):
    """Replan every n control steps: robust to detector failures; n trades recovery delay against high-level load."""

    def __init__(self, n: int) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"FixedInterval.n must be an int >= 1, got {n!r}")
        self.n = n

    def decide(self, ctx: ReplanContext) -> str | None:
        return "interval" if ctx.steps_since_replan >= self.n else None


@REPLAN_RULES.register("on_completion")
class OnCompletion(ReplanRule):
    """Replan when the detector says the subgoal is complete, or after `timeout` steps without completion.

    The timeout is mandatory: a detector that never fires must not stall the robot.
    """

    def __init__(self, detector: CompletionDetector, timeout: int) -> None:
        if not isinstance(timeout, int) or timeout < 1:
            raise ValueError(f"OnCompletion.timeout must be an int >= 1 (control steps), got {timeout!r}")
        self.detector, self.timeout = detector, timeout

    def reset(self) -> None:
        self.detector.reset()

    def decide(self, ctx: ReplanContext) -> str | None:
        if self.detector.done(ctx.obs, ctx.subgoal, ctx.info):
            return "completion"
        return "timeout" if ctx.steps_since_replan >= self.timeout else None


@REPLAN_RULES.register("on_override")
class OnOverride(ReplanRule):
    """Switch subgoal when a correction arrives. The agent always applies a pending override first, so
    as the only rule this means: the high level is asked once per episode and only correctors change the subgoal."""

    def decide(self, ctx: ReplanContext) -> str | None:
        return "override" if ctx.override is not None else None


@REPLAN_RULES.register("any_of")
class AnyOf(ReplanRule):
    """Fires when any of its rules fires; the first one (in order) names the reason."""

    def __init__(self, rules: Sequence[ReplanRule]) -> None:
        if not rules:
            raise ValueError("AnyOf needs at least one rule")
        self.rules = list(rules)

    def reset(self) -> None:
        for rule in self.rules:
            rule.reset()

    def decide(self, ctx: ReplanContext) -> str | None:
        for rule in self.rules:
            reason = rule.decide(ctx)
            if reason is not None:
                return reason
        return None


@dataclass(frozen=True)
class ReplanConfig:
    """Which replan rules to combine (AnyOf of the enabled ones; neither enabled = OnOverride only).
    Corrections always switch the subgoal at the next step."""

    on_completion: bool = True  # replan when the completion detector fires, or after `timeout` steps
    timeout: int = 300  # control steps before an incomplete subgoal is abandoned (6 s at 50 Hz)
    interval: int | None = None  # also replan every `interval` control steps; null turns it off
    detector: str = "env_predicate"  # registered completion detector: env_predicate | state_distance
    detector_args: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the detector (e.g. epsilon)
    noise_false_positive: float = 0.0  # probability per step that the detector fires falsely (studies only)
    noise_false_negative: float = 0.0  # probability per step that the detector misses a completion (studies only)

    def __post_init__(self) -> None:
        if self.timeout < 1:
            raise ValueError(f"replan.timeout must be >= 1 control step, got {self.timeout}")
        if self.interval is not None and self.interval < 1:
            raise ValueError(f"replan.interval must be >= 1 control step or null, got {self.interval}")


def build_replan_rule(cfg: ReplanConfig, detector_extra: Mapping[str, Any] | None = None, seed: int = 0) -> ReplanRule:
    """Rule described by cfg. detector_extra: non-config detector arguments supplied by the caller (e.g. the env's
    canonicalize); each is passed only to a detector whose constructor takes it."""
    rules: list[ReplanRule] = []
    if cfg.on_completion:
        factory: Callable[..., CompletionDetector] = COMPLETION_DETECTORS.get(cfg.detector)
        accepted = inspect.signature(factory).parameters
        extra = {k: v for k, v in (detector_extra or {}).items() if k in accepted and k not in cfg.detector_args}
        try:
            detector = factory(**dict(cfg.detector_args), **extra)
        except TypeError as exc:
            raise ValueError(f"replan.detector_args for {cfg.detector!r}: {exc}") from None
        if cfg.noise_false_positive or cfg.noise_false_negative:
            detector = COMPLETION_DETECTORS.build(
                "noisy", inner=detector, false_positive=cfg.noise_false_positive,
                false_negative=cfg.noise_false_negative, seed=seed,
            )
        rules.append(REPLAN_RULES.build("on_completion", detector=detector, timeout=cfg.timeout))
    if cfg.interval is not None:
        rules.append(REPLAN_RULES.build("fixed_interval", n=cfg.interval))
    if not rules:  # neither completion nor interval: the high level is asked once, corrections do the rest
        return REPLAN_RULES.build("on_override")
    return rules[0] if len(rules) == 1 else REPLAN_RULES.build("any_of", rules=rules)
