"""Torch building blocks shared by the learned policies.

    mlp(in, hidden, out)        the one MLP builder
    TextCentering(E)            fitted affine map of sentence embeddings: (x - mean) * scale
    CommandEncoder              pointer-style attention over the (K, E) subtask embeddings of a command
    CommandTrunk                shared trunk of every command-conditioned net (state + previous subgoal + command)
    cosine_logits(q, table, t)  (B, E) x (N, E) -> (B, N) cosine similarities / temperature

Batch conventions: see hirl.policies.module (B = batch, K = MAX_SUBTASKS, E = text dim).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from hirl.encoders.commands import MAX_SUBTASKS
from hirl.encoders.state import StateEncoder


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, layer_norm: bool = False) -> nn.Sequential:
    """Linear -> [LayerNorm] -> ReLU for each hidden width, then a final Linear to out_dim."""
    layers: list[nn.Module] = []
    width = int(in_dim)
    for h in hidden:
        layers.append(nn.Linear(width, int(h)))
        if layer_norm:
            layers.append(nn.LayerNorm(int(h)))
        layers.append(nn.ReLU(inplace=True))
        width = int(h)
    layers.append(nn.Linear(width, int(out_dim)))
    return nn.Sequential(*layers)


class TextCentering(nn.Module):
    """Affine map of sentence embeddings onto what tells a vocabulary apart: (x - mean) * scale.

    MiniLM embeddings of instructions that share most words ("pick up the red block" / "... blue block") have
    cosine ~0.85: the shared component dominates and a freshly initialised Linear barely separates them.
    Subtracting the vocabulary's mean embedding and rescaling the remainder to unit per-dimension RMS makes
    the differences O(1) while keeping the geometry (a paraphrase stays next to its instruction).
    Buffers mean (E,) and scale () are saved with the weights; identity until fit() is called.

    forward(x (..., E)) -> (..., E)
    """

    mean: torch.Tensor  # buffers, registered in __init__
    scale: torch.Tensor

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(int(dim)))
        self.register_buffer("scale", torch.ones(()))

    def fit(self, embeddings: np.ndarray) -> None:
        """embeddings (N, E): the training vocabulary (one row per distinct text, or per occurrence). A vocabulary of
        one text (an env whose command never changes) has no spread to rescale by: centred, scale 1."""
        e = np.asarray(embeddings, dtype=np.float64)
        if e.ndim != 2 or e.shape[1] != self.mean.shape[0] or len(e) < 1 or not np.all(np.isfinite(e)):
            raise ValueError(f"TextCentering.fit expects a finite (N >= 1, {self.mean.shape[0]}) array, got {e.shape}")
        centred = e - e.mean(0)
        rms = float(np.sqrt((centred ** 2).mean()))
        self.mean.copy_(torch.as_tensor(e.mean(0), dtype=torch.float32))
        self.scale.fill_(1.0 / max(rms, 1e-6) if len(e) > 1 else 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) * self.scale


class CommandEncoder(nn.Module):
    """Pointer-style attention over a command's subtasks, conditioned on a context vector.

    Each subtask token sees its own embedding, its predecessor's and its position. A small MLP scores every
    token against the context (e.g. state features plus the previous subgoal) and, given `match` (B, E) -- a
    vector in text space such as the previous subgoal's embedding -- two explicit cosine features per token:
    cos(match, c_k) and cos(match, c_{k-1}). These make "the subtask after the one just done" a comparison
    rather than a memorised lookup, so it carries over to instructions never seen in training.
    A masked softmax picks a soft subtask. Token and cosine features are computed on TextCentering'd
    embeddings (fit with fit_text), the pooled `emb` output on the raw ones.

    forward(command_emb (B, K, E), command_mask (B, K) bool, context (B, C), match (B, E) or None) ->
        feat (B, D)     attention-pooled token features
        emb  (B, E)     attention-pooled raw subtask embeddings (lives in text-embedding space)
        weights (B, K)  attention weights (0 on padding)
    """

    def __init__(self, text_dim: int, context_dim: int, dim: int = 128, max_subtasks: int = MAX_SUBTASKS,
                 hidden: Sequence[int] = (128,)) -> None:
        super().__init__()
        self.center = TextCentering(text_dim)
        self.cur = nn.Linear(text_dim, dim)
        self.pred = nn.Linear(text_dim, dim, bias=False)
        self.pos = nn.Parameter(torch.zeros(max_subtasks, dim))
        nn.init.normal_(self.pos, std=0.02)
        self.ctx = nn.Linear(context_dim, dim)
        self.score = mlp(2 * dim + 2, hidden, 1)
        self.dim = dim

    def forward(self, command_emb: torch.Tensor, command_mask: torch.Tensor, context: torch.Tensor,
                match: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, k, _ = command_emb.shape
        centred = self.center(command_emb)
        previous = torch.cat([centred.new_zeros(b, 1, centred.shape[2]), centred[:, :-1]], dim=1)
        tokens = torch.relu(self.cur(centred) + self.pred(previous) + self.pos[:k])
        ctx = self.ctx(context).unsqueeze(1).expand(b, k, self.dim)
        if match is None:
            sims = command_emb.new_zeros(b, k, 2)
        else:
            given = (match.abs().sum(-1, keepdim=True) > 0).float()  # a zero match ("none yet") gives zero features
            m = (nn.functional.normalize(self.center(match), dim=-1) * given).unsqueeze(-1)
            sims = torch.cat([nn.functional.normalize(centred, dim=-1) @ m,
                              nn.functional.normalize(previous, dim=-1) @ m], dim=-1)
        logits = self.score(torch.cat([tokens, ctx, sims], dim=-1)).squeeze(-1)
        mask = command_mask.bool()
        weights = torch.softmax(logits.masked_fill(~mask, -1e9), dim=-1) * mask
        weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-9)
        feat = torch.einsum("bk,bkd->bd", weights, tokens)
        emb = torch.einsum("bk,bke->be", weights, command_emb)
        return feat, emb, weights


class CommandTrunk(nn.Module):
    """Shared trunk of every command-conditioned net (language / state high levels, flat, chain-of-thought).

    forward(obs (B, S), command_emb (B, K, E), command_mask (B, K), prev (B, P) or None,
            match (B, E) or None: a text-space vector compared with each subtask, see CommandEncoder) ->
        trunk   (B, hidden[-1])  ReLU features of [state features, previous-subgoal features, command features]
        emb     (B, E)           attention-pooled subtask embedding (the command's "current subtask" guess)
        weights (B, K)           attention over subtasks
        obs_feat (B, obs_feat)   state-encoder output
    prev_dim = 0 means no previous-subgoal input (flat policy)."""

    def __init__(self, obs_dim: int, prev_dim: int, text_dim: int, obs_feat: int = 128, cmd_dim: int = 128,
                 encoder_hidden: Sequence[int] = (256, 256), hidden: Sequence[int] = (256, 256),
                 max_subtasks: int = MAX_SUBTASKS) -> None:
        super().__init__()
        if not hidden:
            raise ValueError("CommandTrunk needs at least one hidden width")
        self.obs_encoder = StateEncoder(obs_dim, obs_feat, encoder_hidden)
        self.prev_proj = nn.Linear(prev_dim, cmd_dim) if prev_dim > 0 else None
        ctx = obs_feat + (cmd_dim if prev_dim > 0 else 0)
        self.command = CommandEncoder(text_dim, ctx, cmd_dim, max_subtasks)
        self.trunk = nn.Sequential(mlp(ctx + cmd_dim, tuple(hidden)[:-1], tuple(hidden)[-1]), nn.ReLU(inplace=True))
        self.out_dim = int(tuple(hidden)[-1])

    def forward(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
                prev: torch.Tensor | None = None,
                match: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        obs_feat = self.obs_encoder(obs.float())
        ctx = obs_feat
        if self.prev_proj is not None:
            if prev is None:
                raise ValueError("this trunk was built with a previous-subgoal input; pass prev")
            ctx = torch.cat([obs_feat, torch.relu(self.prev_proj(prev.float()))], dim=-1)
        feat, emb, weights = self.command(command_emb.float(), command_mask, ctx, match)
        return self.trunk(torch.cat([ctx, feat], dim=-1)), emb, weights, obs_feat

    def fit(self, obs: np.ndarray, text_emb: np.ndarray | None = None) -> None:
        """Fit the state normaliser on obs (N, S) and, given the training vocabulary's embeddings text_emb (V, E),
        the TextCentering of command tokens and of the text compared with them."""
        self.obs_encoder.fit_normalizer(obs)
        if text_emb is not None:
            self.command.center.fit(text_emb)


def cosine_logits(query: torch.Tensor, table: torch.Tensor, temperature: float) -> torch.Tensor:
    """query (B, E), table (N, E) -> (B, N) cosine similarities / temperature."""
    q = nn.functional.normalize(query, dim=-1)
    t = nn.functional.normalize(table, dim=-1)
    return q @ t.T / temperature
