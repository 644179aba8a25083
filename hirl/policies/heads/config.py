"""HeadConfig: the `head:` section of a run config and of every action-predicting network's config.json.

    head:
      kind: chunk            # mlp | chunk | diffusion (hirl.registry.ACTION_HEADS)
      horizon: 10            # H actions predicted per inference
      execution: receding    # receding (run `execute` of them, re-predict) | ensemble (ACT temporal ensembling)
      execute: 5
      history: 2             # the net sees the current and the previous observation

The defaults are today's single-step MLP (one action, MSE, grip regressed like the other dimensions, no history):
a network saved before heads existed loads as exactly that.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from hirl.registry import ACTION_HEADS

# fields that only change how a trained head is run (an eval may override them; the weights do not depend on them)
INFERENCE_FIELDS = ("execution", "execute", "ensemble_decay", "diffusion_steps", "diffusion_sampler")


@dataclass(frozen=True)
class HeadConfig:
    """How a policy turns its conditioning features (observation history + goal or command) into actions."""

    kind: str = "mlp"  # action head (ACTION_HEADS): mlp (one action) | chunk (H actions at once) | diffusion (denoised chunk)
    horizon: int = 1  # H, future actions predicted per inference (mlp: 1)
    # receding: run `execute` actions of a chunk, then re-predict; ensemble: re-predict every step, average the overlap (ACT)
    execution: Literal["receding", "ensemble"] = "receding"
    execute: int = 1  # receding horizon: actions executed from each prediction before re-predicting (1..H)
    ensemble_decay: float = 0.01  # ensemble: m of ACT's weights exp(-m*i) over the overlapping predictions, i = 0 the oldest
    loss: Literal["mse", "l1"] = "mse"  # regression loss of the mlp / chunk heads (diffusion fits its noise with MSE)
    # the last action dim: regress (like the others) | binary open/close (a logit with BCE; +-1 by threshold at inference)
    grip: Literal["regress", "binary"] = "regress"
    grip_weight: float = 1.0  # weight of the grip BCE against the regression loss (grip: binary, mlp / chunk)
    history: int = 1  # k, observations the net sees: the current one and the k-1 before it in the episode
    history_pad: Literal["edge", "zero"] = "edge"  # before the episode's first observation: repeat it | zeros
    pad_loss: bool = False  # chunk steps past the segment end (its last action repeated): False not in the loss, True fitted
    diffusion_train_steps: int = 100  # DDPM noise levels at training (diffusers scheduler num_train_timesteps)
    diffusion_steps: int = 10  # denoising steps per inference
    diffusion_sampler: Literal["ddim", "ddpm"] = "ddim"  # inference scheduler (diffusers DDIMScheduler | DDPMScheduler)
    beta_schedule: Literal["squaredcos_cap_v2", "linear", "scaled_linear"] = "squaredcos_cap_v2"  # diffusers noise schedule
    prediction: Literal["epsilon", "sample"] = "epsilon"  # what the denoiser predicts: the noise | the clean chunk
    denoiser_width: int = 128  # width of the denoiser's residual blocks (256: ~2.5x the training time on CPU)
    denoiser_blocks: int = 3  # residual FiLM blocks of the denoiser
    time_dim: int = 32  # sinusoidal embedding size of the noise level

    def __post_init__(self) -> None:
        if self.kind not in ACTION_HEADS:
            raise ValueError(f"head.kind must be one of {ACTION_HEADS.names()}, got {self.kind!r}")
        for name in ("horizon", "execute", "history", "diffusion_train_steps", "diffusion_steps", "denoiser_width",
                     "denoiser_blocks", "time_dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"head.{name} must be >= 1, got {getattr(self, name)}")
        if self.kind == "mlp" and self.horizon != 1:
            raise ValueError(f"head.kind mlp predicts one action (horizon 1), got horizon {self.horizon}; use kind chunk")
        if self.execute > self.horizon:
            raise ValueError(f"head.execute ({self.execute}) must be <= head.horizon ({self.horizon})")
        if self.ensemble_decay < 0 or self.grip_weight < 0:
            raise ValueError("head.ensemble_decay and head.grip_weight must be >= 0")
        if self.diffusion_steps > self.diffusion_train_steps:
            raise ValueError(f"head.diffusion_steps ({self.diffusion_steps}) must be <= head.diffusion_train_steps "
                             f"({self.diffusion_train_steps})")

    @property
    def single_step(self) -> bool:
        """True when every control step is one forward pass on the current observation (today's MLP)."""
        return self.horizon == 1 and self.history == 1

    def run_as(self, other: HeadConfig | None) -> HeadConfig:
        """This (trained) head run with the inference fields of `other` (e.g. a run config's head changed at eval),
        when other describes the same head (kind and horizon); else unchanged."""
        if other is None or other.kind != self.kind or other.horizon != self.horizon:
            return self
        return dataclasses.replace(self, **{f: getattr(other, f) for f in INFERENCE_FIELDS})
