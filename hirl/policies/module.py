"""PolicyModule: the base of every learned policy network -- a config dataclass plus save(dir) / load(dir).

    net.save("runs/x/models/low_language")                  # config.json + weights.safetensors
    net = GoalConditionedBC.load("runs/x/models/low_language")

config.json is turned back into the config dataclass by the project's one config loader (hirl.config.from_dict):
unknown keys, wrong types and failed validation are one InputError line naming the file. Before any tensor is
allocated, load also checks every size in the config (1..MAX_WIDTH), obs_keys, and the network the config describes
(built on the meta device: no memory) against the weight file's tensor shapes and MAX_PARAMETERS.

Batch conventions of loss(batch) (dict of tensors; B = batch, K = MAX_SUBTASKS, E = text dim, G = state-goal dim):
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

import dataclasses
import math
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from hirl.config import from_dict, read_json
from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.weights import load_weights, save_weights, weight_shapes

CONFIG_FILE = "config.json"  # model config record inside a model directory
WEIGHTS_FILE = "weights.safetensors"  # model weights inside a model directory
FORMAT_VERSION = 1  # version of the config.json record layout
MAX_WIDTH = 65_536  # largest size a model config may name (a layer width, an input or embedding dimension)
MAX_PARAMETERS = 2**28  # largest network load() builds (268M values, 1 GiB of float32)

M = TypeVar("M", bound="PolicyModule")


class PolicyModule(nn.Module):
    """Base of every learned policy network: holds `config` (a dataclass of type `config_cls`) and saves as

        DIR/config.json          {"format", "class", "config": {...}, "extra": {...non-tensor state...}}
        DIR/weights.safetensors  state_dict (hirl.weights.save_weights)

    Subclasses define `config_cls`, `__init__(config, **extra)` and `extra_state() -> dict` (JSON-able kwargs
    that rebuild the module before its weights are loaded, e.g. the candidate-instruction list)."""

    config_cls: type = object  # the config dataclass of the subclass
    config: Any  # its instance, set by the subclass __init__ (saved in config.json)

    def extra_state(self) -> dict[str, Any]:
        return {}

    def num_parameters(self, trainable_only: bool = True) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def check_observation_space(self, space: Any, where: str | Path) -> None:
        """InputError naming where (the model folder) unless the env's observation space has every config.obs_keys
        entry and they flatten to config.obs_dim (a gymnasium Dict space; other spaces are not checked)."""
        keys, spaces = getattr(self.config, "obs_keys", None), getattr(space, "spaces", None)
        if keys is None or not isinstance(spaces, dict):
            return
        missing = [k for k in keys if k not in spaces]
        if missing:
            raise InputError(f"{where}: key 'obs_keys': the env has no observation {missing[0]!r} (it has: "
                             f"{', '.join(sorted(spaces))})")
        size = sum(int(math.prod(spaces[k].shape or (1,))) for k in keys)
        dim = getattr(self.config, "obs_dim", size)
        if size != dim:
            raise InputError(f"{where}: key 'obs_dim': {dim}, but the env's {', '.join(keys)} flatten to {size} values")

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
        if not path.exists():
            raise InputError(f"{path}: model config not found")
        record = read_json(path, "model config")
        if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
            raise InputError(f"{path}: corrupt model config (no 'config' object)")
        if record.get("format") != FORMAT_VERSION:
            raise InputError(f"{path}: model format {record.get('format')!r}, this version reads {FORMAT_VERSION}")
        if record.get("class") != cls.__name__:
            raise InputError(f"{path}: holds a {record.get('class')!r}, expected {cls.__name__}")
        extra = record.get("extra", {})
        if not isinstance(extra, dict):
            raise InputError(f"{path}: key 'extra': expected an object, got {type(extra).__name__}")
        config: Any = from_dict(cls.config_cls, record["config"], str(path))
        _check_sizes(config, path)
        weights_path = Path(weights) if weights is not None else directory / WEIGHTS_FILE
        _check_against_weights(cls, config, extra, path, weights_path)
        try:
            model = cls(config, **extra)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: cannot build {cls.__name__} ({exc})") from None
        load_weights(model, weights_path)
        model.eval()
        return model


def _check_sizes(config: Any, path: Path, prefix: str = "") -> None:
    """InputError naming the key unless every int of the config (of its tuples and nested configs) is a size in
    1..MAX_WIDTH and obs_keys (when present) are distinct, non-empty names."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            _check_sizes(value, path, f"{prefix}{f.name}.")
            continue
        items = list(enumerate(value)) if isinstance(value, (tuple, list)) else [(None, value)]
        for i, v in items:
            key = f"{prefix}{f.name}" + (f"[{i}]" if i is not None else "")
            if isinstance(v, int) and not isinstance(v, bool) and not 1 <= v <= MAX_WIDTH:
                raise InputError(f"{path}: key '{key}': must be a size in 1..{MAX_WIDTH}, got {v}")
    keys = getattr(config, "obs_keys", None) if not prefix else None
    if keys is not None:
        if not keys or any(not isinstance(k, str) or not k for k in keys) or len(set(keys)) != len(keys):
            raise InputError(f"{path}: key 'obs_keys': expected distinct observation names, got {list(keys)}")


def _check_against_weights(cls: type[PolicyModule], config: Any, extra: dict[str, Any], path: Path,
                           weights_path: Path) -> None:
    """Build the network on the meta device (no memory) and compare it with the weight file's tensor shapes and
    MAX_PARAMETERS: a config that does not describe the stored weights fails here, before any allocation."""
    try:
        with torch.device("meta"):
            probe = cls(config, **extra)
    except Exception:  # a constructor that needs real tensors: the real build below reports any problem
        return
    shapes = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
    total = sum(int(torch.Size(s).numel()) for s in shapes.values())
    if total > MAX_PARAMETERS:
        raise InputError(f"{path}: the config describes a network of {total} values, more than {MAX_PARAMETERS}")
    stored = weight_shapes(weights_path)
    for name, shape in shapes.items():
        if name not in stored:
            raise InputError(f"{path}: does not match {weights_path.name} ({name} missing from the weights)")
        if stored[name] != shape:
            raise InputError(f"{path}: does not match {weights_path.name} ({name}: the config gives {shape}, "
                             f"the weights {stored[name]})")
