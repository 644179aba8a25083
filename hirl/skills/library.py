"""Skills as options and the skill library.

An option is (initiation set I, intra-option policy, termination beta). Here a `Skill` is

    name, description   an identifier and its language description ("open_drawer", "open the drawer")
    subgoal             what the low level is conditioned on while the skill runs (its intra-option policy is the
                        goal-conditioned low level under this subgoal: a language instruction, a goal state, or a
                        discovered skill's code vector)
    initiation          where it may start: an InitiationSet (registered in INITIATIONS; serialised by name)
    detector, timeout   termination: a registered completion detector (COMPLETION_DETECTORS) and a mandatory
                        timeout in control steps

    library = SkillLibrary.for_env(env)                  # Tabletop: one skill per subtask, initiation from its preconditions
    library.save("skills.yaml"); SkillLibrary.load("skills.yaml")
    agent = HierarchicalAgent(high, low, library.termination(env), initiation=library.initiation)
"""
from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hirl.errors import InputError
from hirl.fileio import atomic_write_text
from hirl.integrations import adapter as env_adapter
from hirl.registry import Registry
from hirl.skills.termination import SkillTermination
from hirl.types import Observation, Subgoal

INITIATIONS: Registry[Any] = Registry("skill initiation")
DEFAULT_TIMEOUT = 300  # control steps a skill may run before it is abandoned (6 s at 50 Hz)


class InitiationSet(abc.ABC):
    """I(s): why_not(skill, obs, info) -> None when the skill may start from obs, else a short reason."""

    kind: str = ""  # the INITIATIONS name this set is serialised under

    @abc.abstractmethod
    def why_not(self, skill: Skill, obs: Observation, info: Mapping[str, Any]) -> str | None: ...

    def spec(self) -> dict[str, Any]:
        """The YAML form: {"kind": name, **constructor arguments}."""
        return {"kind": self.kind}


@INITIATIONS.register("always")
class Always(InitiationSet):
    """Every state is in the initiation set."""

    kind = "always"

    def why_not(self, skill: Skill, obs: Observation, info: Mapping[str, Any]) -> str | None:
        return None


@INITIATIONS.register("env")
class EnvPrecondition(InitiationSet):
    """The env adapter's preconditions (EnvAdapter.can_start(skill name, obs)), e.g. Tabletop's: place needs the block
    held or free to grasp and the drawer open."""

    kind = "env"

    def __init__(self, env_id: str) -> None:
        self.env_id = env_id
        can_start = env_adapter(env_id).can_start
        if can_start is None:
            raise InputError(f"skill initiation 'env': {env_id} has no preconditions (EnvAdapter.can_start); use "
                             f"'always' or a learned initiation classifier")
        self._can_start = can_start

    def why_not(self, skill: Skill, obs: Observation, info: Mapping[str, Any]) -> str | None:
        return self._can_start(skill.name, obs)

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "env_id": self.env_id}


@INITIATIONS.register("learned")
class LearnedInitiation(InitiationSet):
    """A learned affordance classifier (hirl.skills.affordance.AffordanceModel at `path`): the skill may start when its
    predicted success probability from obs is at least `threshold` (for envs without predicates)."""

    kind = "learned"

    def __init__(self, path: str, threshold: float = 0.2) -> None:
        from hirl.skills.affordance import AffordanceModel

        if not 0.0 < threshold < 1.0:
            raise InputError(f"skill initiation 'learned': threshold must be in (0, 1), got {threshold}")
        self.path, self.threshold = str(path), float(threshold)
        self.model = AffordanceModel.load(path)

    def why_not(self, skill: Skill, obs: Observation, info: Mapping[str, Any]) -> str | None:
        p = float(self.model.probabilities(obs, [skill.name])[0])
        return None if p >= self.threshold else f"predicted success {p:.2f} < {self.threshold:.2f}"

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "threshold": self.threshold}


@dataclass(frozen=True)
class Skill:
    """One option (see the module docstring). detector_args: keyword arguments of the detector (YAML-ready)."""

    name: str
    description: str
    subgoal: Subgoal
    initiation: InitiationSet = field(default_factory=Always)
    detector: str = "env_predicate"  # registered completion detector ending the skill
    detector_args: dict[str, Any] = field(default_factory=dict)  # its keyword arguments (YAML values)
    timeout: int = DEFAULT_TIMEOUT  # control steps before the skill is abandoned

    def __post_init__(self) -> None:
        if not self.name or not self.description:
            raise ValueError("Skill needs a non-empty name and description")
        if not isinstance(self.timeout, int) or self.timeout < 1:
            raise ValueError(f"skill {self.name!r}: timeout must be an int >= 1 (control steps), got {self.timeout!r}")
        if self.subgoal.kind != "language" and not self.subgoal.label:  # traces name the skill, not its vector
            object.__setattr__(self, "subgoal", Subgoal(self.subgoal.kind, self.subgoal.value, self.subgoal.source,
                                                        self.description))

    def to_dict(self) -> dict[str, Any]:
        value = self.subgoal.value if self.subgoal.kind == "language" else np.asarray(self.subgoal.value).tolist()
        return {"name": self.name, "description": self.description,
                "subgoal": {"kind": self.subgoal.kind, "value": value, "label": self.subgoal.label},
                "initiation": self.initiation.spec(), "detector": self.detector,
                "detector_args": dict(self.detector_args), "timeout": self.timeout}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "skill") -> Skill:
        """The skill of to_dict(); InputError naming `where` and the field for bad input."""
        try:
            sg, init = dict(d["subgoal"]), dict(d.get("initiation") or {"kind": "always"})
            kind = init.pop("kind")
            if kind not in INITIATIONS:
                raise InputError(f"{where}: initiation.kind {kind!r} unknown (known: {', '.join(INITIATIONS.names())})")
            if sg["kind"] not in ("language", "state"):
                raise InputError(f"{where}: subgoal.kind must be language or state, got {sg['kind']!r}")
            return cls(str(d["name"]), str(d["description"]),
                       Subgoal(sg["kind"], sg["value"], "policy", str(sg.get("label", ""))),
                       INITIATIONS.build(kind, **init), str(d.get("detector", "env_predicate")),
                       dict(d.get("detector_args") or {}), int(d.get("timeout", DEFAULT_TIMEOUT)))
        except KeyError as exc:
            raise InputError(f"{where}: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: {exc}") from None


class SkillLibrary:
    """An ordered set of skills, looked up by name or by the subgoal a high level proposed."""

    def __init__(self, skills: list[Skill], env_id: str = "") -> None:
        names = [s.name for s in skills]
        if len(set(names)) != len(names):
            raise ValueError(f"skill library: duplicate skill names in {names}")
        if not skills:
            raise ValueError("skill library: no skills")
        self.env_id = env_id
        self._skills = {s.name: s for s in skills}
        self._by_text = {s.description: s for s in skills if s.subgoal.kind == "language"}
        self._by_text.update({str(s.subgoal.value): s for s in skills if s.subgoal.kind == "language"})

    def __iter__(self) -> Iterator[Skill]:
        return iter(self._skills.values())

    def __len__(self) -> int:
        return len(self._skills)

    def __contains__(self, name: object) -> bool:
        return name in self._skills

    @property
    def names(self) -> list[str]:
        return list(self._skills)

    def get(self, name: str) -> Skill:
        if name not in self._skills:
            raise InputError(f"unknown skill {name!r} (library: {', '.join(self._skills)})")
        return self._skills[name]

    def of(self, subgoal: Subgoal) -> Skill | None:
        """The skill whose subgoal this is (same language text or the same goal vector), else None."""
        if subgoal.kind == "language":
            return self._by_text.get(str(subgoal.value))
        return next((s for s in self if s.subgoal.same_goal(subgoal)), None)

    def initiation(self, subgoal: Subgoal, obs: Observation, info: Mapping[str, Any]) -> str | None:
        """HierarchicalAgent's initiation check: None when the proposal may start (subgoals of no skill always may)."""
        skill = self.of(subgoal)
        return None if skill is None else skill.initiation.why_not(skill, obs, info)

    def termination(self, env: Any, default_timeout: int = DEFAULT_TIMEOUT) -> Any:
        """The replan rule ending each skill by its own detector and timeout (hirl.skills.termination)."""
        extra = env_adapter(self.env_id).detector_extra(env) if self.env_id else {}
        return SkillTermination(self, extra, default_timeout)

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        return {"env_id": self.env_id, "skills": [s.to_dict() for s in self]}

    def save(self, path: str | Path) -> Path:
        """Write the library as YAML (atomic)."""
        return atomic_write_text(Path(path), yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load(cls, path: str | Path) -> SkillLibrary:
        """A library written by save(); InputError naming the file and the bad entry."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no skill library file")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(data, dict) or not isinstance(data.get("skills"), list):
            raise InputError(f"{path}: a skill library is a mapping with a 'skills' list")
        skills = [Skill.from_dict(d, f"{path}: skills[{i}]") for i, d in enumerate(data["skills"])]
        return cls(skills, str(data.get("env_id", "")))

    @classmethod
    def for_env(cls, env_id: str, timeout: int = DEFAULT_TIMEOUT) -> SkillLibrary:
        """The env's subtask vocabulary as a library (EnvAdapter.skills), initiation from its preconditions
        (EnvAdapter.can_start) and termination by its predicate (env_predicate) or `timeout` steps."""
        ad = env_adapter(env_id)
        if ad.skills is None:
            raise InputError(f"{env_id} has no skill vocabulary (EnvAdapter.skills); build a SkillLibrary yourself")
        init: InitiationSet = EnvPrecondition(env_id) if ad.can_start is not None else Always()
        skills = [Skill(name, text, Subgoal("language", text), init, "env_predicate", {}, timeout)
                  for name, text in ad.skills().items()]
        return cls(skills, env_id)


__all__ = ["DEFAULT_TIMEOUT", "INITIATIONS", "Always", "EnvPrecondition", "InitiationSet", "LearnedInitiation", "Skill",
           "SkillLibrary"]
