"""Replan rules: when is the high level asked for a new subgoal?

A rule is a pure decision on a ReplanContext: `decide(ctx)` returns the reason to replan
("interval", "completion", "undone", "timeout", "override", or a plugin rule's own) or None to keep the current subgoal.
Rules compose with AnyOf; the first rule that fires names the reason.

A run config's `replan:` section (ReplanSpec) is either today's fields (ReplanConfig, the shorthand: a completion
detector, a timeout, an optional interval) or one registered rule by name, with its own config class declared beside
the rule (`config_cls`) and built recursively:

    replan:
      rule: any_of
      rules:
        - {rule: on_completion, detector: chain_progress, timeout: 300}
        - {rule: fixed_interval, n: 50}
        - {rule: my_plugin_rule, window: 10}    # any REPLAN_RULES entry, a plugin's too
"""
from __future__ import annotations

import abc
import dataclasses
import inspect
from dataclasses import dataclass, field
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from hirl.config import FieldError, tagged_class
from hirl.hierarchy.completion import CompletionDetector
from hirl.registry import COMPLETION_DETECTORS, REPLAN_RULES
from hirl.types import Observation, Subgoal

DEFAULT_TIMEOUT = 300  # control steps: the shorthand's timeout default (6 s at 50 Hz)
CHAIN_DONE_KEY = "completed_subtasks"  # info key of an env's completed chain subtasks (Tabletop's); OnCompletion reads it


@dataclass(frozen=True)
class ReplanSpec:
    """A `replan:` config section: ReplanConfig (today's fields) or a RuleConfig ({rule: NAME, ...}). The config
    loader picks the class from the keys (config_variant); build() makes the rule."""

    @classmethod
    def config_variant(cls, raw: Mapping[str, Any]) -> type:
        """The class to build raw as: a `rule:` key names a REPLAN_RULES entry (its config_cls), none is the shorthand.
        FieldError("rule") for a name no registry holds."""
        if cls is not ReplanSpec:
            return cls
        return tagged_class(raw, "rule", rule_config_class, "a replan rule name", ReplanConfig)

    def build(self, detector_extra: Mapping[str, Any] | None = None, seed: int = 0) -> ReplanRule:
        """The rule. detector_extra: non-config detector arguments supplied by the caller (e.g. the env's
        canonicalize), each passed only to a detector whose constructor takes it; seed: noisy detectors' seed."""
        raise NotImplementedError(f"{type(self).__name__} builds no rule")

    def validate(self) -> None:
        """FieldError (key relative to the section) for a rule or detector name no registry holds."""

    def with_interval(self, n: int) -> ReplanSpec:
        """This rule, also replanning every n control steps (the *_ahead agents)."""
        return AnyOfConfig(rules=[self, FixedIntervalConfig(n=n)])

    def subgoal_steps(self) -> int | None:
        """The most control steps one subgoal can stay active under this rule (None: unbounded)."""
        return None


@dataclass(frozen=True, kw_only=True)
class RuleConfig(ReplanSpec):
    """One registered rule by name; subclasses (a rule's config_cls) add its arguments. The base has none: the config
    of a rule built without arguments (on_override)."""

    rule: str  # a REPLAN_RULES name

    def arguments(self) -> dict[str, Any]:
        """The rule's constructor arguments: every field but `rule`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "rule"}

    def build(self, detector_extra: Mapping[str, Any] | None = None, seed: int = 0) -> ReplanRule:
        return REPLAN_RULES.build(self.rule, **self.arguments())

    def validate(self) -> None:
        if self.rule not in REPLAN_RULES:
            raise FieldError("rule", f"unknown replan rule {self.rule!r} (known: {', '.join(REPLAN_RULES.names())})")
        if rule_config_class(self.rule) is not type(self):
            raise FieldError("rule", f"{self.rule!r} is configured by {rule_config_class(self.rule).__name__}, "
                                     f"not {type(self).__name__}")


def rule_config_class(name: str) -> type[RuleConfig]:
    """The config class of the registered rule `name` (its config_cls; RuleConfig when it declares none)."""
    return getattr(REPLAN_RULES.get(name), "config_cls", RuleConfig)


def make_detector(name: str, args: Mapping[str, Any], false_positive: float, false_negative: float,
                  extra: Mapping[str, Any] | None, seed: int) -> CompletionDetector:
    """COMPLETION_DETECTORS[name](**args, **the entries of extra its constructor takes), wrapped in the noisy detector
    when either noise probability is > 0."""
    factory: Callable[..., CompletionDetector] = COMPLETION_DETECTORS.get(name)
    accepted = inspect.signature(factory).parameters
    kw = {k: v for k, v in (extra or {}).items() if k in accepted and k not in args}
    try:
        detector = factory(**dict(args), **kw)
    except TypeError as exc:
        raise ValueError(f"replan.detector_args for {name!r}: {exc}") from None
    if false_positive or false_negative:
        detector = COMPLETION_DETECTORS.build("noisy", inner=detector, false_positive=false_positive,
                                              false_negative=false_negative, seed=seed)
    return detector


def check_detector(name: str) -> None:
    """FieldError("detector") unless a completion detector is registered under name."""
    if name not in COMPLETION_DETECTORS:
        raise FieldError("detector", f"unknown {name!r} (known: {', '.join(COMPLETION_DETECTORS.names())})")


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
    """A registered rule (REPLAN_RULES); config_cls: the RuleConfig subclass that names it in YAML (`rule:` plus its
    constructor's arguments as keys; the base RuleConfig for a rule without arguments)."""

    config_cls: ClassVar[type[RuleConfig]] = RuleConfig

    def reset(self) -> None:
        """Called at the start of every episode."""

    @abc.abstractmethod
    def decide(self, ctx: ReplanContext) -> str | None:
        """Reason to replan now, or None."""

    def should_replan(self, ctx: ReplanContext) -> bool:
        return self.decide(ctx) is not None


@dataclass(frozen=True, kw_only=True)
class FixedIntervalConfig(RuleConfig):
    """`rule: fixed_interval`: replan every n control steps."""

    rule: str = "fixed_interval"  # REPLAN_RULES name
    n: int  # control steps between replans

    def __post_init__(self) -> None:
        if self.n < 1:
            raise FieldError("n", f"must be >= 1 control step, got {self.n}")

    def subgoal_steps(self) -> int | None:
        return self.n


@REPLAN_RULES.register("fixed_interval")
class FixedInterval(ReplanRule):
    """Replan every n control steps: robust to detector failures; n trades recovery delay against high-level load."""

    config_cls = FixedIntervalConfig

    def __init__(self, n: int) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"FixedInterval.n must be an int >= 1, got {n!r}")
        self.n = n

    def decide(self, ctx: ReplanContext) -> str | None:
        return "interval" if ctx.steps_since_replan >= self.n else None


@dataclass(frozen=True, kw_only=True)
class OnCompletionConfig(RuleConfig):
    """`rule: on_completion`: replan when the completion detector fires, or after `timeout` steps."""

    rule: str = "on_completion"  # REPLAN_RULES name
    detector: str = "env_predicate"  # registered completion detector: env_predicate | state_distance | chain_progress | ...
    detector_args: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the detector (e.g. epsilon)
    timeout: int = DEFAULT_TIMEOUT  # control steps before an incomplete subgoal is abandoned
    noise_false_positive: float = 0.0  # probability per step that the detector fires falsely (studies only)
    noise_false_negative: float = 0.0  # probability per step that the detector misses a completion (studies only)

    def __post_init__(self) -> None:
        if self.timeout < 1:
            raise FieldError("timeout", f"must be >= 1 control step, got {self.timeout}")

    def build(self, detector_extra: Mapping[str, Any] | None = None, seed: int = 0) -> ReplanRule:
        detector = make_detector(self.detector, self.detector_args, self.noise_false_positive,
                                 self.noise_false_negative, detector_extra, seed)
        return REPLAN_RULES.build(self.rule, detector=detector, timeout=self.timeout)

    def validate(self) -> None:
        super().validate()
        check_detector(self.detector)

    def subgoal_steps(self) -> int | None:
        return self.timeout


@REPLAN_RULES.register("on_completion")
class OnCompletion(ReplanRule):
    """Replan when the detector says the subgoal is complete, or after `timeout` steps without completion; and
    ("undone") when the env's chain went back: fewer subtasks in info[CHAIN_DONE_KEY] than when the active subgoal
    became active (a disturbance undid one, hirl.adapters.tabletop_disturbance), so it was chosen for a chain that no
    longer holds. Envs without that key never go back.

    The timeout is mandatory: a detector that never fires must not stall the robot.
    """

    config_cls = OnCompletionConfig

    def __init__(self, detector: CompletionDetector, timeout: int) -> None:
        if not isinstance(timeout, int) or timeout < 1:
            raise ValueError(f"OnCompletion.timeout must be an int >= 1 (control steps), got {timeout!r}")
        self.detector, self.timeout = detector, timeout
        self._last: tuple[int, int | None] | None = None  # (step, chain count) of the previous decision
        self._began: int | None = None  # step at which the active subgoal became active
        self._baseline: int | None = None  # the chain count when it did (None: unknown, or no chain)

    def reset(self) -> None:
        self.detector.reset()
        self._last = self._began = self._baseline = None

    def decide(self, ctx: ReplanContext) -> str | None:
        if self._undone(ctx):
            return "undone"
        if self.detector.done(ctx.obs, ctx.subgoal, ctx.info):
            return "completion"
        return "timeout" if ctx.steps_since_replan >= self.timeout else None

    def _undone(self, ctx: ReplanContext) -> bool:
        """The chain count fell below its value when the active subgoal became active (that value is known when this
        rule decided at that step, e.g. the completion that chose the subgoal; else the count at the subgoal's first
        decision is taken: a correction typed after a disturbance is not replaced)."""
        done = ctx.info.get(CHAIN_DONE_KEY)
        count = None if done is None else len(done)
        last, self._last = self._last, (ctx.step, count)
        began = ctx.step - ctx.steps_since_replan
        if began != self._began:
            self._began = began
            self._baseline = last[1] if last is not None and last[0] == began else count
        return count is not None and self._baseline is not None and count < self._baseline


@REPLAN_RULES.register("on_override")
class OnOverride(ReplanRule):
    """Switch subgoal when a correction arrives. The agent always applies a pending override first, so
    as the only rule this means: the high level is asked once per episode and only correctors change the subgoal."""

    def decide(self, ctx: ReplanContext) -> str | None:
        return "override" if ctx.override is not None else None


class ProposalSource(Protocol):
    """A high level that emits something other than what it proposed (hirl.policies.high.rewording.Rephrasing)."""

    def proposed(self, subgoal: Subgoal) -> Subgoal:
        """The proposal behind an emitted subgoal (the subgoal itself when this high level did not emit it)."""
        ...


class ProposedSubgoalRule(ReplanRule):
    """A replan rule judging the instruction the high level proposed instead of its rewording: the env's completion
    detector (env_predicate's canonicalize) knows the canonical text, not a user's phrasing of it. The same proposal
    object is passed for the whole segment, so identity-keyed detectors (chain_progress) behave as without it.
    Not registered: it wraps the run's rule around a high level object, so agents build it in code (a reworded
    agent of hirl/runs/recipes.py), never a `replan:` section."""

    def __init__(self, inner: ReplanRule, high: ProposalSource) -> None:
        self.inner, self.high = inner, high

    def reset(self) -> None:
        self.inner.reset()

    def decide(self, ctx: ReplanContext) -> str | None:
        return self.inner.decide(dataclasses.replace(ctx, subgoal=self.high.proposed(ctx.subgoal)))


@dataclass(frozen=True, kw_only=True)
class AnyOfConfig(RuleConfig):
    """`rule: any_of`: fires when any of `rules` fires (each a `replan:` section of its own: a rule or the shorthand)."""

    rule: str = "any_of"  # REPLAN_RULES name
    rules: list[ReplanSpec] = field(default_factory=list)  # the rules, in order: the first that fires names the reason

    def __post_init__(self) -> None:
        if not self.rules:
            raise FieldError("rules", "name at least one rule")

    def build(self, detector_extra: Mapping[str, Any] | None = None, seed: int = 0) -> ReplanRule:
        return REPLAN_RULES.build(self.rule, rules=[r.build(detector_extra, seed) for r in self.rules])

    def validate(self) -> None:
        super().validate()
        for i, rule in enumerate(self.rules):
            try:
                rule.validate()
            except FieldError as exc:
                raise FieldError(f"rules[{i}].{exc.field}", exc.problem) from None

    def subgoal_steps(self) -> int | None:
        steps = [s for s in (r.subgoal_steps() for r in self.rules) if s is not None]
        return min(steps) if steps else None


@REPLAN_RULES.register("any_of")
class AnyOf(ReplanRule):
    """Fires when any of its rules fires; the first one (in order) names the reason."""

    config_cls = AnyOfConfig

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
class ReplanConfig(ReplanSpec):
    """The shorthand `replan:` section: which built-in rules to combine (AnyOf of the enabled ones; neither enabled =
    OnOverride only). Corrections always switch the subgoal at the next step."""

    on_completion: bool = True  # replan when the completion detector fires, or after `timeout` steps
    timeout: int = DEFAULT_TIMEOUT  # control steps before an incomplete subgoal is abandoned (6 s at 50 Hz)
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

    def build(self, detector_extra: Mapping[str, Any] | None = None, seed: int = 0) -> ReplanRule:
        rules: list[ReplanRule] = []
        if self.on_completion:
            detector = make_detector(self.detector, self.detector_args, self.noise_false_positive,
                                     self.noise_false_negative, detector_extra, seed)
            rules.append(REPLAN_RULES.build("on_completion", detector=detector, timeout=self.timeout))
        if self.interval is not None:
            rules.append(REPLAN_RULES.build("fixed_interval", n=self.interval))
        if not rules:  # neither completion nor interval: the high level is asked once, corrections do the rest
            return REPLAN_RULES.build("on_override")
        return rules[0] if len(rules) == 1 else REPLAN_RULES.build("any_of", rules=rules)

    def validate(self) -> None:
        if self.on_completion:
            check_detector(self.detector)

    def with_interval(self, n: int) -> ReplanSpec:
        return dataclasses.replace(self, interval=n)

    def subgoal_steps(self) -> int | None:
        return self.timeout


def build_replan_rule(cfg: ReplanSpec, detector_extra: Mapping[str, Any] | None = None, seed: int = 0) -> ReplanRule:
    """The rule cfg describes (cfg.build). detector_extra: non-config detector arguments supplied by the caller (e.g.
    the env's canonicalize); each is passed only to a detector whose constructor takes it."""
    return cfg.build(detector_extra, seed)
