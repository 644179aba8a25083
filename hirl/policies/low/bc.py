"""Goal-conditioned behaviour cloning low level: pi_LL(a | o, g) for language, state and image subgoals.

    net = GoalConditionedBC(BCConfig(goal_kind="language", obs_dim=32, text_dim=384))
    net.fit(obs_array)                                  # obs normaliser (and goal normaliser for state goals)
    Trainer(net, TrainerConfig(...), run_dir, ArraySampler({"obs":.., "goal_emb":.., "action":..}, 256)).fit()
    net.save("runs/x/low")
    low = BCLowLevel(GoalConditionedBC.load("runs/x/low"), text_encoder=MiniLMEncoder())
    action = low.act(obs_dict, Subgoal("language", "pull the drawer open"))     # (4,) float32

Batch keys read by loss(): obs (B, S) -- (B, k, S) oldest first with head.history k > 1 --, action (B, A) -- (B, H, A)
with head.horizon H > 1 -- , optional action_mask (B, H) (0 where a chunk ran past the segment end), and by goal kind
    language: goal_emb (B, E)   state: goal_state (B, G)   image: goal_image (B, H, W, 3) uint8
and, with goal_residual (state goals), achieved (B, G): the achieved goal at the observation.
Each goal kind is a GoalEncoding strategy (hirl.policies.low.goals, registry GOAL_ENCODERS) looked up by
BCConfig.goal_kind: it builds the goal encoder, fits it, names the batch key and turns a Subgoal into its input.
The action head (hirl.policies.heads, registry ACTION_HEADS, BCConfig.head) sees only the conditioning features
cond = [StateEncoder(o_{t-k+1}), ..., StateEncoder(o_t), goal features], so every head works with every goal kind.

Default head (mlp): MSE between tanh(net) and the expert action. The scripted expert is deterministic and
unimodal, and the agent acts with the mean, so a Gaussian NLL (MSE with a learned variance) would only re-weight
samples by the net's own uncertainty without changing the action taken; MSE is the fixed-variance NLL, stable from
the first step and directly comparable across goal kinds. The grip dimension (+-1) is fitted the same way unless
head.grip is binary; tanh keeps every output in the action box. Chunked and diffusion heads: hirl.policies.heads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hirl.encoders.state import StateEncoder
from hirl.encoders.text import TextEncoder
from hirl.encoders.text_factory import check_text_encoder, make_text_encoder
from hirl.policies.base import LowLevelPolicy
from hirl.policies.heads import ActionHead, HeadConfig, HeadRunner, build_head
from hirl.policies.inference import SubgoalCache, fast_inference, require_keys, to_tensor
from hirl.policies.low.goals import GoalEncoding
from hirl.policies.module import PolicyModule
from hirl.policies.obs import DEFAULT_OBS_KEYS, achieved_of, obs_vector
from hirl.registry import GOAL_ENCODERS
from hirl.types import Observation, Subgoal


@dataclass
class BCConfig:
    """Goal-conditioned BC network (every field saved in config.json)."""

    goal_kind: str = "language"  # subgoal kind the net is conditioned on: language | state | image
    obs_dim: int = 32  # S, size of the state vector (obs_vector over obs_keys)
    action_dim: int = 4  # A
    goal_dim: int = 14  # G, size of a state subgoal (used when goal_kind == "state")
    text_dim: int = 384  # E, text-embedding size (384 for MiniLM; used when goal_kind == "language")
    text_encoder: str = "text"  # registered text encoder used at inference when none is passed: text | hash
    obs_keys: tuple[str, ...] = DEFAULT_OBS_KEYS  # Dict obs entries concatenated into the state vector
    obs_feat: int = 128  # state-encoder output size
    goal_feat: int = 128  # goal-encoder output size
    encoder_hidden: tuple[int, ...] = (256, 256)  # hidden widths of the state encoders (obs and state goal)
    hidden: tuple[int, ...] = (256, 256)  # hidden widths of the action head (mlp / chunk)
    # conv widths of the goal-image CNN (trained with the policy on CPU: kept small)
    image_channels: tuple[int, int, int, int] = (16, 32, 32, 32)
    head: HeadConfig = field(default_factory=HeadConfig)  # action head and observation history (default: one-step MLP)
    # state goals only: the goal encoder also sees goal - achieved goal now (the change still to make), read from the
    # observation's achieved_key entry every step (HIQL's low level likewise sees the goal relative to the state)
    goal_residual: bool = False
    achieved_key: str = "achieved_goal"  # Dict obs entry holding the achieved goal (G,) (used with goal_residual)
    # state goals only: Gaussian noise added to training goals, in units of each goal dim's std over the data (0: none),
    # so the low level acts on a generated goal that is close but not exact (a high level's regression error)
    goal_noise: float = 0.0

    def __post_init__(self) -> None:
        if self.goal_kind not in GOAL_ENCODERS:
            raise ValueError(f"BCConfig.goal_kind must be one of {GOAL_ENCODERS.names()}, got {self.goal_kind!r}")
        if self.goal_residual and self.goal_kind != "state":
            raise ValueError(f"BCConfig.goal_residual needs state goals, got goal_kind {self.goal_kind!r}")
        if self.goal_noise < 0 or (self.goal_noise > 0 and self.goal_kind != "state"):
            raise ValueError(f"BCConfig.goal_noise must be >= 0 and needs state goals, got {self.goal_noise} "
                             f"with goal_kind {self.goal_kind!r}")
        for name in ("obs_dim", "action_dim", "goal_dim", "text_dim", "obs_feat", "goal_feat"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"BCConfig.{name} must be >= 1, got {getattr(self, name)}")


class GoalConditionedBC(PolicyModule):
    """[StateEncoder(o) for the k observations] ++ goal encoder(g) -> action head -> actions (B, H, A).

    goal encoders (the GoalEncoding strategy of config.goal_kind builds them): language (B, E) -> Linear; state
    (B, G) -> StateEncoder (normalised); image float (B, 3, H, W) in [0, 1] -> ImageEncoder CNN (trained with the policy).
    The head (config.head.kind: mlp | chunk | diffusion) is built by hirl.policies.heads.build_head."""

    config_cls = BCConfig

    def __init__(self, config: BCConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.goal_encoding: GoalEncoding = GOAL_ENCODERS.build(c.goal_kind)
        self.obs_encoder = StateEncoder(c.obs_dim, c.obs_feat, c.encoder_hidden)
        self.goal_encoder = self.goal_encoding.build(c)
        self.head: ActionHead = build_head(c.head, c.head.history * c.obs_feat + c.goal_feat, c.action_dim, c.hidden)

    @property
    def goal_key(self) -> str:
        """The batch key holding the goal: goal_emb | goal_state | goal_image."""
        return self.goal_encoding.batch_key

    def fit(self, obs: np.ndarray, goal_state: np.ndarray | None = None,
            text_emb: np.ndarray | None = None, achieved: np.ndarray | None = None) -> GoalConditionedBC:
        """Fit input normalisers from data: obs (N, S); goal_state (N, G) for state goals; text_emb (V, E) the
        embeddings of the training instructions for language goals (TextCentering; identity when None); achieved
        (N, G) the achieved goal at each row (needed with goal_residual)."""
        self.obs_encoder.fit_normalizer(obs)
        if self.config.goal_residual:
            if goal_state is None or achieved is None:
                raise ValueError("GoalConditionedBC.fit: goal_residual needs goal_state and achieved (N, G)")
            goal_state = np.concatenate([goal_state, goal_state - achieved], axis=1)
        self.goal_encoding.fit(self.goal_encoder, goal_state, text_emb)
        return self

    def goal_input(self, goal: torch.Tensor, achieved: torch.Tensor | None = None) -> torch.Tensor:
        """Batch goal tensor as stored (goal_emb / goal_state float, goal_image uint8 (B, H, W, 3)) -> encoder input;
        with goal_residual, [goal, goal - achieved] (B, 2G) from achieved (B, G)."""
        return self.with_achieved(self.goal_encoding.batch_input(goal), achieved)

    def goal_std(self) -> torch.Tensor:
        """(G,) the std of each state-goal dim over the training data (from the goal encoder's fitted normaliser)."""
        assert isinstance(self.goal_encoder, StateEncoder)  # state goals (BCConfig checks goal_noise's kind)
        return self.goal_encoder.norm_std[: self.config.goal_dim]

    def with_achieved(self, goal: torch.Tensor, achieved: torch.Tensor | None) -> torch.Tensor:
        """Goal encoder input (B, ...) -> itself, or with goal_residual [goal, goal - achieved] (B, 2G)."""
        if not self.config.goal_residual:
            return goal
        if achieved is None:
            raise ValueError("GoalConditionedBC: goal_residual needs the achieved goal (batch key 'achieved')")
        return torch.cat([goal, goal - achieved.float()], dim=-1)

    def encode_goal(self, goal: torch.Tensor, achieved: torch.Tensor | None = None) -> torch.Tensor:
        """goal as stored in a batch (and achieved (B, G) with goal_residual) -> (B, goal_feat)."""
        return self.goal_encoder(self.goal_input(goal, achieved))

    def condition(self, obs: torch.Tensor, goal_feat: torch.Tensor) -> torch.Tensor:
        """obs (B, S) or (B, k, S), goal_feat (B, goal_feat) -> the head's input (B, k * obs_feat + goal_feat)."""
        k = self.config.head.history
        if (obs.ndim == 2) != (k == 1) or obs.shape[-1] != self.config.obs_dim or (k > 1 and obs.shape[1] != k):
            raise ValueError(f"GoalConditionedBC: obs must be (B, {self.config.obs_dim})" if k == 1 else
                             f"GoalConditionedBC: obs must be (B, {k}, {self.config.obs_dim}) (head.history {k})")
        feat = self.obs_encoder(obs.float().reshape(-1, self.config.obs_dim)).view(obs.shape[0], -1)
        return torch.cat([feat, goal_feat], dim=-1)

    def predict(self, obs: torch.Tensor, goal_feat: torch.Tensor, generator: torch.Generator | None = None,
                run: HeadConfig | None = None) -> torch.Tensor:
        """obs (B, S) | (B, k, S), goal_feat (B, goal_feat) -> actions (B, H, A) in [-1, 1] (run: inference settings
        other than the trained ones, e.g. fewer denoising steps)."""
        return self.head.predict(self.condition(obs, goal_feat), generator, run)

    def forward(self, obs: torch.Tensor, goal: torch.Tensor, achieved: torch.Tensor | None = None) -> torch.Tensor:
        """obs (B, S) | (B, k, S), goal (B, E) | (B, G) | uint8 (B, H, W, 3) (achieved (B, G) with goal_residual)
        -> actions (B, H, A) (H = 1: mlp)."""
        return self.predict(obs, self.encode_goal(goal, achieved))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        keys = ("obs", "action", self.goal_key) + (("achieved",) if self.config.goal_residual else ())
        require_keys(batch, keys, type(self).__name__)
        goal = batch[self.goal_key]
        if self.config.goal_noise > 0 and self.training:
            goal = goal.float() + self.config.goal_noise * self.goal_std() * torch.randn_like(goal, dtype=torch.float32)
        cond = self.condition(batch["obs"], self.encode_goal(goal, batch.get("achieved")))
        return self.head.loss(cond, batch["action"], batch.get("action_mask"))


class BCLowLevel(LowLevelPolicy):
    """Inference wrapper: act(obs, subgoal) -> (A,) float32 at 50 Hz.

    model         a GoalConditionedBC, or the directory it was saved to
    text_encoder  encoder for language subgoals (default: the one named in the config; must match text_dim).
                  Any instruction works -- paraphrases and new ones -- because the net sees its embedding.
    head          run the trained head with these inference settings (execution, execute, ensemble_decay, diffusion
                  steps / sampler; HeadConfig.run_as), e.g. a run config's head changed at eval; None: as trained
    The goal encoding (text embedding -> Linear, state MLP, image CNN) is computed once per Subgoal object and
    reused every step it stays active (with goal_residual it reads the achieved goal: computed every step); a step
    is then one state-encoder + head pass (~0.2-0.5 ms on CPU for the
    mlp), or, for chunked heads, one pass every `execute` steps (receding) and a queue pop in between.
    The observation history (head.history) spans the episode; pending actions are dropped on reset() and when the
    subgoal changes (a different goal, not merely a new Subgoal object). `predicted`: the last act() ran the net.
    """

    def __init__(self, model: GoalConditionedBC | str | Path, text_encoder: TextEncoder | None = None,
                 cache_size: int = 8, head: HeadConfig | None = None) -> None:
        self.model = model if isinstance(model, GoalConditionedBC) else GoalConditionedBC.load(model)
        self.model.eval()
        self.kind = self.model.config.goal_kind
        self.text_encoder: TextEncoder | None = None
        if self.model.goal_encoding.needs_text_encoder:
            self.text_encoder = text_encoder or make_text_encoder(self.model.config.text_encoder, self.model.config.text_dim)
            check_text_encoder(self.text_encoder, self.model.config.text_dim, "BCLowLevel")
        self._goals = SubgoalCache(cache_size)
        self.runner = HeadRunner(self.model.config.head.run_as(head), self.model.config.action_dim)
        self._active: Subgoal | None = None

    @property
    def predicted(self) -> bool:
        return self.runner.predicted

    def reset(self) -> None:
        self._goals.clear()
        self.runner.reset()
        self._active = None

    def _goal_input(self, subgoal: Subgoal) -> torch.Tensor:
        """subgoal -> the goal encoder's input with a batch axis of 1 (the goal-kind strategy's)."""
        return self.model.goal_encoding.subgoal_input(subgoal, self.model.config, self.text_encoder)

    def _goal_feat(self, subgoal: Subgoal) -> torch.Tensor:
        """subgoal -> (1, goal_feat): the goal encoder on its input."""
        with fast_inference():
            return self.model.goal_encoder(self._goal_input(subgoal))

    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        if subgoal.kind != self.kind:
            raise TypeError(f"BCLowLevel was trained on {self.kind} subgoals, got a {subgoal.kind} subgoal")
        cfg = self.model.config
        if cfg.goal_residual:  # the encoder reads the achieved goal now: its input is cached per subgoal, not its output
            goal = self._goals.get(subgoal, self._goal_input)
            achieved = to_tensor(achieved_of(obs, cfg.achieved_key))
            with fast_inference():
                goal_feat = self.model.goal_encoder(self.model.with_achieved(goal, achieved))
        else:
            goal_feat = self._goals.get(subgoal, self._goal_feat)
        if subgoal is not self._active and not subgoal.same_goal(self._active):
            self.runner.new_goal()
        self._active = subgoal
        x = self.runner.observe(obs_vector(obs, self.model.config.obs_keys))
        if self.runner.needs_prediction():
            with fast_inference():
                self.runner.push(self.model.predict(x, goal_feat, run=self.runner.config)[0].numpy())
        return self.runner.next()

    @classmethod
    def load(cls, directory: str | Path, text_encoder: TextEncoder | None = None) -> BCLowLevel:
        return cls(GoalConditionedBC.load(directory), text_encoder)
