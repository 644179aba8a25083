"""What differs between RL stages: the MDP, the learner's starting point, how env steps are counted, the agent
evaluated on the task, the goal curriculum and the transition relabeler. setup_stage(cfg, run_dir) builds it."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

import hirl.rl.robotics  # noqa: F401  (registers the optional gymnasium-robotics adapters)
from hirl.errors import InputError
from hirl.integrations import adapter as env_adapter
from hirl.rl.agents import hierarchical_agent, model_path
from hirl.rl.config import RLRunConfig
from hirl.rl.envs import GoalCurriculum, adapt_env, high_env, low_env, subgoal_env
from hirl.rl.relabel import TransitionRelabeler
from hirl.rl.sb3 import SB3FlatAgent, SB3HighLevel, SB3LowLevel, build_model, load_model
from hirl.wrappers import GoalComponents


@dataclass
class StageSetup:
    """env                    the (single) training env the learner steps
    new_model(tb_dir)        a fresh learner (or one initialised from an earlier stage's model)
    count_steps(model)       env (control) steps taken by this learner so far
    eval_agent(model, env)   the rollout agent evaluated on the task during training
    curriculum               goal curriculum whose progress the trainer advances (stage low), else None
    relabeler                high-level transition relabeler (stage high), else None
    evaluate(model, n, seed) success rate replacing the task-episode evaluation (stage language), else None
    callbacks                extra SB3 callbacks of the stage; stats() -> counts for the summary (both optional)"""

    env: gym.Env
    new_model: Callable[[str], Any]
    count_steps: Callable[[Any], int]
    eval_agent: Callable[[Any, gym.Env], Any]
    curriculum: GoalCurriculum | None = None
    relabeler: TransitionRelabeler | None = None
    evaluate: Callable[[Any, int, int], float] | None = None
    callbacks: list[Any] = field(default_factory=list)
    stats: Callable[[], dict[str, int]] | None = None


def make_task(cfg: RLRunConfig) -> gym.Env:
    """The task env of cfg (goal restricted to cfg.goal_indices when given)."""
    env = env_adapter(cfg.env).make(**cfg.env_kwargs)
    return GoalComponents(env, cfg.goal_indices) if cfg.goal_indices else env


def goal_curriculum(cfg: RLRunConfig, task: gym.Env) -> GoalCurriculum:
    """Stage low's goal sampler over the env's goal points (restricted to cfg.goal_indices, duplicates dropped)."""
    ad = env_adapter(cfg.env)
    if ad.goal_points is None:
        raise InputError(f"env {cfg.env!r} defines no goal_points for the low level's goal curriculum")
    points = np.asarray(ad.goal_points(task))
    if cfg.goal_indices:
        points = np.unique(points[:, cfg.goal_indices], axis=0)
    low = cfg.low
    return GoalCurriculum(points, low.curriculum_start, low.curriculum_end, low.curriculum_fraction, low.goal_jitter)


def _frozen(run_dir: Path, name: str, stage: str) -> Any:
    path = model_path(run_dir, name)
    if not path.is_file():
        raise InputError(f"{path}: stage {stage!r} needs the {name} model of this run directory; train that stage first")
    return load_model(path)


def _num_timesteps(model: Any) -> int:
    return int(model.num_timesteps)


def setup_stage(cfg: RLRunConfig, run_dir: Path) -> StageSetup:
    stage, low = cfg.stage, cfg.low
    if stage == "flat":
        task = make_task(cfg)
        return StageSetup(task, lambda tb: build_model(cfg.algo, task, cfg.seed, tb), _num_timesteps, lambda m, e: SB3FlatAgent(m))
    if stage == "low":
        task = make_task(cfg)
        cur = goal_curriculum(cfg, task)
        env = low_env(task, low.epsilon, low.episode_steps, cur)
        return StageSetup(env, lambda tb: build_model(cfg.algo, env, cfg.seed, tb), _num_timesteps,
                          lambda m, e: SB3FlatAgent(m), curriculum=cur)
    if stage == "high":
        low_model = _frozen(run_dir, "low", stage)
        task = make_task(cfg)
        ll = SB3LowLevel(low_model)
        henv = high_env(task, ll, cfg.high, low.epsilon, record=cfg.high.relabel == "hiro")
        sub = henv.env
        relabeler = TransitionRelabeler(cfg.high.relabel, sub.encode, sub.decode, ll.mean, cfg.high.subgoal_test,
                                        cfg.high.subgoal_penalty, cfg.high.hiro_candidates, cfg.high.hiro_sigma, cfg.seed)
        penalty = cfg.high.subgoal_penalty if cfg.high.relabel == "hac" and cfg.high.subgoal_test > 0 else None
        return StageSetup(henv, lambda tb: build_model(cfg.algo, henv, cfg.seed, tb, penalty), lambda m: henv.env_steps,
                          lambda m, e: hierarchical_agent(m, low_model, e, cfg.high, low.epsilon), relabeler=relabeler)
    if stage == "adapt":
        high_model = _frozen(run_dir, "high", stage)
        start = _frozen(run_dir, "low", stage)
        task = make_task(cfg)
        decode = subgoal_env(task, SB3LowLevel(start), cfg.high, low.epsilon).decode
        hl = SB3HighLevel(high_model, decode)
        propose: Callable[[Any], np.ndarray] = lambda obs: np.asarray(hl.propose(obs, None).value)  # type: ignore[arg-type]  # noqa: E731
        env = adapt_env(task, propose, low.epsilon, cfg.high.horizon)

        def new_model(tb: str) -> Any:
            # the whole stage-1 learner (networks, optimisers, SAC's entropy coefficient), with a fresh replay buffer:
            # re-initialising the entropy coefficient (1.0) would make the low level forget in the first updates
            model = load_model(model_path(run_dir, "low"), env=env)
            # from this stage's algo spec: learning rate and learning_starts (the rest is stage 1's learner)
            model.tensorboard_log, model.learning_starts = tb, cfg.algo.learning_starts
            model.learning_rate = cfg.algo.learning_rate
            model._setup_lr_schedule()
            return model

        return StageSetup(env, new_model, _num_timesteps,
                          lambda m, e: hierarchical_agent(high_model, m, e, cfg.high, low.epsilon))
    if stage == "language":
        from hirl.rl.language import HindsightLanguageCallback, language_env, success_rate

        env, eval_env = language_env(cfg), language_env(cfg)
        hindsight = HindsightLanguageCallback(env)
        algo = replace(cfg.algo, her_strategy="none")  # goals are instructions: hindsight comes from the relabeling callback
        return StageSetup(env, lambda tb: build_model(algo, env, cfg.seed, tb), _num_timesteps, lambda m, e: None,
                          evaluate=lambda m, n, seed: success_rate(m, eval_env, n, seed), callbacks=[hindsight],
                          stats=lambda: {"hindsight_episodes": hindsight.episodes, "hindsight_transitions": hindsight.added})
    raise InputError(f"unknown stage {stage!r}")
