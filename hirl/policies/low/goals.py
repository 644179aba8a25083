"""Goal encodings of the goal-conditioned BC low level: one strategy class per subgoal kind.

Registered in hirl.registry.GOAL_ENCODERS under the subgoal kind and looked up by BCConfig.goal_kind:

    enc = GOAL_ENCODERS.build("state")
    net.goal_encoder = enc.build(config)           # the torch module (saved under "goal_encoder.*")
    enc.fit(net.goal_encoder, goal_state, text_emb)  # fit its normaliser / TextCentering from data
    batch[enc.batch_key]                            # where training batches hold the goal
    enc.batch_input(batch[enc.batch_key])           # stored batch tensor -> encoder input
    enc.subgoal_input(subgoal, config, text_enc)    # one Subgoal -> encoder input with a batch axis of 1

    "language"  goal_emb (B, E) float32 text embedding -> TextCentering -> Linear        (needs a text encoder)
    "state"     goal_state (B, G) float32 -> StateEncoder (normalised MLP); with goal_residual the net feeds it
                [goal, goal - achieved goal now] (B, 2G)
    "image"     goal_image (B, H, W, 3) uint8 -> float (B, 3, H, W) in [0, 1] -> ImageEncoder CNN

Adding a subgoal kind: one decorated GoalEncoding subclass here.
"""
from __future__ import annotations

import abc
from typing import Protocol

import numpy as np
import torch
from torch import nn

from hirl.encoders.image import ImageEncoder, image_to_tensor, images_to_float
from hirl.encoders.state import StateEncoder
from hirl.encoders.text import TextEncoder
from hirl.policies.inference import to_tensor
from hirl.policies.nets import TextCentering
from hirl.registry import GOAL_ENCODERS
from hirl.types import Subgoal



class BCConfig(Protocol):
    """The fields of a goal-conditioned BC network's config (hirl.policies.low.bc.BCConfig) a goal encoding reads."""

    @property
    def goal_feat(self) -> int: ...  # goal-encoder output size

    @property
    def goal_dim(self) -> int: ...  # G, size of a state subgoal

    @property
    def text_dim(self) -> int: ...  # E, text-embedding size

    @property
    def encoder_hidden(self) -> tuple[int, ...]: ...  # hidden widths of the state goal encoder

    @property
    def image_channels(self) -> tuple[int, int, int, int]: ...  # conv widths of the goal-image CNN

    @property
    def goal_residual(self) -> bool: ...  # state goals: the encoder input is [goal, goal - achieved] (2G)


class GoalEncoding(abc.ABC):
    """How a GoalConditionedBC conditions on one subgoal kind (stateless; the torch module lives in the net)."""

    batch_key: str = ""  # batch entry holding the goal
    needs_text_encoder: bool = False  # True: subgoal_input needs a text encoder (language subgoals)

    @abc.abstractmethod
    def build(self, config: BCConfig) -> nn.Module:
        """The goal encoder module: encoder input -> (B, config.goal_feat)."""

    def fit(self, encoder: nn.Module, goal_state: np.ndarray | None, text_emb: np.ndarray | None) -> None:
        """Fit the encoder's input normalisation from data (goal_state (N, G); text_emb (V, E)); default: nothing."""

    def batch_input(self, goal: torch.Tensor) -> torch.Tensor:
        """Goal tensor as stored in a batch (B, ...) -> encoder input (B, ...) float."""
        return goal.float()

    @abc.abstractmethod
    def subgoal_input(self, subgoal: Subgoal, config: BCConfig, text_encoder: TextEncoder | None) -> torch.Tensor:
        """One Subgoal -> encoder input with a batch axis of 1."""


@GOAL_ENCODERS.register("language")
class LanguageGoal(GoalEncoding):
    """Text embedding (B, E) -> TextCentering (fitted on the training instructions) -> Linear -> (B, goal_feat)."""

    batch_key = "goal_emb"
    needs_text_encoder = True

    def build(self, config: BCConfig) -> nn.Module:
        return nn.Sequential(TextCentering(config.text_dim), nn.Linear(config.text_dim, config.goal_feat))

    def fit(self, encoder: nn.Module, goal_state: np.ndarray | None, text_emb: np.ndarray | None) -> None:
        assert isinstance(encoder, nn.Sequential) and isinstance(encoder[0], TextCentering)  # built by build()
        if text_emb is not None:
            encoder[0].fit(text_emb)

    def subgoal_input(self, subgoal: Subgoal, config: BCConfig, text_encoder: TextEncoder | None) -> torch.Tensor:
        if text_encoder is None:
            raise ValueError("language subgoals need a text encoder")
        return to_tensor(text_encoder.encode_one(str(subgoal.value))).float()


@GOAL_ENCODERS.register("state")
class StateGoal(GoalEncoding):
    """State goal (B, G) -> StateEncoder (normaliser fitted on the training goals) -> (B, goal_feat)."""

    batch_key = "goal_state"

    def build(self, config: BCConfig) -> nn.Module:
        width = 2 * config.goal_dim if config.goal_residual else config.goal_dim
        return StateEncoder(width, config.goal_feat, config.encoder_hidden)

    def fit(self, encoder: nn.Module, goal_state: np.ndarray | None, text_emb: np.ndarray | None) -> None:
        if goal_state is None:
            raise ValueError("GoalConditionedBC.fit: state goals need goal_state (N, G) to fit their normaliser")
        assert isinstance(encoder, StateEncoder)  # built by build()
        encoder.fit_normalizer(goal_state)

    def subgoal_input(self, subgoal: Subgoal, config: BCConfig, text_encoder: TextEncoder | None) -> torch.Tensor:
        goal = to_tensor(np.asarray(subgoal.value, dtype=np.float32))
        if goal.shape[1] != config.goal_dim:
            raise ValueError(f"BCLowLevel: state subgoal has {goal.shape[1]} dims, the model expects {config.goal_dim}")
        return goal.float()


@GOAL_ENCODERS.register("image")
class ImageGoal(GoalEncoding):
    """Goal frame uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1] -> ImageEncoder CNN (trained with the policy)."""

    batch_key = "goal_image"

    def build(self, config: BCConfig) -> nn.Module:
        return ImageEncoder(config.goal_feat, config.image_channels)

    def batch_input(self, goal: torch.Tensor) -> torch.Tensor:
        return images_to_float(goal)

    def subgoal_input(self, subgoal: Subgoal, config: BCConfig, text_encoder: TextEncoder | None) -> torch.Tensor:
        return image_to_tensor(np.array(subgoal.value))  # copy: subgoal arrays are read-only
