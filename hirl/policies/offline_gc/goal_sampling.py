"""How an offline goal-conditioned method draws its goals: GoalSampling (the probabilities and offsets the trainer's
sampler, hirl.learn.offline_gc.sampling.GoalSampler, uses), GoalSamplingConfig (those fields in a method's config, with
OGBench's defaults) and sampling_of (config -> GoalSampling). The batch they produce is described in the sampler's
module."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GoalSampling:
    """How goals are drawn (OGBench's defaults for HIQL / GCIVL value learning and its actors). OGBench's names:
    value_p_curgoal / trajgoal / randomgoal, actor_p_curgoal / trajgoal / randomgoal, actor_geom_sample; value goals
    always use the geometric offset (OGBench's value_geom_sample, True for every method)."""

    discount: float = 0.99  # geometric offset of trajectory value goals: P(k) = (1 - discount) discount^(k-1)
    value_p_cur: float = 0.2  # P(value goal = the current state)
    value_p_traj: float = 0.5  # P(value goal = a future state of the episode, geometric offset)
    value_p_random: float = 0.3  # P(value goal = a random state of the data)
    subgoal_steps: int = 25  # k: the low level's goal is the state k steps ahead (OGBench: 25 mazes, 10 manipulation)
    actor_p_cur: float = 0.0  # P(actor goal = the current state) (OGBench's default for every method)
    actor_p_traj: float = 1.0  # P(actor goal = a future state of the episode) (OGBench: 0.5 on stitch datasets)
    actor_p_random: float = 0.0  # P(actor goal = a random state of the data) (OGBench: 0.5 on stitch datasets)
    actor_geom_sample: bool = False  # future actor goals at a geometric offset (True) or uniform over the rest (False)

    def __post_init__(self) -> None:
        if not 0 < self.discount < 1:
            raise ValueError(f"discount must be in (0, 1), got {self.discount}")
        for who in ("value", "actor"):
            ps = tuple(getattr(self, f"{who}_p_{k}") for k in ("cur", "traj", "random"))
            if min(ps) < 0 or abs(sum(ps) - 1) > 1e-6:
                raise ValueError(f"{who}_p_cur + {who}_p_traj + {who}_p_random must be 1, each >= 0, got {ps}")
        if self.subgoal_steps < 1:
            raise ValueError(f"subgoal_steps must be >= 1, got {self.subgoal_steps}")


SAMPLING_FIELDS = ("discount", "value_p_cur", "value_p_traj", "value_p_random", "subgoal_steps", "actor_p_cur",
                   "actor_p_traj", "actor_p_random", "actor_geom_sample")  # GoalSampling's fields, by name


@dataclass(kw_only=True)
class GoalSamplingConfig:
    """The goal-sampling fields of a method's config (GoalSampling's but subgoal_steps), keyword-only, with OGBench's
    GCIVL / GCIQL defaults; a method whose OGBench defaults differ redeclares the field with
    field(default=..., kw_only=True). sampling_of(config) turns them into the sampler's GoalSampling (and checks them)."""

    discount: float = 0.99  # gamma, also the geometric offset of future value goals (OGBench: 0.995 on giant mazes)
    value_p_cur: float = 0.2  # P(value goal = current state) (OGBench's)
    value_p_traj: float = 0.5  # P(value goal = future state, geometric offset) (OGBench's)
    value_p_random: float = 0.3  # P(value goal = random state) (OGBench's)
    actor_p_cur: float = 0.0  # P(actor goal = current state) (OGBench's)
    actor_p_traj: float = 1.0  # P(actor goal = future state) (OGBench's; 0.5 on stitch datasets)
    actor_p_random: float = 0.0  # P(actor goal = random state) (OGBench's; 0.5 on stitch datasets)
    actor_geom_sample: bool = False  # future actor goals uniform over the rest of the episode (OGBench's)


def sampling_of(config: Any) -> GoalSampling:
    """The GoalSampling a model config trains with: each GoalSampling field the config has (a method's discount is
    its geometric goal offset too, as in OGBench), GoalSampling's default for the others."""
    return GoalSampling(**{k: getattr(config, k) for k in SAMPLING_FIELDS if hasattr(config, k)})
