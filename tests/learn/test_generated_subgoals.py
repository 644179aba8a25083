"""Short-horizon state subgoals and the expert look-ahead oracles: goal_state_ahead against the episodes, the look-ahead
leaving the episode untouched, what it proposes (k steps ahead = the expert's own future; segment end = where its
subtask ended), and a tiny train + eval of hier_state_ahead and the oracle agents (hash text encoder: plumbing only;
experiments/tabletop/hierarchical.yaml measures the learning)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hirl.config import FieldError
from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.tables import build_tables, goal_state_ahead
from hirl.eval.evaluate import evaluate_run
from hirl.hierarchy import FixedInterval, HierarchicalAgent
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.learn.run import train_run
from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig, SubgoalSpec, TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.policies.high.lookahead import ExpertLookahead
from hirl.policies.obs import DEFAULT_OBS_KEYS
from hirl.runs import RunDir
from hirl.runs.agents import component


@pytest.fixture(scope="module")
def tabletop(tmp_path_factory):
    path = tmp_path_factory.mktemp("tt") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=3, workers=1, seed=5, chain_length=2, image_every=5,
                          image_size=16), path, progress=False)
    return path


def test_goal_state_ahead_is_the_achieved_goal_k_steps_later(tabletop):
    ds = load_dataset(tabletop, obs_keys=DEFAULT_OBS_KEYS)
    t = build_tables(ds, DEFAULT_OBS_KEYS)
    goal = goal_state_ahead(t, 7)
    offset = 0
    for e in ds.episodes:  # brute force over each episode's achieved goals (T + 1 observations)
        achieved = e.achieved().reshape(e.T + 1, -1)
        for step in range(e.T):
            np.testing.assert_array_equal(goal[offset + step], achieved[min(step + 7, e.T)].astype(np.float32))
        offset += e.T
    with pytest.raises(ValueError, match="k must be >= 1"):
        goal_state_ahead(t, 0)


def _expert_trajectory(ad, seed: int) -> list[np.ndarray]:
    """The noise-free expert's achieved goals after each step of a 2-subtask chain (no look-ahead)."""
    env = ad.make()
    agent = HierarchicalAgent(*ad.expert(env, 0.0, 0), FixedInterval(1))
    out: list[np.ndarray] = []
    run_episode(env, agent, ad.command, seed=seed, options=ad.reset_options(2),
                on_transition=lambda t, agent, obs, action, reward, nxt, *rest: out.append(
                    np.asarray(nxt["achieved_goal"]).copy()))
    env.close()
    return out


def test_lookahead_proposes_the_experts_future_and_leaves_the_episode_alone():
    ad = adapter("hirl/Tabletop-v0")
    plain = _expert_trajectory(ad, seed=11)
    env = ad.make()
    oracle = ExpertLookahead(env, *ad.expert(env, 0.0, 0), kind="state", horizon=10)
    expert = HierarchicalAgent(*ad.expert(env, 0.0, 0), FixedInterval(1))
    proposals: dict[int, np.ndarray] = {}
    seen: list[np.ndarray] = []

    def look(t, agent, obs, action, reward, nxt, *rest):
        seen.append(np.asarray(nxt["achieved_goal"]).copy())
        if t % 5 == 0:  # from the observation after step t
            proposals[t] = oracle.propose(nxt, agent.command).value

    run_episode(env, expert, ad.command, seed=11, options=ad.reset_options(2), on_transition=look)
    env.close()
    assert len(seen) == len(plain)
    for a, b in zip(seen, plain, strict=True):  # the look-ahead left the episode bit for bit as it was
        np.testing.assert_array_equal(a, b)
    # 10 expert steps after step t: the achieved goal after step t + 10 of the same expert's episode
    for t, goal in proposals.items():
        if t + 10 < len(plain):
            np.testing.assert_array_equal(goal, plain[t + 10])
    assert oracle.lookahead_steps == sum(min(10, len(plain) - 1 - t) for t in proposals)  # it stops when the chain ends


def test_lookahead_to_the_segment_end_and_images():
    ad = adapter("hirl/Tabletop-v0")
    env = ad.make(render=True, width=16, height=16)
    obs, info = env.reset(seed=4, options=ad.reset_options(2))
    command = ad.command(info)
    state = ExpertLookahead(env, *ad.expert(env, 0.0, 0), kind="state", horizon=None)
    goal = state.propose(obs, command)
    assert goal.kind == "state" and goal.label == info["current_subtask"]
    # run the expert itself to the end of its first subtask: the oracle saw exactly that state
    high, low = ad.expert(env, 0.0, 0)
    while True:
        obs, _, _, _, info = env.step(low.act(obs, high.propose(obs, command)))
        if info["subtask_index"] == 1:
            break
    np.testing.assert_array_equal(goal.value, obs["achieved_goal"])
    image = ExpertLookahead(env, *ad.expert(env, 0.0, 0), kind="image", horizon=3).propose(obs, command)
    assert image.kind == "image" and image.value.shape == (16, 16, 3) and image.value.dtype == np.uint8
    env.close()
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        ExpertLookahead(env, high, low, kind="state", horizon=0)


def test_goal_index_snaps_to_the_future_of_a_nearby_state_nearest_the_proposal(tmp_path):
    """Two demonstrations left the same state two ways (goals +1 and -1 on dim 0); a third far away went to 5. A
    proposal of 0.2 (the regression's mean, reached by nobody) near the first state snaps to +1; near the far state,
    whatever the proposal, the candidates are that state's own futures only."""
    from hirl.policies.high.goal_index import GoalIndex, GoalIndexConfig

    obs = np.array([[0.0, 0.0], [0.01, 0.0], [10.0, 10.0], [10.0, 10.01]])
    goals = np.array([[1.0, 0.0], [-1.0, 0.0], [5.0, 0.0], [5.0, 0.1]])
    index = GoalIndex(GoalIndexConfig(obs_dim=2, goal_dim=2, rows=4, neighbours=2, residual=False)).fit(obs, goals)
    import torch

    near = torch.tensor([0.0, 0.005])
    assert sorted(index.candidates(near)[:, 0].tolist()) == [-1.0, 1.0]
    np.testing.assert_array_equal(index.snap(near, torch.tensor([0.2, 0.0])).numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(index.snap(near, torch.tensor([-0.3, 0.0])).numpy(), [-1.0, 0.0])
    far = index.snap(torch.tensor([10.0, 10.0]), torch.tensor([1.0, 0.0]))
    assert far[0].item() == 5.0
    index.save(tmp_path / "index")  # save / load round trip (buffers only)
    again = GoalIndex.load(tmp_path / "index")
    np.testing.assert_array_equal(again.snap(near, torch.tensor([0.2, 0.0])).numpy(), [1.0, 0.0])
    with pytest.raises(ValueError, match="N >= 5"):
        GoalIndex(GoalIndexConfig(obs_dim=2, goal_dim=2, rows=5, residual=False)).fit(obs, goals)
    # residual: a future is kept as where things went from where they were, and sent from where they are now
    achieved = np.array([[0.0, 3.0], [0.0, 3.0], [4.0, 0.0], [4.0, 0.0]])
    moved = GoalIndex(GoalIndexConfig(obs_dim=2, goal_dim=2, rows=4, neighbours=2)).fit(obs, goals, achieved)
    now = torch.tensor([0.5, 7.0])  # the same state, but the second dim (another block) is somewhere else now
    np.testing.assert_allclose(moved.snap(near, torch.tensor([1.4, 4.0]), now).numpy(), [1.5, 4.0])
    with pytest.raises(ValueError, match="achieved goal now"):
        moved.snap(near, torch.tensor([1.4, 4.0]))


def test_subgoal_spec_bounds():
    assert SubgoalSpec(horizon=10).interval == 10 and SubgoalSpec(horizon=10, replan_every=1).interval == 1
    with pytest.raises(FieldError, match="horizon"):
        SubgoalSpec(horizon=0)
    with pytest.raises(FieldError, match="replan_every"):
        SubgoalSpec(replan_every=0)


def test_ahead_components_train_on_k_ahead_targets(tabletop):
    ds = load_dataset(tabletop, obs_keys=DEFAULT_OBS_KEYS)
    t = build_tables(ds, DEFAULT_OBS_KEYS)
    c = component("high_state_ahead")
    c.configure(RunConfig(subgoals=SubgoalSpec(horizon=4), text_encoder="hash"))
    assert c.horizon == 4
    from hirl.data.tables import text_tables
    from hirl.encoders.text_factory import make_text_encoder

    sampler = c.sampler(t, text_tables(t, make_text_encoder("hash", 384), 5), 8)
    n = len(t.obs)
    batch = sampler.gather(np.array([3, n + 3]))  # row 3 from both families: no previous subgoal / the state now
    np.testing.assert_array_equal(batch["target_state"][0].numpy(), goal_state_ahead(t, 4)[3])
    assert not batch["prev_state"][0].any()
    np.testing.assert_array_equal(batch["prev_state"][1].numpy(), t.achieved[t.obs_row[3]])


def test_train_and_eval_hier_state_ahead_and_oracles(tabletop, tmp_path):
    tiny = TrainerConfig(max_steps=6, batch_size=16, eval_every=3, checkpoint_every=3, progress=False, tensorboard=False)
    cfg = RunConfig(
        dataset=str(tabletop), collect=CollectSpec(episodes=3, chain_length=2, seed=5, image_every=5, image_size=16),
        agents=["hier_state", "hier_image", "hier_state_ahead", "hier_state_snap", "hier_state_ahead_snap"],
        text_encoder="hash", val_fraction=0.0,
        subgoals=SubgoalSpec(horizon=5),
        train=TrainingBudgets(low=tiny, high=tiny, baseline=tiny, image=tiny, low_image=tiny),
        eval=EvalSpec(episodes=1, chain_length=1, videos=0),
        networks={"low_state": {"goal_residual": True}},  # the state low level reads the achieved goal every step
    )
    run = tmp_path / "run"
    summary = train_run(cfg, RunDir(run), progress=False)
    from hirl.policies.low.bc import GoalConditionedBC

    assert GoalConditionedBC.load(run / "models" / "low_state").config.goal_residual
    assert not GoalConditionedBC.load(run / "models" / "low_state_ahead").config.goal_residual
    assert {"low_state_ahead", "high_state_ahead", "goal_index", "goal_index_ahead"} <= set(summary["components"])
    assert summary["components"]["goal_index"]["steps"] == 0  # fitted, not trained
    agents = ["hier_state_ahead", "hier_state_snap", "hier_state_ahead_snap", "oracle_state", "oracle_image",
              "oracle_state_ahead"]
    report = evaluate_run(run, agents, out=tmp_path / "eval", cfg=cfg)
    assert set(report["policies"]) == set(agents)
    for m in report["policies"].values():
        assert m["episodes"] == 1
    # the ahead agents ask every subgoals.interval steps: a 5-step interval means many queries per episode
    fast = evaluate_run(run, ["oracle_state_ahead"], out=tmp_path / "eval2",
                        cfg=dataclasses.replace(cfg, subgoals=SubgoalSpec(horizon=5, replan_every=1)))
    assert fast["policies"]["oracle_state_ahead"]["high_level_queries_per_episode"] > \
        report["policies"]["oracle_state_ahead"]["high_level_queries_per_episode"]


def test_residual_state_high_level_predicts_from_the_achieved_goal_now():
    """A residual StateGoalNet's targets are goal - achieved: a network that outputs zeros (normalised) predicts
    achieved + the mean difference; without the achieved goal it refuses."""
    import torch

    from hirl.policies.high.state import StateGoalNet, StateHLConfig

    rng = np.random.default_rng(0)
    obs, achieved = rng.normal(size=(50, 6)), rng.normal(size=(50, 3))
    goals = achieved + np.array([0.1, 0.0, -0.2])
    net = StateGoalNet(StateHLConfig(obs_dim=6, goal_dim=3, text_dim=8, max_subtasks=2, residual=True))
    net.fit(obs, goals, achieved=achieved)
    np.testing.assert_allclose(net.goal_mean.numpy(), [0.1, 0.0, -0.2], atol=1e-6)
    torch.nn.init.zeros_(net.head[-1].weight)
    torch.nn.init.zeros_(net.head[-1].bias)
    args = (torch.zeros(2, 6), torch.zeros(2, 2, 8), torch.ones(2, 2, dtype=torch.bool), torch.zeros(2, 3))
    now = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(net.predict(*args, now).detach().numpy(), now.numpy() + np.array([0.1, 0.0, -0.2]), atol=1e-6)
    with pytest.raises(ValueError, match="achieved goal now"):
        net.predict(*args)
    with pytest.raises(ValueError, match="achieved goals"):
        StateGoalNet(StateHLConfig(obs_dim=6, goal_dim=3, text_dim=8, residual=True)).fit(obs, goals)


def test_segment_index_counts_the_segments_before(tabletop):
    from hirl.data.tables import segment_index

    ds = load_dataset(tabletop, obs_keys=DEFAULT_OBS_KEYS)
    t = build_tables(ds, DEFAULT_OBS_KEYS)
    got, offset = segment_index(t), 0
    for e in ds.episodes:
        expected = np.searchsorted(e.seg_start, np.arange(e.T), side="right") - 1
        np.testing.assert_array_equal(got[offset:offset + e.T], expected)
        offset += e.T
    assert got.max() >= 1  # 2-subtask chains: both segments seen


def test_progress_net_reads_the_current_subtask_and_the_high_level_counts_completions():
    """A progress StateGoalNet's output depends on which command token the progress index points at; past the last
    subtask the token input is zero. StateHighLevel counts completed() calls (reset clears them)."""
    import torch

    from hirl.encoders.text_factory import make_text_encoder
    from hirl.policies.high.state import StateGoalNet, StateHighLevel, StateHLConfig
    from hirl.types import Command

    torch.manual_seed(0)
    net = StateGoalNet(StateHLConfig(obs_dim=4, goal_dim=2, text_dim=384, max_subtasks=3, progress=True,
                                     obs_keys=("observation",), text_encoder="hash"))
    net.fit(np.random.default_rng(0).normal(size=(20, 4)), np.random.default_rng(1).normal(size=(20, 2)))
    emb = torch.randn(1, 3, 384)
    mask = torch.tensor([[True, True, False]])
    args = (torch.zeros(1, 4), emb, mask, torch.zeros(1, 2))
    first, second, past = (net.predict(*args, progress=torch.tensor([i])) for i in (0, 1, 2))
    assert not torch.allclose(first, second)  # a different current subtask, a different goal
    assert not torch.allclose(second, past)  # index 2 is masked out: no current-subtask input
    with pytest.raises(ValueError, match="subtasks done"):
        net.predict(*args)
    high = StateHighLevel(net, make_text_encoder("hash", 384))
    obs, command = {"observation": np.zeros(4)}, Command("a, then b", ("a", "b"))
    g0 = high.propose(obs, command).value
    high.completed(None)
    high.observe(None)  # same previous-subgoal input as at the start
    assert high.done == 1 and not np.allclose(high.propose(obs, command).value, g0)
    high.reset()
    assert high.done == 0


def test_train_and_eval_image_goals_read_as_state_goals(tabletop, tmp_path):
    """hier_image_state and oracle_image_state end to end: frame_state (a residual keypoint reader trained on shifted
    frames) reads the goal frame into the achieved-goal space and hands it to low_state."""
    tiny = TrainerConfig(max_steps=4, batch_size=8, eval_every=2, checkpoint_every=2, progress=False, tensorboard=False)
    cfg = RunConfig(
        dataset=str(tabletop), collect=CollectSpec(episodes=3, chain_length=2, seed=5, image_every=5, image_size=16),
        agents=["hier_image_state"], text_encoder="hash", val_fraction=0.0,
        train=TrainingBudgets(low=tiny, high=tiny, baseline=tiny, image=tiny, low_image=tiny),
        eval=EvalSpec(episodes=1, chain_length=1, videos=0),
        networks={"low_state": {"goal_residual": True},
                  "frame_state": {"residual": True, "keypoints": 4, "shift": 1, "channels": [8, 8, 8, 8], "feat": 16}},
    )
    run = tmp_path / "run"
    summary = train_run(cfg, RunDir(run), progress=False)
    assert {"low_state", "frame_state", "high_image"} <= set(summary["components"])
    from hirl.policies.high.image_state import FrameToState

    reader = FrameToState.load(run / "models" / "frame_state")
    assert (reader.config.keypoints, reader.config.shift, reader.config.residual) == (4, 1, True)
    agents = ["hier_image_state", "oracle_image_state"]
    report = evaluate_run(run, agents, out=tmp_path / "eval", cfg=cfg)
    assert set(report["policies"]) == set(agents)
    for m in report["policies"].values():
        assert m["episodes"] == 1 and m["high_level_queries_per_episode"] >= 1
