"""SB3's evaluate_policy drives a trained hierarchical agent of an imitation run under the run's own replan rule
(chain_progress, which reads info["completed_subtasks"]): AgentPredictor + its InfoFeed give predict() the info and
the episode's command, and the episodes are step for step those of hirl's own run_episode."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import DummyVecEnv

import hirl
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.learn.run import train_run
from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig, TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.runs import RunDir
from hirl.wrappers import AgentPredictor

TABLETOP = "hirl/Tabletop-v0"
EPISODE_STEPS = 40  # control steps per evaluation episode (gym.make max_episode_steps): short, a few replans
SEED = 11  # the VecEnv's first reset seed; later episodes continue the env's RNG (seed None in run_episode)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hier_language trained for 12 optimizer steps on 4 expert episodes (hash text encoder): about 3 s."""
    root = tmp_path_factory.mktemp("sb3_eval")
    data = root / "data"
    collect(CollectConfig(env=TABLETOP, episodes=4, workers=1, seed=3, chain_length=2), data, progress=False)
    tiny = TrainerConfig(max_steps=12, batch_size=32, eval_every=6, checkpoint_every=6, progress=False, tensorboard=False)
    budgets = TrainingBudgets(low=tiny, high=tiny, baseline=tiny, image=tiny)
    cfg = RunConfig(dataset=str(data), collect=CollectSpec(episodes=4, chain_length=2, seed=3), agents=["hier_language"],
                    text_encoder="hash", val_fraction=0.25, train=budgets,
                    env_kwargs={"max_episode_steps": EPISODE_STEPS}, eval=EvalSpec(episodes=1, chain_length=1, videos=0))
    assert cfg.replan.detector == "chain_progress"  # the rule under test is the run's configured one
    run = root / "run"
    train_run(cfg, RunDir(run), progress=False)
    return run


def _hirl_episodes(run: Path, n: int) -> list[tuple[int, int]]:
    """(steps, completed subtasks) of n run_episode episodes: seed SEED, then the env's RNG continued."""
    env = hirl.make_env(run)
    agent = hirl.load_agent(run, "hier_language", env)
    results = [run_episode(env, agent, adapter(TABLETOP).command, seed=SEED if i == 0 else None) for i in range(n)]
    env.close()
    return [(r.steps, len(r.completed)) for r in results]


def test_evaluate_policy_runs_the_agent_as_run_episode_does(trained_run: Path) -> None:
    env = hirl.make_env(trained_run)
    agent = hirl.load_agent(trained_run, "hier_language", env)
    predictor = AgentPredictor(agent, command_fn=adapter(TABLETOP).command)
    vec = DummyVecEnv([lambda: predictor.wrap_env(env)])
    vec.seed(SEED)
    queries: list[int] = []
    with pytest.warns(UserWarning, match="Monitor"):  # SB3 notes the env has no Monitor wrapper (lengths are its own)
        rewards, lengths = evaluate_policy(predictor, vec, n_eval_episodes=3, return_episode_rewards=True,
                                           callback=lambda loc, glob: queries.append(agent.num_queries))
    chain_rewards = [float(r) for r in np.asarray(rewards)]  # Tabletop: 1.0 per completed subtask
    assert isinstance(lengths, list)
    assert list(zip(lengths, [int(r) for r in chain_rewards], strict=True)) == _hirl_episodes(trained_run, 3)
    assert max(queries) >= 1 and predictor.command() is not None  # the high level was asked, with the env's command
    vec.close()


def test_predict_without_info_fails_in_the_replan_rule(trained_run: Path) -> None:
    """The failure the InfoFeed exists for: a chain_progress agent given no info names the missing entry."""
    env = hirl.make_env(trained_run)
    agent = hirl.load_agent(trained_run, "hier_language", env)
    predictor = AgentPredictor(agent, obs_shape=env.observation_space["observation"].shape,
                               command_fn=adapter(TABLETOP).command)
    obs, info = env.reset(seed=SEED)
    agent.reset(adapter(TABLETOP).command(info))
    predictor.predict(obs)  # the first step asks the high level; the replan rule is asked from the second on
    with pytest.raises(KeyError, match="completed_subtasks"):
        predictor.predict(obs)
    action, _ = predictor.predict(obs, episode_start=np.array([True]), info=info)  # the reset info passed by hand
    assert action.shape == env.action_space.shape and agent.command is not None
    assert action.shape == env.action_space.shape
    env.close()
