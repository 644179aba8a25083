"""Code-policy high level: a small Python file written by a user chooses the next skill by name.

    # examples/skills/tower.py
    TASK = "tower"                                 # optional: the env goal task it solves (Tabletop goal_task)
    def next_skill(state, done, skills) -> str:    # state: SkillState; done: skill names completed so far (in order);
        ...                                        # skills: the library's skill names; returns one of them

The file is the user's own program and is imported (executed) as such: run only files you wrote or trust.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hirl.errors import InputError
from hirl.integrations import adapter as env_adapter
from hirl.policies.base import HighLevelPolicy
from hirl.skills.library import SkillLibrary
from hirl.types import Command, Observation, Subgoal

NextSkill = Callable[["SkillState", list[str], list[str]], str]


@dataclass(frozen=True)
class CodePolicy:
    """A loaded policy file: next_skill, the goal task it declares (TASK, or None) and its path."""

    next_skill: NextSkill
    task: str | None
    path: Path


def load_code_policy(path: str | Path) -> CodePolicy:
    """Import the file at path; InputError naming the file when it is missing or defines no next_skill."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"code policy {path}: no such file")
    spec = importlib.util.spec_from_file_location(f"hirl_code_policy_{abs(hash(str(path.resolve())))}", path)
    if spec is None or spec.loader is None:
        raise InputError(f"code policy {path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: any error is reported as bad input, in one line
        raise InputError(f"code policy {path}: importing it failed: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, "next_skill", None)
    if not callable(fn):
        raise InputError(f"code policy {path}: defines no function next_skill(state, done, skills) -> str")
    task = getattr(module, "TASK", None)
    return CodePolicy(fn, None if task is None else str(task), path)


class SkillState:
    """What a code policy sees: obs and info (the env's), `facts` (the env's symbolic state, EnvAdapter.facts; {}
    without one) and the library's initiation check."""

    def __init__(self, obs: Observation, info: Mapping[str, Any], library: SkillLibrary,
                 facts: Mapping[str, Any]) -> None:
        self.obs, self.info, self.library, self.facts = obs, info, library, facts

    def why_not(self, name: str) -> str | None:
        """None when skill `name` may start now, else the reason it may not."""
        skill = self.library.get(name)
        return skill.initiation.why_not(skill, self.obs, self.info)

    def can_start(self, name: str) -> bool:
        return self.why_not(name) is None


class CodeHighLevel(HighLevelPolicy):
    """Proposes Subgoal(the chosen skill's subgoal) from policy.next_skill. The latest info comes from the agent's
    act (observe_info, called by CodeAgent before each step); `done` collects the skills judged complete."""

    def __init__(self, policy: CodePolicy, library: SkillLibrary, facts: Callable[[Observation], dict[str, Any]] | None
                 = None) -> None:
        self.policy, self.library, self.facts = policy, library, facts
        self.done: list[str] = []
        self.info: Mapping[str, Any] = {}

    def reset(self) -> None:
        self.done, self.info = [], {}

    def completed(self, subgoal: Subgoal) -> None:
        skill = self.library.of(subgoal)
        if skill is not None:
            self.done.append(skill.name)

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        facts = self.facts(obs) if self.facts is not None else {}
        name = self.policy.next_skill(SkillState(obs, self.info, self.library, facts), list(self.done),
                                      self.library.names)
        if not isinstance(name, str) or name not in self.library:
            raise InputError(f"code policy {self.policy.path}: next_skill returned {name!r}, not a skill name "
                             f"(library: {', '.join(self.library.names)})")
        return self.library.get(name).subgoal


def facts_fn(env_id: str) -> Callable[[Observation], dict[str, Any]] | None:
    """The env's symbolic-state reader for code policies (EnvAdapter.facts), or None."""
    return env_adapter(env_id).facts
