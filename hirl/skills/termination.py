"""Skill termination as a replan rule: each active skill ends when its own completion detector fires or after its own
timeout (an option's beta, always bounded in time). Subgoals of no skill end after the default timeout."""
from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from hirl.hierarchy.completion import CompletionDetector
from hirl.hierarchy.replan import ReplanContext, ReplanRule
from hirl.registry import COMPLETION_DETECTORS
from hirl.types import Subgoal


class Skills(Protocol):
    """What the rule reads of a skill library (hirl.skills.library.SkillLibrary): its skills (name, detector,
    detector_args, timeout) and the skill a subgoal belongs to."""

    def __iter__(self) -> Iterator[Any]: ...

    def of(self, subgoal: Subgoal) -> Any: ...


class SkillTermination(ReplanRule):
    """decide(ctx): "completion" when the active skill's detector fires, "timeout" after its timeout.

    extra: non-config detector arguments (EnvAdapter.detector_extra, e.g. Tabletop's canonicalize), each passed only to
    detectors whose constructor takes it."""

    def __init__(self, library: Skills, extra: Mapping[str, Any] | None = None, default_timeout: int = 300) -> None:
        if default_timeout < 1:
            raise ValueError(f"SkillTermination.default_timeout must be >= 1, got {default_timeout}")
        self.library, self.default_timeout = library, int(default_timeout)
        self._detectors: dict[str, CompletionDetector] = {}
        for skill in library:
            factory = COMPLETION_DETECTORS.get(skill.detector)
            accepted = inspect.signature(factory).parameters
            kw = {k: v for k, v in (extra or {}).items() if k in accepted and k not in skill.detector_args}
            self._detectors[skill.name] = factory(**skill.detector_args, **kw)

    def reset(self) -> None:
        for d in self._detectors.values():
            d.reset()

    def decide(self, ctx: ReplanContext) -> str | None:
        skill = self.library.of(ctx.subgoal)
        if skill is None:
            return "timeout" if ctx.steps_since_replan >= self.default_timeout else None
        if self._detectors[skill.name].done(ctx.obs, ctx.subgoal, ctx.info):
            return "completion"
        return "timeout" if ctx.steps_since_replan >= skill.timeout else None
