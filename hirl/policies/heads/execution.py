"""Running a head at 50 Hz: the observation history and the chunk executor of an inference wrapper.

    runner = HeadRunner(config.head, action_dim)
    runner.reset()                          # episode start: history and pending actions cleared
    runner.new_goal()                       # the subgoal changed: pending actions / ensemble buffer cleared
    x = runner.observe(obs_vec)             # (S,) -> net input (1, S), or (1, k, S) oldest first with history k > 1
    if runner.needs_prediction():
        runner.push(chunk)                  # (H, A) predicted from x
    action = runner.next()                  # (A,) float32

Execution of a chunk (head.execution):
    receding  run the first `execute` actions of a prediction, then predict again (Diffusion Policy)
    ensemble  predict every step; the action at t averages every prediction that covers t, the one made at step s
              contributing chunk_s[t - s], weighted exp(-m * i) with i = 0 the oldest (ACT's temporal ensembling)
With head.grip binary the ensembled grip is thresholded again (a weighted vote between open and closed).
The history holds the episode's observations (as the training sampler does: across subgoal switches), edge- or
zero-padded before the first one.
"""
from __future__ import annotations

from collections import deque

import numpy as np
import torch

from hirl.policies.heads.config import HeadConfig
from hirl.policies.inference import to_tensor


class ObsHistory:
    """The last k observation vectors of the episode: push(x (S,)) -> (k, S), oldest first."""

    def __init__(self, k: int, pad: str = "edge") -> None:
        self.k, self.pad = int(k), pad
        self._frames: deque[np.ndarray] = deque(maxlen=self.k)

    def reset(self) -> None:
        self._frames.clear()

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if not self._frames:  # episode start: pad the slots before the first observation
            fill = x if self.pad == "edge" else np.zeros_like(x)
            self._frames.extend([fill] * (self.k - 1))
        self._frames.append(x)
        return np.stack(self._frames)


class ChunkExecutor:
    """Predicted chunks (H, A) in, one action (A,) per control step out (see the module doc)."""

    def __init__(self, config: HeadConfig, action_dim: int) -> None:
        self.horizon, self.mode, self.execute = int(config.horizon), config.execution, int(config.execute)
        self.decay, self.binary = float(config.ensemble_decay), config.grip == "binary"
        self.action_dim = int(action_dim)
        self._queue: deque[np.ndarray] = deque()  # receding: the actions still to run
        self._chunks: deque[tuple[np.ndarray, int]] = deque()  # ensemble: (chunk, its age in steps), oldest first

    def reset(self) -> None:
        self._queue.clear()
        self._chunks.clear()

    def needs_prediction(self) -> bool:
        return self.mode == "ensemble" or not self._queue

    def push(self, chunk: np.ndarray) -> None:
        chunk = np.asarray(chunk, np.float32)
        if chunk.shape != (self.horizon, self.action_dim):
            raise ValueError(f"ChunkExecutor: expected a ({self.horizon}, {self.action_dim}) chunk, got {chunk.shape}")
        if self.mode == "ensemble":
            self._chunks.append((chunk, 0))
        else:
            self._queue.clear()
            self._queue.extend(chunk[: self.execute])

    def next(self) -> np.ndarray:
        """The action of this control step (A,) float32 (RuntimeError when nothing was predicted)."""
        if self.mode != "ensemble":
            if not self._queue:
                raise RuntimeError("ChunkExecutor.next: no pending action; push a prediction first")
            return np.array(self._queue.popleft(), np.float32, copy=True)
        if not self._chunks:
            raise RuntimeError("ChunkExecutor.next: no prediction covers this step; push one first")
        actions = np.stack([c[age] for c, age in self._chunks])  # (n, A), oldest prediction first
        w = np.exp(-self.decay * np.arange(len(actions)))
        action = (w[:, None] * actions).sum(0) / w.sum()
        self._chunks = deque((c, age + 1) for c, age in self._chunks if age + 1 < self.horizon)
        if self.binary:
            action[-1] = 1.0 if action[-1] > 0 else -1.0
        return action.astype(np.float32)


class HeadRunner:
    """Per-episode inference state of one head: ObsHistory (k = head.history) + ChunkExecutor.

    predicted   whether the last control step ran the network (for latency split by kind of step)"""

    def __init__(self, config: HeadConfig, action_dim: int) -> None:
        self.config = config
        self.history = ObsHistory(config.history, config.history_pad) if config.history > 1 else None
        self.executor = ChunkExecutor(config, action_dim)
        self.predicted = False
        self.predictions = 0  # network calls since reset()

    def reset(self) -> None:
        """A new episode."""
        if self.history is not None:
            self.history.reset()
        self.executor.reset()
        self.predicted, self.predictions = False, 0

    def new_goal(self) -> None:
        """The subgoal (or the chain-of-thought's predicted subgoal) changed: drop actions planned for the old one."""
        self.executor.reset()

    def observe(self, x: np.ndarray) -> torch.Tensor:
        """This step's observation vector (S,) -> the net input with a batch axis: (1, S) or (1, k, S)."""
        return to_tensor(x if self.history is None else self.history.push(x))

    def needs_prediction(self) -> bool:
        need = self.executor.needs_prediction()
        self.predicted = need
        return need

    def push(self, chunk: np.ndarray) -> None:
        """The network's prediction (H, A) for the observation last given to observe()."""
        self.predictions += 1
        self.executor.push(chunk)

    def next(self) -> np.ndarray:
        return self.executor.next()
