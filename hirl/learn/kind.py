"""The imitation run kind: `hirl train` on a RunConfig (no `kind:` key, or `kind: imitation`) and its evaluation
protocol (CALVIN-style chains of cfg.eval.chain_length subtasks)."""
from __future__ import annotations

from typing import Any
from collections.abc import Mapping

import gymnasium as gym

from hirl.encoders.text import TEXT_DIM, TextEncoder
from hirl.encoders.text_factory import make_text_encoder
from hirl.integrations import adapter as env_adapter
from hirl.learn.run_config import RunConfig
from hirl.hierarchy import ReplanRule, build_replan_rule
from hirl.runs.agents import ADAPTED_SUFFIX, AgentContext
from hirl.runs.kinds import EvalSetup, RunKind
from hirl.runs.rundir import RunDir


class ImitationKind(RunKind):
    """Imitation runs: a dataset (collected if missing) -> every network cfg.agents need -> RUN/models."""

    config_cls = RunConfig

    def train(self, cfg: RunConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
        from hirl.learn.run import train_run

        return train_run(cfg, run, progress)

    def describe(self, cfg: RunConfig, summary: Mapping[str, Any], run: RunDir) -> str:
        return f"run directory: {run.path}  ({summary['seconds']} s); evaluate with: hirl eval {run.path}"

    def default_agents(self, cfg: RunConfig, run: RunDir) -> list[str]:
        """The run's agents, plus "<agent>+adapt" for each one the adapt stage fine-tuned."""
        from hirl.learn.adapt import adaptable_agents

        adapted = [a + ADAPTED_SUFFIX for a in adaptable_agents(cfg)] if cfg.adapt.enabled else []
        return list(cfg.agents) + adapted

    def eval_setup(self, cfg: RunConfig) -> EvalSetup:
        ad, spec = env_adapter(cfg.env), cfg.eval
        return EvalSetup(episodes=spec.episodes, seed=spec.seed, chain_length=spec.chain_length, command=ad.command,
                         options=ad.reset_options, videos=spec.videos, frame_every=spec.frame_every,
                         video_size=spec.video_size, image_size=cfg.collect.image_size)

    def replan_rule(self, ctx: AgentContext) -> ReplanRule:
        """cfg.replan with the env's detector arguments (e.g. canonicalize)."""
        return build_replan_rule(ctx.cfg.replan, ctx.adapter.detector_extra(ctx.env), seed=ctx.seed)

    def longer(self, cfg: RunConfig) -> list[str]:
        """Twice the steps of every budget that trains one of the run's networks."""
        from hirl.learn.imitation import components_for

        fields = dict.fromkeys(c.budget_field for c in components_for(cfg.agents) if c.trained)
        return [f"train.{f}.max_steps={2 * getattr(cfg.train, f).max_steps}" for f in fields]

    def validate(self, cfg: RunConfig) -> None:
        from hirl.learn.validate import validate

        validate(cfg)

    def check(self, cfg: RunConfig) -> None:
        from hirl.learn.run import check_before_work

        check_before_work(cfg)

    def text_encoder(self, cfg: RunConfig) -> TextEncoder:
        return make_text_encoder(cfg.text_encoder, TEXT_DIM)

    def make_env(self, cfg: RunConfig, render: bool = False, size: int | None = None) -> gym.Env:
        size = size or cfg.collect.image_size
        return env_adapter(cfg.env).make(render=render, width=size, height=size, **cfg.env_kwargs)
