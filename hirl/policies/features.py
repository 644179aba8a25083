"""Shared input featurisation and model plumbing for every learned policy (one implementation, used by
training-batch builders and inference wrappers alike).

    obs_vector(obs, keys)                 obs dict / array -> (S,) float32 state vector
    command_subtasks(command)             Command -> its subtask instructions (split from the text if needed)
    CommandFeaturizer(encoder, K)         Command -> (K, E) padded subtask embeddings + (K,) bool mask (cached)
    SubgoalCache                          tiny identity-keyed LRU: encode a subgoal once, reuse it every 50 Hz step
    mlp(in, hidden, out)                  the one MLP builder
    CommandEncoder                        pointer-style attention over the (K, E) subtask embeddings
    PolicyModule                          nn.Module base: config dataclass + save(dir) / load(dir)

Batch conventions (dict of tensors; B = batch, K = MAX_SUBTASKS, E = text dim, G = state-goal dim):
    obs (B, S) float32 = obs_vector(obs, config.obs_keys); action (B, A) float32 in [-1, 1]
    goal_emb (B, E) | goal_state (B, G) | goal_image (B, H, W, 3) uint8      the active subgoal
    command_emb (B, K, E) + command_mask (B, K) bool                         CommandFeaturizer.batch(commands)
    prev_emb (B, E) / prev_state (B, G)   the subgoal active at the PREVIOUS control step, zeros at t = 0
                                          (at a segment start: the previous segment's subgoal; mid-segment:
                                          the segment's own) -- what the inference wrappers feed back
    target (B,) int64 candidate index; target_state (B, G); image / target_image (B, H, W, 3) uint8
    done (B,) float32
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

import numpy as np
import torch
from torch import nn

from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.learn.checkpoint import load_weights, save_weights
from hirl.registry import ENCODERS
from hirl.types import Command, Observation, Subgoal

MAX_SUBTASKS = 5  # K: the longest command chain a model accepts
DEFAULT_OBS_KEYS: tuple[str, ...] = ("observation",)  # Dict obs entries concatenated into the state vector
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
FORMAT_VERSION = 1

_THEN = re.compile(r"\s*(?:,\s*and then|,\s*then|;\s*then|\band then\b|\bthen\b|;)\s*", re.IGNORECASE)


# -- numpy-side featurisation -----------------------------------------------------------------------------
def obs_vector(obs: Observation, keys: Sequence[str] = DEFAULT_OBS_KEYS) -> np.ndarray:
    """One observation -> (S,) float32: Dict obs entries `keys` concatenated in that order; arrays flattened.

    Must match how training data was flattened (hirl.data: load_dataset(path, obs_keys=keys))."""
    if isinstance(obs, Mapping):
        try:
            parts = [np.asarray(obs[k], dtype=np.float32).ravel() for k in keys]
        except KeyError as exc:
            raise KeyError(f"observation has no {exc.args[0]!r} entry (keys: {sorted(obs)}; model wants {list(keys)})") from None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.asarray(obs, dtype=np.float32).ravel()


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
    parts = tuple(p.strip(" ,.") for p in _THEN.split(text) if p and p.strip(" ,."))
    return parts or (text.strip(),)


def make_text_encoder(name: str, dim: int) -> Any:
    """Build the text encoder a model was trained with: "text" (MiniLM, 384-d) or "hash" (HashTextEncoder(dim))."""
    if name == "hash":
        return ENCODERS.build("hash", dim=dim)
    enc = ENCODERS.build(name)
    if getattr(enc, "dim", dim) != dim:
        raise InputError(f"text encoder {name!r} makes {enc.dim}-d embeddings but the model expects {dim}-d")
    return enc


def check_text_encoder(encoder: Any, dim: int, who: str) -> None:
    if encoder is None:
        raise ValueError(f"{who} needs a text encoder (TextEncoder / HashTextEncoder)")
    if int(encoder.dim) != int(dim):
        raise ValueError(f"{who}: text encoder makes {encoder.dim}-d embeddings, the model was built for {dim}-d")


class CommandFeaturizer:
    """Command -> (emb (K, E) float32, mask (K,) bool), subtask order preserved, zero-padded; cached per command."""

    def __init__(self, encoder: Any, max_subtasks: int = MAX_SUBTASKS) -> None:
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


def text_embeddings(encoder: Any, texts: Sequence[str | None]) -> np.ndarray:
    """(N, E) float32 embeddings; None or "" -> a zero row (the 'no previous subgoal' convention of prev_emb)."""
    out = np.zeros((len(texts), int(encoder.dim)), np.float32)
    idx = [i for i, t in enumerate(texts) if t]
    if idx:
        out[idx] = encoder.encode([texts[i] for i in idx])
    return out


class SubgoalCache:
    """Identity-keyed LRU for per-subgoal encodings: Subgoal objects are immutable, so an encoding computed
    once per subgoal object is valid for every control step it stays active. Holds the key objects, so an id
    is never reused while cached."""

    def __init__(self, size: int = 8) -> None:
        self.size = int(size)
        self._items: OrderedDict[int, tuple[Subgoal, Any]] = OrderedDict()

    def get(self, subgoal: Subgoal, compute: Callable[[Subgoal], Any]) -> Any:
        key = id(subgoal)
        hit = self._items.get(key)
        if hit is not None and hit[0] is subgoal:
            self._items.move_to_end(key)
            return hit[1]
        value = compute(subgoal)
        self._items[key] = (subgoal, value)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()


@contextlib.contextmanager
def fast_inference() -> Iterator[None]:
    """torch.inference_mode with ONE intra-op thread for batch-1 policy calls, then the previous count again.

    Batch-1 nets gain nothing from a second thread, and on a loaded 2-core machine a BLAS call that forks
    to 2 threads waits for the busy core: measured 30 ms instead of 0.5 ms per high-level query. Switching
    costs < 1 us. (The thread count is process-global: a concurrent training thread runs single-threaded
    for the duration of the call.)"""
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


# -- torch building blocks --------------------------------------------------------------------------------
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

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(int(dim)))
        self.register_buffer("scale", torch.ones(()))

    def fit(self, embeddings: np.ndarray) -> None:
        """embeddings (N, E): the training vocabulary (one row per distinct text, or per occurrence)."""
        e = np.asarray(embeddings, dtype=np.float64)
        if e.ndim != 2 or e.shape[1] != self.mean.shape[0] or len(e) < 2 or not np.all(np.isfinite(e)):
            raise ValueError(f"TextCentering.fit expects a finite (N >= 2, {self.mean.shape[0]}) array, got {e.shape}")
        centred = e - e.mean(0)
        rms = float(np.sqrt((centred ** 2).mean()))
        self.mean.copy_(torch.as_tensor(e.mean(0), dtype=torch.float32))
        self.scale.fill_(1.0 / max(rms, 1e-6))

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
        from hirl.encoders import StateEncoder

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


# -- model base: config + save/load -----------------------------------------------------------------------
M = TypeVar("M", bound="PolicyModule")


class PolicyModule(nn.Module):
    """Base of every learned policy network: holds `config` (a dataclass of type `config_cls`) and saves as

        DIR/config.json          {"format", "class", "config": {...}, "extra": {...non-tensor state...}}
        DIR/weights.safetensors  state_dict (hirl.learn.checkpoint.save_weights)

    Subclasses define `config_cls`, `__init__(config, **extra)` and `extra_state() -> dict` (JSON-able kwargs
    that rebuild the module before its weights are loaded, e.g. the candidate-instruction list)."""

    config_cls: type = object

    def extra_state(self) -> dict[str, Any]:
        return {}

    def num_parameters(self, trainable_only: bool = True) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def save(self, directory: str | Path) -> Path:
        """Write config.json + weights.safetensors into directory (created); returns the directory."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_weights(self, directory / WEIGHTS_FILE)
        atomic_write_json(directory / CONFIG_FILE, {"format": FORMAT_VERSION, "class": type(self).__name__,
                                                    "config": dataclasses.asdict(self.config), "extra": self.extra_state()})
        return directory

    @classmethod
    def load(cls: type[M], directory: str | Path, weights: str | Path | None = None) -> M:
        """Rebuild from directory (as written by save); weights: another .safetensors of the same model
        (e.g. the trainer's best.safetensors). InputError naming the file on anything missing or corrupt."""
        directory = Path(directory)
        path = directory / CONFIG_FILE
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: model config not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: corrupt model config ({exc.__class__.__name__})") from None
        if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
            raise InputError(f"{path}: corrupt model config (no 'config' object)")
        if record.get("format") != FORMAT_VERSION:
            raise InputError(f"{path}: model format {record.get('format')!r}, this version reads {FORMAT_VERSION}")
        if record.get("class") != cls.__name__:
            raise InputError(f"{path}: holds a {record.get('class')!r}, expected {cls.__name__}")
        config = config_from_dict(cls.config_cls, record["config"], path)
        try:
            model = cls(config, **record.get("extra", {}))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: cannot build {cls.__name__} ({exc})") from None
        load_weights(model, Path(weights) if weights is not None else directory / WEIGHTS_FILE)
        model.eval()
        return model


def config_from_dict(config_cls: type, data: Mapping[str, Any], where: Path | str) -> Any:
    """Dataclass from a JSON dict: unknown keys are an InputError; JSON lists become tuples where the default is one."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InputError(f"{where}: unknown {config_cls.__name__} keys {unknown}")
    kwargs = {}
    for k, v in data.items():
        f = fields[k]
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        kwargs[k] = tuple(v) if isinstance(v, list) and isinstance(default, tuple) else v
    try:
        return config_cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: bad {config_cls.__name__} ({exc})") from None


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """numpy -> torch (float64 becomes float32), adding a batch axis of 1 (read-only arrays are copied)."""
    arr = np.ascontiguousarray(x)
    t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
    return (t.float() if t.dtype == torch.float64 else t).unsqueeze(0)


def images_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float32 (B, 3, H, W) in [0, 1] (torch-side twin of hirl.encoders.image_to_tensor)."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (B, H, W, 3), got {images.dtype} {tuple(images.shape)}")
    return images.permute(0, 3, 1, 2).float().div(255.0)


def require_keys(batch: Mapping[str, torch.Tensor], keys: Sequence[str], who: str) -> None:
    missing = [k for k in keys if k not in batch]
    if missing:
        raise KeyError(f"{who}.loss: batch lacks {missing} (has {sorted(batch)})")
