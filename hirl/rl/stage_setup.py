"""The env-stepping RL stages, one registered class each: what differs between them is the MDP, the learner's
starting point, how env steps are counted, the agent evaluated on the task, the goal curriculum and the transition
relabeler (their StageSetup); hirl.rl.trainer.StageTrainer trains every one of them the same way.

    low       the goal-conditioned low level on curriculum goals                -> RUN/models/rl_low
    high      the high level on SubgoalEnv with the low level frozen            -> RUN/models/rl_high
    adapt     the low level fine-tuned on the frozen high level's subgoals      -> RUN/models/adapted/rl_low (+ rl_high)
    flat      SAC/TD3 + HER on the task's own goal                              -> RUN/models/rl_flat
    language  language-conditioned low level with hindsight language relabeling -> RUN/models/rl_language
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from typing import Any

import numpy as np

from hirl.errors import InputError
from hirl.rl.components import hierarchical_agent
from hirl.rl.config import RLRunConfig
from hirl.rl.envs import adapt_env, high_env, low_env, subgoal_env
from hirl.rl.plan_stage import planner_metrics
from hirl.rl.relabel import relabeler_class
from hirl.rl.sb3 import MODEL_FILE, build_model, load_model
from hirl.rl.sb3_policies import SB3FlatAgent, SB3HighLevel, SB3LowLevel
from hirl.rl.task import goal_curriculum, make_task
from hirl.rl.trainer import LearnerStage, StageSetup
from hirl.runs import RunDir
from hirl.types import Observation


def _frozen(run: RunDir, name: str, stage: str) -> Any:
    path = run.model_dir(name) / MODEL_FILE
    if not path.is_file():
        raise InputError(f"{path}: stage {stage!r} needs the {name} model of this run directory; train that stage first")
    return load_model(path)


def _num_timesteps(model: Any) -> int:
    return int(model.num_timesteps)


class FlatStage(LearnerStage):
    """The flat baseline: the algo's learner on the task env itself."""

    output = "rl_flat"

    def setup(self, cfg: RLRunConfig, run: RunDir) -> StageSetup:
        task = make_task(cfg)
        return StageSetup(task, lambda tb: build_model(cfg.algo, task, cfg.seed, tb), _num_timesteps,
                          lambda m, e: SB3FlatAgent(m))


class LowStage(LearnerStage):
    """The low level on goals from the curriculum (plan.eval_during_low: also the planner at every curve point)."""

    output = "rl_low"

    def setup(self, cfg: RLRunConfig, run: RunDir) -> StageSetup:
        task = make_task(cfg)
        cur = goal_curriculum(cfg, task)
        env = low_env(task, cfg.low.epsilon, cfg.low.episode_steps, cur)
        extra = (lambda m: planner_metrics(cfg, m)) if cfg.plan.eval_during_low else None
        return StageSetup(env, lambda tb: build_model(cfg.algo, env, cfg.seed, tb), _num_timesteps,
                          lambda m, e: SB3FlatAgent(m), curriculum=cur, extra_eval=extra)


class HighStage(LearnerStage):
    """The high level over the frozen low level; its transitions pass through the high.relabel strategy."""

    output = "rl_high"

    def setup(self, cfg: RLRunConfig, run: RunDir) -> StageSetup:
        low_model = _frozen(run, "rl_low", "high")
        task = make_task(cfg)
        ll = SB3LowLevel(low_model)
        strategy = relabeler_class(cfg.high.relabel)
        henv = high_env(task, ll, cfg.high, cfg.low.epsilon, record=strategy.records_low_level)
        sub = henv.subgoal_env
        relabeler = strategy.from_spec(cfg.high, sub.encode, sub.decode, ll.mean, cfg.seed)
        penalty = relabeler.buffer_penalty
        return StageSetup(henv, lambda tb: build_model(cfg.algo, henv, cfg.seed, tb, penalty), lambda m: henv.env_steps,
                          lambda m, e: hierarchical_agent(m, low_model, e, cfg), relabeler=relabeler)


class AdaptStage(LearnerStage):
    """Stage 1's low-level learner, continued on the subgoals the frozen high level emits; saved beside a copy of
    the high level in RUN/models/adapted/ (agent rl_hier+adapt)."""

    output = "rl_low"
    adapted = True

    def train(self, cfg: RLRunConfig, run: RunDir) -> dict[str, Any]:
        summary = super().train(cfg, run)
        high = run.model_dir("rl_high", adapted=True)
        high.mkdir(parents=True, exist_ok=True)
        shutil.copy(run.model_dir("rl_high") / MODEL_FILE, high / MODEL_FILE)
        return summary

    def setup(self, cfg: RLRunConfig, run: RunDir) -> StageSetup:
        high_model = _frozen(run, "rl_high", "adapt")
        start = _frozen(run, "rl_low", "adapt")
        task = make_task(cfg)
        decode = subgoal_env(task, SB3LowLevel(start), cfg.high, cfg.low.epsilon).decode
        hl = SB3HighLevel(high_model, decode)

        def propose(obs: Observation) -> np.ndarray:  # the frozen high level's state subgoal (G,)
            return np.asarray(hl.propose(obs, None).value)

        env = adapt_env(task, propose, cfg.low.epsilon, cfg.high.horizon)

        def new_model(tb: str) -> Any:
            # the whole stage-1 learner (networks, optimisers, SAC's entropy coefficient), with a fresh replay buffer:
            # re-initialising the entropy coefficient (1.0) would make the low level forget in the first updates
            model = load_model(run.model_dir("rl_low") / MODEL_FILE, env=env)
            # from this stage's algo spec: learning rate and learning_starts (the rest is stage 1's learner)
            model.tensorboard_log, model.learning_starts = tb, cfg.algo.learning_starts
            model.learning_rate = cfg.algo.learning_rate
            model._setup_lr_schedule()
            return model

        return StageSetup(env, new_model, _num_timesteps,
                          lambda m, e: hierarchical_agent(high_model, m, e, cfg))


class LanguageStage(LearnerStage):
    """The language-conditioned low level (hirl.rl.language), evaluated by its own success rate on attempts."""

    output = "rl_language"

    def setup(self, cfg: RLRunConfig, run: RunDir) -> StageSetup:
        from hirl.rl.language import HindsightLanguageCallback, language_env, success_rate  # text encoders: only here

        env, eval_env = language_env(cfg), language_env(cfg)
        hindsight = HindsightLanguageCallback(env)
        algo = replace(cfg.algo, her_strategy="none")  # goals are instructions: hindsight comes from the relabeling callback
        return StageSetup(env, lambda tb: build_model(algo, env, cfg.seed, tb), _num_timesteps, lambda m, e: None,
                          evaluate=lambda m, n, seed: success_rate(m, eval_env, n, seed), callbacks=[hindsight],
                          stats=lambda: {"hindsight_episodes": hindsight.episodes, "hindsight_transitions": hindsight.added})
