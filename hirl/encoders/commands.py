"""Commands as model input: a command's subtask instructions, and their padded text embeddings.

    command_subtasks(command)             Command -> its subtask instructions (split from the text if needed)
    CommandFeaturizer(encoder, K)         Command -> (K, E) padded subtask embeddings + (K,) bool mask (cached)

K = MAX_SUBTASKS (the longest command chain a model accepts), E = encoder.dim.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from hirl.encoders.text import TextEncoder
from hirl.types import Command

MAX_SUBTASKS = 5  # K: the longest command chain a model accepts

# where a command's text splits into subtasks (case-insensitive), and what is stripped around each subtask
SUBTASK_SPLIT = re.compile(r"\s*(?:,\s*and then|,\s*then|;\s*then|\band then\b|\bthen\b|;)\s*", re.IGNORECASE)
SUBTASK_STRIP = " ,."


def command_subtasks(command: Command | str | Sequence[str]) -> tuple[str, ...]:
    """The subtask instructions of a command: Command.subtasks when given, else its text split on 'then' / ';'."""
    if isinstance(command, Command):
        if command.subtasks:
            return tuple(command.subtasks)
        text = command.text
    elif isinstance(command, str):
        text = command
    else:
        return tuple(command)
    parts = tuple(p.strip(SUBTASK_STRIP) for p in SUBTASK_SPLIT.split(text) if p and p.strip(SUBTASK_STRIP))
    return parts or (text.strip(),)


class CommandFeaturizer:
    """Command -> (emb (K, E) float32, mask (K,) bool), subtask order preserved, zero-padded; cached per command."""

    def __init__(self, encoder: TextEncoder, max_subtasks: int = MAX_SUBTASKS) -> None:
        self.encoder, self.k = encoder, int(max_subtasks)
        self._cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, command: Command | str | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        subtasks = command_subtasks(command)
        hit = self._cache.get(subtasks)
        if hit is not None:
            return hit
        if not 1 <= len(subtasks) <= self.k:
            raise ValueError(f"command has {len(subtasks)} subtasks, models accept 1..{self.k}: {subtasks}")
        emb = np.zeros((self.k, int(self.encoder.dim)), np.float32)
        emb[: len(subtasks)] = self.encoder.encode(list(subtasks))
        mask = np.zeros(self.k, bool)
        mask[: len(subtasks)] = True
        emb.setflags(write=False)
        mask.setflags(write=False)
        self._cache[subtasks] = (emb, mask)
        return emb, mask

    def batch(self, commands: Sequence[Command | str | Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """N commands -> (N, K, E) float32, (N, K) bool (for building training arrays)."""
        pairs = [self(c) for c in commands]
        if not pairs:
            return np.zeros((0, self.k, int(self.encoder.dim)), np.float32), np.zeros((0, self.k), bool)
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
