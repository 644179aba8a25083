"""Action heads shared by the low levels and the flat / chain-of-thought baselines (registry hirl.registry.ACTION_HEADS).

    mlp        one action per step (the default; the network of every run saved before heads existed)
    chunk      H future actions, L1 or MSE, run by receding horizon or temporal ensembling
    diffusion  a denoising head over H-action chunks (diffusers' DDPM / DDIM schedulers)

HeadConfig (the `head:` section of a run config) selects and sizes one; build_head builds it over a network's
conditioning features; HeadRunner holds the observation history and pending actions at inference."""
from hirl.policies.heads.config import INFERENCE_FIELDS, HeadConfig
from hirl.policies.heads.base import ActionHead, build_head
from hirl.policies.heads.chunk import ChunkHead, MLPHead
from hirl.policies.heads.diffusion import DiffusionHead, DiffusionHeadConfig
from hirl.policies.heads.execution import ChunkExecutor, HeadRunner, ObsHistory

__all__ = ["INFERENCE_FIELDS", "ActionHead", "ChunkExecutor", "ChunkHead", "DiffusionHead", "DiffusionHeadConfig",
           "HeadConfig", "HeadRunner", "MLPHead", "ObsHistory", "build_head"]
