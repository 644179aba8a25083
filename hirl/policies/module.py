"""PolicyModule: the base of every learned policy network -- a config dataclass plus save(dir) / load(dir).

    net.save("runs/x/models/low_language")                  # config.json + weights.safetensors
    net = GoalConditionedBC.load("runs/x/models/low_language")

config.json is turned back into the config dataclass by the project's one config loader (hirl.config.from_dict):
unknown keys, wrong types and failed validation are one InputError line naming the file.

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
import json
from pathlib import Path
from typing import Any, TypeVar

from torch import nn

from hirl.config import from_dict
from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.weights import load_weights, save_weights

CONFIG_FILE = "config.json"  # model config record inside a model directory
WEIGHTS_FILE = "weights.safetensors"  # model weights inside a model directory
FORMAT_VERSION = 1  # version of the config.json record layout

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
        config: Any = from_dict(cls.config_cls, record["config"], str(path))
        try:
            model = cls(config, **record.get("extra", {}))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: cannot build {cls.__name__} ({exc})") from None
        load_weights(model, Path(weights) if weights is not None else directory / WEIGHTS_FILE)
        model.eval()
        return model
