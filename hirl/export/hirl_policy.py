"""Run a policy exported by `hirl export` with torch and numpy only (no hirl): copy this file's folder anywhere.

    from hirl_policy import load_policy
    policy = load_policy("exported/")                 # the folder `hirl export --out` wrote (this file is in it)
    policy.reset("turn on the light, then close the drawer")
    action = policy.act(obs)                          # obs: {name: array} or one array -> (A,) float32 action
    action = policy.act(obs, done=True)               # hierarchical: your detector says policy.instruction is done

The folder holds manifest.json (observation entries and shapes, action shape and bounds, goal kind, instructions,
replanning), texts.json + embeddings.npy (the text embedding of every instruction the policy knows: no text model is
needed) and TorchScript networks: high.pt + low.pt (a language hierarchy) or flat.pt (a flat policy).

A hierarchical policy asks its high level for an instruction at the first step, after a step you mark done=True (the
instruction just completed is excluded from that proposal), after manifest["replan"]["timeout"] steps on one
instruction, and every manifest["replan"]["interval"] steps when that is set; the low level acts on the instruction.
A command is split into its subtask instructions as hirl splits it (manifest["command"]); every subtask must be a
known instruction (policy.instructions). Networks run on CPU with batch 1."""
from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = 1  # the manifest layout this loader reads


class ExportError(ValueError):
    """A problem with the exported folder or with what the caller passed (one line naming it)."""


class Texts:
    """Known instructions -> embeddings (E,), and commands -> (1, K, E) subtask embeddings + (1, K) mask."""

    def __init__(self, folder: Path, manifest: Mapping[str, Any]) -> None:
        self.texts: list[str] = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
        table = np.load(folder / "embeddings.npy", allow_pickle=False)
        if table.shape[0] != len(self.texts):
            raise ExportError(f"{folder}: embeddings.npy has {table.shape[0]} rows, texts.json {len(self.texts)} texts")
        self.rows = {t: i for i, t in enumerate(self.texts)}
        self.table = torch.from_numpy(table.astype(np.float32))
        spec = manifest["command"]
        self.split = re.compile(spec["split"], re.IGNORECASE)
        self.strip, self.k = str(spec["strip"]), int(spec["max_subtasks"])

    def embedding(self, text: str) -> torch.Tensor:
        """(1, E) embedding of a known instruction."""
        if text not in self.rows:
            raise ExportError(f"instruction {text!r} is not one the exported policy knows (known: {', '.join(self.texts)})")
        return self.table[self.rows[text]][None]

    def subtasks(self, command: str | Sequence[str]) -> list[str]:
        if not isinstance(command, str):
            return [str(c) for c in command]
        parts = [p.strip(self.strip) for p in self.split.split(command) if p and p.strip(self.strip)]
        return parts or [command.strip()]

    def command(self, command: str | Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(1, K, E) zero-padded subtask embeddings and (1, K) bool mask of a command."""
        parts = self.subtasks(command)
        if not 1 <= len(parts) <= self.k:
            raise ExportError(f"command has {len(parts)} subtasks, the policy accepts 1..{self.k}: {parts}")
        emb = torch.zeros(1, self.k, self.table.shape[1])
        mask = torch.zeros(1, self.k, dtype=torch.bool)
        for i, p in enumerate(parts):
            emb[0, i], mask[0, i] = self.embedding(p)[0], True
        return emb, mask


class Policy:
    """An exported policy: reset(command), then act(obs, done=False) -> (A,) float32 once per control step."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        path = self.folder / "manifest.json"
        if not path.is_file():
            raise ExportError(f"{self.folder}: no manifest.json (not a folder written by hirl export)")
        self.manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if self.manifest.get("format") != FORMAT:
            raise ExportError(f"{path}: format {self.manifest.get('format')!r}, this loader reads {FORMAT}")
        self.kind = str(self.manifest["kind"])
        self.obs_keys = list(self.manifest["observation"]["keys"])
        self.obs_dim = int(self.manifest["observation"]["dim"])
        self.texts = Texts(self.folder, self.manifest)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.13 deprecates TorchScript; it still loads
            self.nets = {name: torch.jit.load(str(self.folder / file), map_location="cpu").eval()
                         for name, file in self.manifest["networks"].items()}
        self.instructions: list[str] = list(self.manifest["instructions"])
        replan = self.manifest.get("replan", {})
        self.on_completion, self.timeout = bool(replan.get("on_completion", True)), int(replan.get("timeout", 0))
        self.interval = int(replan["interval"]) if replan.get("interval") else None
        self.command: tuple[torch.Tensor, torch.Tensor] | None = None
        self.instruction: str | None = None  # the instruction the low level acts on (hierarchical), None before
        self._prev = torch.zeros(1, self.texts.table.shape[1])
        self._since = 0

    def reset(self, command: str | Sequence[str]) -> None:
        """Start an episode of this command (a text, or its subtask instructions)."""
        self.command = self.texts.command(command)
        self.instruction, self._since = None, 0
        self._prev = torch.zeros_like(self._prev)

    def observation(self, obs: Mapping[str, Any] | np.ndarray) -> torch.Tensor:
        """One observation -> (1, S) float32: the manifest's entries concatenated in order (or one array)."""
        if isinstance(obs, Mapping):
            missing = [k for k in self.obs_keys if k not in obs]
            if missing:
                raise ExportError(f"observation has no {missing[0]!r} entry (the policy reads {self.obs_keys})")
            x = np.concatenate([np.asarray(obs[k], np.float32).ravel() for k in self.obs_keys])
        else:
            x = np.asarray(obs, np.float32).ravel()
        if x.shape != (self.obs_dim,):
            raise ExportError(f"observation flattens to {x.size} values, the policy reads {self.obs_dim}")
        return torch.from_numpy(x)[None]

    @torch.inference_mode()
    def act(self, obs: Mapping[str, Any] | np.ndarray, done: bool = False) -> np.ndarray:
        """The action (A,) float32 for this control step; done: the active instruction is complete (hierarchical)."""
        if self.command is None:
            raise ExportError("act before reset(command)")
        x = self.observation(obs)
        emb, mask = self.command
        if self.kind == "flat":
            return self.nets["flat"](x, emb, mask)[0, 0].numpy().copy()
        reason = self._replan(done)
        if reason is not None:
            logits = self.nets["high"](x, emb, mask, self._prev)[0].clone()
            if reason == "completion" and self.instruction in self.instructions and len(self.instructions) > 1:
                logits[self.instructions.index(self.instruction)] = -torch.inf
            self.instruction = self.instructions[int(torch.argmax(logits))]
            self._prev = self.texts.embedding(self.instruction)
            self._since = 0
        assert self.instruction is not None
        self._since += 1
        return self.nets["low"](x, self.texts.embedding(self.instruction))[0, 0].numpy().copy()

    def _replan(self, done: bool) -> str | None:
        """Why the high level is asked at this step (None: keep the instruction), as hirl's replan rule decides."""
        if self.instruction is None:
            return "start"
        if self.on_completion and done:
            return "completion"
        if self.on_completion and self._since >= self.timeout:
            return "timeout"
        if self.interval is not None and self._since >= self.interval:
            return "interval"
        return None


def load_policy(folder: str | Path) -> Policy:
    """The exported policy in folder (the one `hirl export --out` wrote)."""
    return Policy(folder)
