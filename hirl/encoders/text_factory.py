"""Choosing and checking a model's text encoder, and embedding optional texts.

    enc = make_text_encoder(config.text_encoder, config.text_dim)   # the registered encoder a model was trained with
    check_text_encoder(enc, config.text_dim, "BCLowLevel")          # ValueError unless it makes text_dim-d vectors
    emb = text_embeddings(enc, ["open the drawer", None])           # (2, E) float32; None / "" -> zero row
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hirl.encoders.text import TextEncoder
from hirl.errors import InputError
from hirl.registry import ENCODERS


def make_text_encoder(name: str, dim: int) -> TextEncoder:
    """Build the text encoder a model was trained with: "text" (MiniLM, 384-d) or "hash" (HashTextEncoder(dim))."""
    if name == "hash":
        return ENCODERS.build("hash", dim=dim)
    enc = ENCODERS.build(name)
    if getattr(enc, "dim", dim) != dim:
        raise InputError(f"text encoder {name!r} makes {enc.dim}-d embeddings but the model expects {dim}-d")
    return enc


def check_text_encoder(encoder: TextEncoder | None, dim: int, who: str) -> None:
    """ValueError naming `who` unless encoder is given and makes dim-d embeddings."""
    if encoder is None:
        raise ValueError(f"{who} needs a text encoder (MiniLMEncoder / HashTextEncoder)")
    if int(encoder.dim) != int(dim):
        raise ValueError(f"{who}: text encoder makes {encoder.dim}-d embeddings, the model was built for {dim}-d")


def text_embeddings(encoder: TextEncoder, texts: Sequence[str | None]) -> np.ndarray:
    """(N, E) float32 embeddings; None or "" -> a zero row (the 'no previous subgoal' convention of prev_emb)."""
    out = np.zeros((len(texts), int(encoder.dim)), np.float32)
    idx = [i for i, t in enumerate(texts) if t]
    if idx:
        out[idx] = encoder.encode([t for t in texts if t])
    return out
