"""The planner over fixed-duration skills: the outcome model fitted from random skill chains (fit_outcome_model) and
the planner agent driving scripted "compass" skills toward goals on the toy point env."""
from __future__ import annotations

import numpy as np
import pytest

from hirl.hierarchy.rollout import run_episode
from hirl.policies.scripted import ScriptedLowLevel
from hirl.skills.library import Always, Skill, SkillLibrary
from hirl.skills.skill_planner import SkillOutcomeModel, SkillPlanner, fit_outcome_model, planner_agent
from hirl.types import Command, Subgoal
from tests.fixtures.point_env import PointGoalEnv

DIRECTIONS = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # skill z moves the point this way


def compass() -> tuple[ScriptedLowLevel, SkillLibrary]:
    low = ScriptedLowLevel(lambda o, g: DIRECTIONS[int(np.argmax(g.value))])
    library = SkillLibrary([Skill(f"go_{i}", f"move along {d}", Subgoal("state", np.eye(4)[i]), Always(), "never", {}, 1)
                            for i, d in enumerate(DIRECTIONS.tolist())])
    return low, library


def test_outcome_model_learns_each_skills_displacement():
    low, _ = compass()
    model = fit_outcome_model(PointGoalEnv(max_steps=10_000, speed=0.1), low, 4, horizon=2, steps=800, seed=0)
    # 800 steps / 2 per segment, give or take the few chains cut short when the point hits its own goal
    assert 395 <= len(model) <= 404
    for z, d in enumerate(DIRECTIONS):
        np.testing.assert_allclose(model.predict(np.zeros(2), z), 0.2 * d, atol=0.03)  # 2 steps of 0.1 along d


def test_segments_cut_short_by_the_episode_end_are_dropped_but_counted():
    low, _ = compass()
    # 5-step episodes, chains of 2-step skills: segments at steps 1-2 and 3-4 kept, the 5th step's cut short
    model = fit_outcome_model(PointGoalEnv(max_steps=5), low, 4, horizon=2, steps=10, seed=0)
    assert len(model) == 4  # two episodes of 5 steps


def test_custom_state_feature():
    low, _ = compass()
    model = fit_outcome_model(PointGoalEnv(max_steps=10_000), low, 4, horizon=2, steps=400, seed=1,
                              state=lambda o: np.asarray(o["observation"][:1]))  # x only
    np.testing.assert_allclose(model.predict(np.zeros(1), 0), [0.2], atol=0.03)
    np.testing.assert_allclose(model.predict(np.zeros(1), 2), [0.0], atol=0.03)  # +y does not move x


def test_pieces_of_a_skill_and_the_heldout_error():
    low, _ = compass()
    env = PointGoalEnv(max_steps=10_000)
    whole = fit_outcome_model(env, low, 4, horizon=4, steps=400, seed=0)
    pieces = fit_outcome_model(env, low, 4, horizon=4, steps=400, seed=0, segment=2)  # the same chains, cut in two
    assert 2 * len(whole) - 4 <= len(pieces) <= 2 * len(whole)  # (a chain cut short may keep its first piece)
    np.testing.assert_allclose(pieces.predict(np.zeros(2), 0), [0.2, 0.0], atol=0.03)
    np.testing.assert_allclose(whole.predict(np.zeros(2), 0), [0.4, 0.0], atol=0.03)
    held = fit_outcome_model(env, low, 4, horizon=4, steps=200, seed=5, segment=2)
    err = pieces.heldout_error(held)
    assert err["segments"] == len(held) and err["displacement"] > 0.15  # the skills move ~0.2 per piece...
    assert err["error"] < 0.5 * err["displacement"]  # ...and the model predicts where far better than "no motion"
    with pytest.raises(ValueError, match="segment"):
        fit_outcome_model(env, low, 4, horizon=4, steps=10, seed=0, segment=5)


def test_planner_proposes_toward_the_goal_and_its_agent_reaches_it():
    low, library = compass()
    model = fit_outcome_model(PointGoalEnv(max_steps=10_000), low, 4, horizon=1, steps=1000, seed=0)
    high = SkillPlanner(library, model, depth=3)
    obs = {"achieved_goal": np.zeros(2), "desired_goal": np.array([0.0, -0.5]), "observation": np.zeros(2)}
    assert high.propose(obs, Command("reach")).label == library.get("go_3").subgoal.label  # -y
    agent = planner_agent(library, model, low, depth=3)
    env = PointGoalEnv(max_steps=80)
    wins = 0
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        start = float(np.linalg.norm(obs["achieved_goal"] - obs["desired_goal"]))
        r = run_episode(env, agent, lambda info: Command("reach"), seed=seed)
        end = float(np.linalg.norm(env.pos - env.goal))
        assert end < min(start, 0.08) or r.success  # the 0.1 lattice gets within 0.07 of any goal
        wins += int(r.success)
        assert r.subgoals == r.steps  # one 1-step skill per control step
    assert wins >= 1
    slow = planner_agent(library, model, low, depth=1, commit=3)  # each chosen skill runs 3 steps
    r = run_episode(PointGoalEnv(max_steps=30), slow, lambda info: Command("reach"), seed=0)
    assert r.subgoals == -(-r.steps // 3) and library.get("go_0").timeout == 1  # the library itself is unchanged


def test_empty_model_and_bad_depth_are_refused():
    _, library = compass()
    with pytest.raises(ValueError, match="no segments"):
        SkillOutcomeModel(4).predict(np.zeros(2), 0)
    with pytest.raises(ValueError, match="depth"):
        SkillPlanner(library, SkillOutcomeModel(4), depth=0)
