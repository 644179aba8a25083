"""Language high level: pi_HL(g | o, c, g_prev) as a query vector in text-embedding space, scored by cosine
against candidate instructions.

    net = LanguageGoalNet(LanguageHLConfig(obs_dim=32), candidates=vocab, candidate_embs=encoder.encode(vocab))
    net.fit(obs_array); Trainer(net, ...).fit(); net.save("runs/x/high")
    high = LanguageHighLevel(LanguageGoalNet.load("runs/x/high"), text_encoder=MiniLMEncoder())
    subgoal = high.propose(obs, command)                    # Subgoal("language", best candidate)
    high.score(obs, command, ["pull the drawer open", ...]) # logits for ANY instructions

Batch keys read by loss(): obs (B, S), command_emb (B, K, E), command_mask (B, K), prev_emb (B, E),
target (B,) int64 index into the candidate table; optional weight (B,) float: each row's weight in the loss (the
weighted mean of the rows' cross-entropies; all rows weighing the same gives the plain mean).

prev_emb convention: the embedding of the subgoal that was active at the previous control step (zeros at
t = 0). At a segment start that is the previous segment's subgoal; mid-segment it is the segment's own
subgoal. LanguageHighLevel feeds back its last proposal (or what observe() was told), which is exactly that,
so the net also works when queried mid-segment (fixed-interval replanning) if trained on such samples.

The query is (attention-pooled subtask embedding of the command) + (a learned correction from the trunk):
picking "the next subtask of the command" is a pointer into the command, which generalises to new chains.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from hirl.encoders.text import TextEncoder
from hirl.policies.base import HighLevelPolicy
from hirl.encoders.commands import MAX_SUBTASKS, CommandFeaturizer
from hirl.encoders.text_factory import check_text_encoder, make_text_encoder
from hirl.policies.inference import fast_inference, require_keys, to_tensor
from hirl.policies.module import PolicyModule
from hirl.policies.nets import CommandTrunk, cosine_logits
from hirl.policies.obs import DEFAULT_OBS_KEYS, obs_vector
from hirl.types import Command, Observation, Subgoal


@dataclass
class LanguageHLConfig:
    """Language high-level network (every field saved in config.json)."""

    obs_dim: int = 32  # S, size of the state vector
    text_dim: int = 384  # E, text-embedding size (384 for MiniLM)
    text_encoder: str = "text"  # registered text encoder used at inference when none is passed: text | hash
    obs_keys: tuple[str, ...] = DEFAULT_OBS_KEYS  # Dict obs entries concatenated into the state vector
    max_subtasks: int = MAX_SUBTASKS  # K, longest command chain
    obs_feat: int = 128  # state-encoder output size
    cmd_dim: int = 128  # width of command tokens / previous-subgoal projection
    encoder_hidden: tuple[int, ...] = (256, 256)  # state-encoder hidden widths
    hidden: tuple[int, ...] = (256, 256)  # trunk widths (the last is the trunk output)
    temperature: float = 0.05  # softmax temperature on cosine similarities
    # training data: rows added whose memory is a later subtask of the chain (label unchanged), as a share of the step
    # rows that have one (hirl.learn.imitation_data.later_subtask_pairs: redo what the state shows undone); 0: none
    memory_ahead: float = 0.0
    # memory_ahead rows only from states that do not show their subtask done yet, with a later subtask at whose end
    # its effect still held (hirl.learn.imitation_data.effect_holds: a chain that itself undoes a subtask is not
    # taught to redo it)
    memory_ahead_effect: bool = False
    # training data: P(a command's subtask -> one of its training phrasings) per subtask per sample (needs the run's
    # paraphrase_augment > 0, which builds them; hirl.learn.imitation_data.CommandParaphraseSampler); 0: as recorded
    command_augment: float = 0.0

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        for name in ("memory_ahead", "command_augment"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if min(self.obs_dim, self.text_dim, self.max_subtasks) < 1:
            raise ValueError("obs_dim, text_dim and max_subtasks must be >= 1")


class SubgoalScorer(nn.Module):
    """CommandTrunk(obs, command, prev_emb) -> query (B, E) = pooled subtask embedding + Linear(trunk);
    shared by LanguageGoalNet and the chain-of-thought baseline."""

    def __init__(self, c: LanguageHLConfig) -> None:
        super().__init__()
        self.trunk = CommandTrunk(c.obs_dim, c.text_dim, c.text_dim, c.obs_feat, c.cmd_dim, c.encoder_hidden,
                                  c.hidden, c.max_subtasks)
        self.correction = nn.Linear(self.trunk.out_dim, c.text_dim)
        nn.init.zeros_(self.correction.weight)
        nn.init.zeros_(self.correction.bias)

    def forward(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
                prev_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> query (B, E), trunk features (B, H), state features (B, obs_feat)."""
        trunk, pooled, _, obs_feat = self.trunk(obs, command_emb, command_mask, prev_emb, match=prev_emb)
        return pooled + self.correction(trunk), trunk, obs_feat

    def logits(self, query: torch.Tensor, table: torch.Tensor, temperature: float) -> torch.Tensor:
        """query (B, E), candidate embeddings (N, E) -> (B, N) cosine / temperature, both TextCentering'd."""
        center = self.trunk.command.center
        return cosine_logits(center(query), center(table), temperature)


class CandidateTable(nn.Module):
    """The closed set of instructions a net is trained to emit: texts (JSON) + embeddings (N, E) buffer."""

    embeddings: torch.Tensor  # buffer (N, E), registered in __init__

    def __init__(self, candidates: Sequence[str], text_dim: int, embeddings: np.ndarray | None = None) -> None:
        super().__init__()
        self.texts = [str(c) for c in candidates]
        if not self.texts or len(set(self.texts)) != len(self.texts):
            raise ValueError("candidates must be a non-empty list of distinct instructions")
        emb = torch.zeros(len(self.texts), text_dim)
        if embeddings is not None:
            arr = np.asarray(embeddings, dtype=np.float32)
            if arr.shape != (len(self.texts), text_dim):
                raise ValueError(f"candidate_embs must be ({len(self.texts)}, {text_dim}), got {arr.shape}")
            emb = torch.from_numpy(arr.copy())
        self.register_buffer("embeddings", emb)

    def index(self, text: str) -> int:
        return self.texts.index(text)


class LanguageGoalNet(PolicyModule):
    """obs, command, prev_emb -> logits (B, N) = cos(query, candidate_embs) / temperature; CE on target."""

    config_cls = LanguageHLConfig

    def __init__(self, config: LanguageHLConfig, candidates: Sequence[str] = (),
                 candidate_embs: np.ndarray | None = None) -> None:
        super().__init__()
        self.config = config
        self.scorer = SubgoalScorer(config)
        self.table = CandidateTable(candidates, config.text_dim, candidate_embs)

    @property
    def candidates(self) -> list[str]:
        return self.table.texts

    def extra_state(self) -> dict[str, Any]:
        return {"candidates": self.candidates}

    def fit(self, obs: np.ndarray, text_emb: np.ndarray | None = None) -> LanguageGoalNet:
        """Fit the state normaliser from obs (N, S) and the text centering from the vocabulary text_emb (V, E)
        (default: the candidate embeddings)."""
        self.scorer.trunk.fit(obs, self.table.embeddings.numpy() if text_emb is None else text_emb)
        return self

    def query(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
              prev_emb: torch.Tensor) -> torch.Tensor:
        """-> (B, E) query vector in text-embedding space."""
        return self.scorer(obs, command_emb, command_mask, prev_emb)[0]

    def forward(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
                prev_emb: torch.Tensor) -> torch.Tensor:
        """-> logits (B, N) over the candidate table."""
        query = self.query(obs, command_emb, command_mask, prev_emb)
        return self.scorer.logits(query, self.table.embeddings, self.config.temperature)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        require_keys(batch, ("obs", "command_emb", "command_mask", "prev_emb", "target"), type(self).__name__)
        logits = self(batch["obs"], batch["command_emb"], batch["command_mask"], batch["prev_emb"])
        target = batch["target"].long()
        if "weight" in batch:  # per-row weights (B,): the weighted mean of the rows' cross-entropies
            weight = batch["weight"].to(logits.dtype)
            per_row = nn.functional.cross_entropy(logits, target, reduction="none")
            loss = (weight * per_row).sum() / weight.sum().clamp_min(1e-12)
        else:
            loss = nn.functional.cross_entropy(logits, target)
        return loss, {"acc": float((logits.detach().argmax(-1) == target).float().mean())}


class _CommandMemory:
    """Shared inference plumbing: obs/command -> tensors; remembers the last active subgoal's embedding."""

    def __init__(self, text_encoder: TextEncoder, config: LanguageHLConfig, who: str) -> None:
        check_text_encoder(text_encoder, config.text_dim, who)
        self.text_encoder, self.config = text_encoder, config
        self.commands = CommandFeaturizer(text_encoder, config.max_subtasks)
        self.prev_emb = torch.zeros(1, config.text_dim)

    def inputs(self, obs: Observation, command: Command) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        emb, mask = self.commands(command)
        return to_tensor(obs_vector(obs, self.config.obs_keys)), to_tensor(emb), to_tensor(mask)

    def remember(self, text: str | None) -> None:
        self.prev_emb = (to_tensor(self.text_encoder.encode_one(text)) if text
                         else torch.zeros(1, self.config.text_dim))


class LanguageHighLevel(HighLevelPolicy):
    """propose(obs, command) -> Subgoal("language", argmax candidate); remembers it as prev_emb (reset() clears).

    model             a LanguageGoalNet or the directory it was saved to
    text_encoder      must match the net's text_dim (default: the encoder named in its config)
    emit_any          False: argmax over the net's training candidates; True: over those plus extra_candidates
    extra_candidates  further instructions (paraphrases, new skills) eligible when emit_any=True

    completed(g) (called by HierarchicalAgent on a completion replan) excludes g's instruction from the next proposal:
    the net was trained with both "keep going with g" (prev = g, mid-segment) and "g is done, next" (prev = g at the
    next segment's start) on states a step apart at a segment's end, and re-proposed the instruction just completed
    after 13 of 77 completion replans (the next subtask then times out).
    """

    def __init__(self, model: LanguageGoalNet | str | Path, text_encoder: TextEncoder | None = None, emit_any: bool = False,
                 extra_candidates: Sequence[str] = ()) -> None:
        self.model = model if isinstance(model, LanguageGoalNet) else LanguageGoalNet.load(model)
        self.model.eval()
        cfg = self.model.config
        self.io = _CommandMemory(text_encoder or make_text_encoder(cfg.text_encoder, cfg.text_dim), cfg, "LanguageHighLevel")
        self.emit_any = bool(emit_any)
        names = list(self.model.candidates)
        if self.emit_any:
            names += [c for c in dict.fromkeys(extra_candidates) if c not in set(names)]
        elif extra_candidates:
            raise ValueError("extra_candidates are only used with emit_any=True")
        self.candidates = names
        self.table = (torch.from_numpy(self.io.text_encoder.encode(names).copy()) if self.emit_any
                      else self.model.table.embeddings)
        self.last_logits: np.ndarray | None = None
        self._done: str | None = None  # instruction judged complete by the replan rule, excluded from the next proposal

    @property
    def text_encoder(self) -> TextEncoder:
        return self.io.text_encoder

    def reset(self) -> None:
        self.io.remember(None)
        self.last_logits = None
        self._done = None

    def completed(self, subgoal: Subgoal) -> None:
        """The replan rule judged subgoal done: the next proposal is another instruction."""
        self._done = str(subgoal.value) if subgoal.kind == "language" else None

    def observe(self, subgoal: Subgoal | None) -> None:
        """Tell the policy which subgoal is active now (e.g. after a human override); it becomes prev_emb."""
        self.io.remember(str(subgoal.value) if subgoal is not None and subgoal.kind == "language" else None)

    def query(self, obs: Observation, command: Command) -> np.ndarray:
        """The (E,) query vector for obs and command (e.g. for text_encoder.nearest over any list)."""
        x, emb, mask = self.io.inputs(obs, command)
        with fast_inference():
            return self.model.query(x, emb, mask, self.io.prev_emb)[0].numpy().copy()

    def score(self, obs: Observation, command: Command, candidates: Sequence[str]) -> np.ndarray:
        """Logits (N,) = cos(query, embed(candidates)) / temperature for ANY instructions (memory unchanged)."""
        q = torch.from_numpy(self.query(obs, command))[None]
        table = torch.from_numpy(self.io.text_encoder.encode(list(candidates)).copy())
        with fast_inference():
            return self.model.scorer.logits(q, table, self.model.config.temperature)[0].numpy()

    def peek(self, obs: Observation, command: Command, done: str | None = None) -> str:
        """What propose() would return now if `done` (e.g. the active subgoal) were judged complete first; the memory
        (prev_emb, the completed instruction, last_logits) is left unchanged (a UI's preview of the next proposal)."""
        x, emb, mask = self.io.inputs(obs, command)
        with fast_inference():
            q = self.model.query(x, emb, mask, self.io.prev_emb)
            logits = self.model.scorer.logits(q, self.table, self.model.config.temperature)[0].clone()
            if done in self.candidates and len(self.candidates) > 1:
                logits[self.candidates.index(done)] = -torch.inf
            return self.candidates[int(torch.argmax(logits))]

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        x, emb, mask = self.io.inputs(obs, command)
        with fast_inference():
            q = self.model.query(x, emb, mask, self.io.prev_emb)
            logits = self.model.scorer.logits(q, self.table, self.model.config.temperature)[0]
        if self._done in self.candidates and len(self.candidates) > 1:
            logits = logits.clone()
            logits[self.candidates.index(self._done)] = -torch.inf
        self._done = None
        self.last_logits = logits.numpy().copy()
        text = self.candidates[int(torch.argmax(logits))]
        self.io.remember(text)
        return Subgoal("language", text, "policy")
