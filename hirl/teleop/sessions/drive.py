"""TeleopSession: a person drives the gripper from the keyboard and labels segments with language; every
episode is written through the dataset writer as a demonstration (subgoal = the label, source "human").

Keys held in the page map to the 4-d Tabletop action through hirl.teleop.sessions.keyboard (aligned with the page's camera,
the gripper kept inside the visible workspace); a key set older than key_timeout seconds counts as released (a
lost connection stops the robot). A key set is a command, not a record: the actions it causes are recorded with
their episode, which is durable once written (a verdict waits for that).

A label is a record: label() returns once it is applied at a control step and journaled (DATASET/labels.jsonl,
fsynced); a second label at the same step replaces the first. Labels must be known skills (the env's subtask
instructions or their shipped paraphrases; the canonical instruction is what is stored), or be added explicitly as
new skills (label(text, new_skill=True); kept in DATASET/skills.json). Nothing is labelled for the person: each
episode waits, without moving, for its first label. The dataset folder is held exclusively (FolderLock) until
close()."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.replan import OnOverride
from hirl.integrations import adapter as env_adapter
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.teleop.sessions.config import SessionConfig
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.keyboard import GRIP_KEY, KEYS, KeyboardDriver
from hirl.teleop.sessions.live import LiveSession
from hirl.runs.rundir import FolderLock
from hirl.teleop.sessions.skills import SkillResolver, decode_text
from hirl.teleop.sessions.store import EpisodeStore
from hirl.types import Command, Observation, Subgoal

__all__ = ["GRIP_KEY", "KEYS", "TeleopSession"]
SKILLS_FILE = "skills.json"  # DATASET/: skills a person added explicitly


class TeleopSession(LiveSession):
    mode = "teleop"

    def __init__(self, env_id: str, out: str | Path, cfg: SessionConfig, paused: bool = False) -> None:
        ad = env_adapter(env_id)
        extra: dict[str, Any] = {}
        if env_id == "hirl/Tabletop-v0":  # a person needs longer per subtask than the expert's 5 s budget
            budget = max(1, round(cfg.teleop_subtask_seconds * 50))
            extra = {"subtask_budget": budget, "max_episode_steps": 5 * budget + 50}
        env = ad.make(render=True, width=cfg.image_size, height=cfg.image_size, **extra)
        if env.action_space.shape != (4,):
            raise InputError(f"{env_id}: teleop drives a 4-d gripper action (dx, dy, dz, grip), "
                             f"this env takes {env.action_space.shape}")
        self.driver = KeyboardDriver(cfg.teleop_speed, cfg.key_timeout, bounded=env_id == "hirl/Tabletop-v0")
        high = ScriptedHighLevel(self._first_label)
        low = ScriptedLowLevel(lambda obs, g: self.action(obs))
        lock = FolderLock(out, "teleop session").acquire()
        try:
            store = EpisodeStore(Path(out), env, env_id, "human_teleop")
        except BaseException:
            lock.release()
            raise
        # OnOverride: the high level is asked once, at the start; labels arrive as overrides
        super().__init__(env, ad, HierarchicalAgent(high, low, OnOverride()), store, cfg, paused)
        self.folder_lock = lock
        self.journal = CorrectionJournal(Path(out) / "labels.jsonl")
        self._run_id = uuid.uuid4().hex[:10]  # prefix of this process's label ids
        self.labels: list[dict[str, Any]] = []  # this process's labels (journal records), replaced ones marked
        known = list((ad.skills() if ad.skills else {}).values())
        self.added: list[str] = _read_added(Path(out) / SKILLS_FILE)
        canonical = ad.detector_extra(env).get("canonicalize")
        self.resolver = SkillResolver(known + self.added or ["(none)"], None, canonical, cfg.match_threshold,
                                      cfg.max_text, cfg.match_margin)
        self._labelled = False  # the current episode has its first label

    def _first_label(self, obs: Observation, command: Command) -> Subgoal:
        """Never asked in practice: each episode waits for its first label (hold), which acts as an override."""
        raise RuntimeError("teleop: the episode moved before its first label")

    # ------------------------------------------------------------------ UI side
    def keys(self, held: Sequence[str]) -> str:
        return self.driver.set(held)

    @property
    def label_count(self) -> int:
        return sum(1 for r in self.labels if not r.get("replaced"))

    def label(self, raw: bytes | str, new_skill: bool = False) -> str:
        """Start a new segment labelled with this skill at this control step; returns once journaled. The text must
        be a known skill (stored as its canonical instruction) unless new_skill, which adds it to the known skills
        first. InputError when it is refused, NotApplied when it was not recorded."""
        text = decode_text(raw, self.cfg.max_text, "label")
        if new_skill:
            skill = self.resolver.add(text)
            if skill not in self.added:
                self.added.append(skill)
                atomic_write_json(Path(self.store.root) / SKILLS_FILE, {"added_skills": self.added})
        else:
            skill = self.resolver.resolve(text, "label").skill
        self.submit("label", skill)
        with self.lock:
            self.message = f"labelled: {skill!r}" + (f" (typed {text!r})" if skill != text else "")
        return skill

    def action(self, obs: Observation | None = None) -> np.ndarray:
        """(4,) action in [-1, 1] from the held keys (stale keys count as released; kept in the visible workspace)."""
        return self.driver.action(obs)

    def hold(self) -> bool:
        return not self._labelled

    def before_episode(self) -> None:
        with self.lock:
            self._labelled = False
            self.driver.release()

    def extra_status(self) -> dict[str, Any]:
        return {**self.driver.status(), "labels": self.label_count, "skills": self.resolver.skills,
                "added_skills": list(self.added), "needs_label": not self._labelled}

    # ------------------------------------------------------------------ simulation thread
    def apply_request(self, kind: str, payload: Any, t: int, obs: Observation, info: Mapping[str, Any]) -> str:
        if kind != "label":
            return super().apply_request(kind, payload, t, obs, info)
        last = self.labels[-1] if self.labels else None
        same = last is not None and (last["episode"], last["step"]) == (self.episode, t) and not last.get("replaced")
        k = sum(1 for r in self.labels if (r["episode"], r["step"]) == (self.episode, t))
        record = {"id": f"{self._run_id}-e{self.episode}-s{t}" + (f"-{k}" if k else ""),
                  "replaces": last["id"] if same and last else None, "episode": self.episode, "step": int(t),
                  "time": time.time(), "text": str(payload), "kind": "label", "source": "human"}
        self.journal.append(record)  # OSError: not recorded, not applied
        self.agent.override(Subgoal("language", str(payload), "human"))
        self._labelled = True
        if same and last:
            last["replaced"] = True
        self.labels.append(record)
        return str(payload)

    def on_finish(self) -> None:
        self.store.assemble()


def _read_added(path: Path) -> list[str]:
    """The skills added in earlier sessions on this dataset (DATASET/skills.json)."""
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [str(s) for s in data.get("added_skills", [])]
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(f"{path}: not a skills file ({exc})") from None
