"""The task of an RL config and success on it: the task env, stage low's goal curriculum over its goal points, and
the evaluation of a rollout agent on task (or goal-reaching) episodes through run_episode."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.errors import InputError
from hirl.hierarchy.metrics import chain_metrics
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter as env_adapter
from hirl.rl.config import RLRunConfig
from hirl.rl.envs import GoalCurriculum, low_env
from hirl.wrappers import GoalComponents


def make_task(cfg: RLRunConfig, render: bool = False, size: int | None = None) -> gym.Env:
    """The task env of cfg (goal restricted to cfg.goal_indices when given; render: rgb_array frames of size px)."""
    camera = {"width": size, "height": size} if size else {}
    env = env_adapter(cfg.env).make(render=render, **camera, **cfg.env_kwargs)
    return GoalComponents(env, cfg.goal_indices) if cfg.goal_indices else env


def goal_curriculum(cfg: RLRunConfig, task: gym.Env) -> GoalCurriculum:
    """Stage low's goal sampler over the env's goal points (N, G) (restricted to cfg.goal_indices, duplicates dropped)."""
    ad = env_adapter(cfg.env)
    if ad.goal_points is None:
        raise InputError(f"env {cfg.env!r} defines no goal_points for the low level's goal curriculum")
    points = np.asarray(ad.goal_points(task))
    if cfg.goal_indices:
        points = np.unique(points[:, cfg.goal_indices], axis=0)
    low = cfg.low
    return GoalCurriculum(points, low.curriculum_start, low.curriculum_end, low.curriculum_fraction, low.goal_jitter,
                          low.curriculum_schedule, low.curriculum_stages)


def evaluation_env(cfg: RLRunConfig, render: bool = False, size: int | None = None) -> gym.Env:
    """The env agents are evaluated in: the task env, or with eval.mode = goals stage low's goal-reaching MDP with
    goals from the curriculum at its full radius."""
    env = make_task(cfg, render, size)
    if cfg.eval.mode == "goals":
        curriculum = goal_curriculum(cfg, env)
        curriculum.progress = 1.0
        env = low_env(env, cfg.low.epsilon, cfg.low.episode_steps, curriculum)
    return env


def evaluate_success(make_agent: Callable[[Any], Any], cfg: RLRunConfig, episodes: int) -> dict[str, Any]:
    """chain_metrics of `episodes` episodes (seeds eval.seed + i) of make_agent(env) in evaluation_env(cfg)."""
    ad = env_adapter(cfg.env)
    env = evaluation_env(cfg)
    agent = make_agent(env)
    results = [run_episode(env, agent, ad.command, seed=cfg.eval.seed + i) for i in range(episodes)]
    env.close()
    return chain_metrics(results)
