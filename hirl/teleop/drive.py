"""TeleopSession: a person drives the gripper from the keyboard and labels segments with language; every
episode is written through the dataset writer as a demonstration (subgoal = the label, source "human").

Keys held in the page map to the 4-d Tabletop action (dx, dy, dz, grip): the UI sends the set of held keys; a
key set older than key_timeout seconds counts as released (a lost connection stops the robot). A key set is a
command, not a record: the actions it causes are recorded with their episode, which is durable once written
(a verdict waits for that). A label is a record: label() returns once it is applied at a control step and
journaled (DATASET/labels.jsonl, fsynced); a second label at the same step replaces the first. The dataset
folder is held exclusively (FolderLock) until close()."""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.replan import OnOverride
from hirl.integrations import adapter as env_adapter
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.teleop.config import SessionConfig
from hirl.teleop.journal import CorrectionJournal
from hirl.teleop.live import LiveSession
from hirl.runs.rundir import FolderLock
from hirl.teleop.skills import decode_text
from hirl.teleop.store import EpisodeStore
from hirl.types import Command, Observation, Subgoal

# key -> (action index, sign); "grip" toggles the gripper. Arrow keys move in the table plane, w/s up/down.
KEYS: dict[str, tuple[int, float]] = {
    "ArrowUp": (1, 1.0), "ArrowDown": (1, -1.0), "ArrowLeft": (0, -1.0), "ArrowRight": (0, 1.0),
    "w": (2, 1.0), "s": (2, -1.0),
}
GRIP_KEY = "g"  # toggles closing / opening the gripper


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
        self._keys: set[str] = set()
        self._keys_time = 0.0
        self._closed = False
        high = ScriptedHighLevel(self._first_label)
        low = ScriptedLowLevel(lambda obs, g: self.action())
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

    def _first_label(self, obs: Observation, command: Command) -> Subgoal:
        """Until the person labels the first segment, it is labelled with the chain's first subtask."""
        return Subgoal("language", command.subtasks[0] if command.subtasks else command.text, "human")

    # ------------------------------------------------------------------ UI side
    def keys(self, held: Sequence[str]) -> str:
        unknown = [k for k in held if k not in KEYS and k != GRIP_KEY]
        if unknown:
            raise InputError(f"teleop: unknown key(s) {unknown[:3]} (known: {', '.join([*KEYS, GRIP_KEY])})")
        with self.lock:
            if GRIP_KEY in held and GRIP_KEY not in self._keys:
                self._closed = not self._closed
            self._keys, self._keys_time = set(held), time.monotonic()
        return "gripper closed" if self._closed else "ok"

    @property
    def label_count(self) -> int:
        return sum(1 for r in self.labels if not r.get("replaced"))

    def label(self, raw: bytes | str) -> str:
        """Start a new segment labelled with this instruction at this control step; returns once journaled.
        InputError when it is refused, NotApplied when it was not recorded."""
        text = decode_text(raw, self.cfg.max_text, "label")
        self.submit("label", text)
        with self.lock:
            self.message = f"labelled: {text!r}"
        return text

    def action(self) -> np.ndarray:
        """(4,) action in [-1, 1] from the held keys (stale keys count as released)."""
        a = np.zeros(4, np.float32)
        fresh = time.monotonic() - self._keys_time < self.cfg.key_timeout
        for k in (self._keys if fresh else ()):
            if k in KEYS:
                i, sign = KEYS[k]
                a[i] += sign * self.cfg.teleop_speed
        a[3] = 1.0 if self._closed else -1.0
        return np.clip(a, -1.0, 1.0)

    def extra_status(self) -> dict[str, Any]:
        return {"keys": sorted(self._keys), "gripper_closed": self._closed, "labels": self.label_count,
                "skills": list(self.snapshot.get("task", []))}

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
        if same and last:
            last["replaced"] = True
        self.labels.append(record)
        return str(payload)

    def on_finish(self) -> None:
        self.store.assemble()
