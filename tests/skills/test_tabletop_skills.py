"""Tabletop's subtasks as a skill library: initiation from physical preconditions, the goal tasks no chain contains, and
the code-policy agents end to end over the scripted expert's low level (fast: no trained model)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hirl.errors import InputError
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.runs.agents import parse_agent_name, recipe
from hirl.skills.code_policy import CodeHighLevel, load_code_policy
from hirl.skills.library import EnvPrecondition, SkillLibrary
from hirl.skills.recipes import CodePolicyAgent, SkillAgent
from hirl.types import Command

ROOT = Path(__file__).resolve().parents[2]
TT = "hirl/Tabletop-v0"


def test_library_from_the_env_and_its_preconditions(tmp_path):
    lib = SkillLibrary.for_env(TT)
    assert len(lib) == 17 and isinstance(lib.get("place_red_in_drawer").initiation, EnvPrecondition)
    env = adapter(TT).make(goal_task="all_in_drawer")  # the drawer starts closed
    obs, info = env.reset(seed=0)
    place = lib.get("place_red_in_drawer")
    assert lib.initiation(place.subgoal, obs, info) == "the drawer is not open"
    assert lib.initiation(lib.get("open_drawer").subgoal, obs, info) is None
    assert lib.initiation(lib.get("close_drawer").subgoal, obs, info) == "the drawer is already closed"
    back = SkillLibrary.load(lib.save(tmp_path / "tt.yaml"))
    assert back.names == lib.names and back.initiation(place.subgoal, obs, info) == "the drawer is not open"
    env.close()


def test_goal_tasks_no_chain_contains():
    env = adapter(TT).make(goal_task="tower")
    _, info = env.reset(seed=3)
    assert info["task"] == ["stack all three blocks"] and not info["is_success"]
    assert info["goal_task"] == "tower" and env.unwrapped.current_subtask is None
    with pytest.raises(ValueError, match="unknown goal_task"):
        env.reset(seed=0, options={"goal_task": "juggle"})
    env.close()


def expert_code_agent(task: str, env):
    """The recipe's agent built without a run: the example policy over the expert's low level."""
    library = SkillLibrary.for_env(TT)
    policy = load_code_policy(ROOT / "examples" / "skills" / f"{task}.py")
    assert policy.task == task
    high = CodeHighLevel(policy, library, adapter(TT).facts)
    low = adapter(TT).expert(env, 0.0, 0)[1]
    return SkillAgent(high, low, library.termination(env), initiation=library.initiation), high


@pytest.mark.parametrize("task, skills", [("all_in_drawer", 5), ("tower", 2)])
def test_example_code_policies_solve_their_tasks_over_the_expert_low_level(task, skills):
    env = adapter(TT).make(goal_task=task)
    agent, high = expert_code_agent(task, env)
    r = run_episode(env, agent, adapter(TT).command, seed=1)
    assert r.success and r.subgoals == skills
    if task == "all_in_drawer":
        assert high.done == ["open_drawer", "place_red_in_drawer", "place_green_in_drawer", "place_blue_in_drawer"]
    env.close()


def test_a_refused_skill_is_reported_in_the_trace(tmp_path):
    path = tmp_path / "eager.py"  # places before opening: refused while the drawer is closed
    path.write_text("CALLS = []\n\n\ndef next_skill(state, done, skills):\n    CALLS.append(1)\n"
                    "    f = state.facts\n"
                    "    left = [c for c in ('red', 'green', 'blue') if f['loc'][c] != 'drawer']\n"
                    "    if len(CALLS) > 1 and f['drawer'] != 'open':\n        return 'open_drawer'\n"
                    "    return f'place_{left[0]}_in_drawer' if left else 'close_drawer'\n")
    env = adapter(TT).make(goal_task="all_in_drawer")
    library = SkillLibrary.for_env(TT)
    high = CodeHighLevel(load_code_policy(path), library, adapter(TT).facts)
    agent = SkillAgent(high, adapter(TT).expert(env, 0.0, 0)[1], library.termination(env), initiation=library.initiation)
    obs, info = env.reset(seed=0)
    agent.reset(Command("put every block in the drawer and close it"))
    agent.act(obs, info)
    first = agent.trace[0]
    assert first.refused == (("place the red block in the drawer", "the drawer is not open"),)
    assert first.subgoal.value == "open the drawer"
    high = CodeHighLevel(load_code_policy(path), library, adapter(TT).facts)  # a fresh import: CALLS is empty again
    agent = SkillAgent(high, adapter(TT).expert(env, 0.0, 0)[1], library.termination(env), initiation=library.initiation)
    r = run_episode(env, agent, adapter(TT).command, seed=0)
    assert r.refusals == 1 and r.summary()["refusals"] == 1
    env.close()


def test_agent_names_of_the_code_family():
    name = "code:examples/skills/tower.py"
    assert parse_agent_name(name) == (name, False)
    r = recipe(name)
    assert isinstance(r, CodePolicyAgent) and r.components == ("low_language",)
    assert recipe("code_expert:examples/skills/tower.py").components == ()
    with pytest.raises(InputError, match="needs an argument"):
        parse_agent_name("code:")
    with pytest.raises(InputError, match=r"parameterised: .*code:ARG"):
        parse_agent_name("kode:x")
    np.testing.assert_equal(len(recipe("affordance:/nowhere").components), 1)
