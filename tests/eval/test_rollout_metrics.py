"""The rollout path on the toy env, chained metrics on hand-made results, and control-loop latency."""
import numpy as np
import pytest

from hirl.hierarchy.metrics import chain_metrics
from hirl.hierarchy.rollout import EpisodeResult, run_episode
from hirl.eval.video import write_mp4
from hirl.hierarchy import HierarchicalAgent, OnCompletion, StateDistance
from hirl.types import Command, Subgoal
from tests.fixtures.point_env import GreedyLowLevel, PointGoalEnv, WaypointHighLevel


def test_run_episode_counts_queries_and_records_transitions():
    agent = HierarchicalAgent(WaypointHighLevel(0.3), GreedyLowLevel(), OnCompletion(StateDistance(0.02), timeout=100))
    seen = []
    corrections = []

    def hook(t, ag, obs, action, reward, next_obs, terminated, truncated, info):
        seen.append((t, ag.trace[-1].subgoal, terminated))

    def correct(t, ag, obs, info):
        if t == 1:
            ag.override(Subgoal("state", obs["achieved_goal"], "human"))
            corrections.append(t)

    result = run_episode(PointGoalEnv(), agent, lambda info: Command("reach the goal"), seed=4, on_transition=hook,
                         on_step=correct)
    assert result.success and result.steps == len(seen) == len(agent.trace)
    assert [t for t, *_ in seen] == list(range(result.steps)) and seen[-1][2]
    assert result.interventions == 1 and corrections == [1]
    assert result.high_level_queries == agent.num_queries >= 2
    assert result.task == [] and result.frames == []


def make(task, completed, success=False, steps=(), replans=1):
    return EpisodeResult(seed=0, command="c", success=success, steps=10, high_level_queries=replans + 1, replans=replans,
                         interventions=0, task=task, completed=completed, subtask_steps=list(steps))


def test_chain_metrics_calvin_style():
    results = [
        make(["a", "b", "c"], ["a", "b", "c"], True, [10, 20, 30]),
        make(["a", "b", "c"], ["a"], steps=[20]),
        make(["b", "a"], []),
        make(["c"], ["c"], True, [40]),
    ]
    m = chain_metrics(results, max_length=3)
    assert m["success_rate"] == 0.5
    assert m["avg_chain_length"] == pytest.approx((3 + 1 + 0 + 1) / 4)
    assert m["success_at_length"] == {"1": 0.75, "2": pytest.approx(1 / 3), "3": 0.5}
    assert m["per_subtask_success"] == {"a": 1.0, "b": pytest.approx(1 / 3), "c": 1.0}
    assert m["mean_steps_to_subtask"] == pytest.approx(24.0)
    with pytest.raises(ValueError):
        chain_metrics([])


def test_latency_probe_times_steps_and_high_level_queries():
    from hirl.eval.latency import LatencyProbe
    from hirl.hierarchy import FixedInterval, HierarchicalAgent
    from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
    from hirl.types import Command, Subgoal

    import time

    def slow_propose(obs, command):  # a high level slower than the 20 ms budget; the low level is instant
        time.sleep(0.025)
        return Subgoal("state", np.zeros(2))

    agent = HierarchicalAgent(ScriptedHighLevel(slow_propose), ScriptedLowLevel(lambda o, g: np.zeros(2)), FixedInterval(5))
    probe = LatencyProbe(agent)
    probe.reset(Command("go"))
    for _ in range(20):
        probe.act(np.zeros(2), {})
    s = probe.summary()
    # the first step (and its query) is warm-up, reported apart
    assert s["steps_timed"] == 19 and probe.num_queries == 4 and sum(probe.queried) == 3
    # the queries are timed on their own and inside their control steps; the plain steps exclude them
    high, plain, steps = s["high_level_query_ms"], s["low_level_step_ms"], s["control_step_ms"]
    assert plain["p99"] < s["budget_ms"] < 25.0 <= high["p50"] <= steps["p99"]
    assert s["steps_over_budget"] == round(3 / 19, 5)  # exactly the 3 timed steps that queried the high level


def test_latency_excludes_the_warm_up_query_and_reports_it_apart():
    """A high level whose first query takes 0.5 s (a text model loading): the percentiles of queries and steps do not
    show it, warmup_ms does; steps taken while timing is off (filmed episodes) are not timed at all."""
    from hirl.eval.latency import LatencyProbe
    from hirl.hierarchy import FixedInterval, HierarchicalAgent
    from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
    from hirl.types import Command, Subgoal

    import time

    calls = []

    def propose(obs, command):
        calls.append(1)
        time.sleep(0.5 if len(calls) == 1 else 0.001)
        return Subgoal("state", np.zeros(2))

    agent = HierarchicalAgent(ScriptedHighLevel(propose), ScriptedLowLevel(lambda o, g: np.zeros(2)), FixedInterval(2))
    probe = LatencyProbe(agent)
    probe.timing = False  # a filmed episode first: its first step still warms up
    probe.reset(Command("go"))
    for _ in range(4):
        probe.act(np.zeros(2), {})
    probe.timing = True
    probe.reset(Command("go"))
    for _ in range(200):
        probe.act(np.zeros(2), {})
    s = probe.summary()
    assert s["warmup_ms"]["high_level_query"] >= 500 and s["warmup_ms"]["control_step"] >= 500
    assert s["high_level_query_ms"]["p99"] < 100 and s["control_step_ms"]["p99"] < 100
    assert s["steps_timed"] == 200 and sum(probe.queried) == 100 == len(probe.query_ms)


class _ChainEnv(PointGoalEnv):
    """PointGoalEnv whose chain advances after the actions of the given steps (info["completed_subtasks"])."""

    def __init__(self, complete_after: tuple[int, ...], steps: int) -> None:
        super().__init__(max_steps=steps)
        self.complete_after, self.done_names = complete_after, []

    def reset(self, *, seed=None, options=None):
        self.done_names = []
        return super().reset(seed=seed, options=options)

    def step(self, action):
        t = self.t
        obs, reward, _, truncated, info = super().step(action)
        if t in self.complete_after:
            self.done_names.append(f"s{t}")
        return obs, reward, False, truncated, dict(info, completed_subtasks=list(self.done_names))


def test_subgoal_reach_counts_segments_during_which_the_chain_advanced():
    from hirl.hierarchy import FixedInterval

    agent = HierarchicalAgent(WaypointHighLevel(0.3), GreedyLowLevel(), FixedInterval(2))
    # segments: steps 0-1, 2-3, 4-5; two completions inside the second, none in the others
    result = run_episode(_ChainEnv((2, 3), steps=6), agent, lambda info: Command("c"), seed=0)
    assert [e.step for e in agent.trace if e.reason is not None] == [0, 2, 4]
    assert (result.subgoals, result.subgoals_reached) == (3, 1)
    assert chain_metrics([result, result])["subgoal_reach_rate"] == pytest.approx(1 / 3)
    assert chain_metrics([make(["a"], [])])["subgoal_reach_rate"] is None  # no subgoals (flat agents)


def test_atomic_writes_get_normal_file_permissions(tmp_path):
    import os

    from hirl.fileio import FILE_MODE, atomic_write_text

    frame = np.zeros((16, 16, 3), np.uint8)
    for path in (atomic_write_text(tmp_path / "r.json", "{}"), write_mp4(tmp_path / "v.mp4", [frame, frame], fps=5)):
        assert os.stat(path).st_mode & 0o777 == FILE_MODE  # not mkstemp's 0600
