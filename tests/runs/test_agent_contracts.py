"""Contract tests over every registered agent recipe (hirl.runs.AGENTS), on the fixture runs of tests/runs/conftest.py.

- every agent loads through hirl.load_agent(run, name) from a run holding its components (and "+adapt" from the
  adapted components where the recipe is adaptable and the run has them) and runs one episode through
  run_episode with a sane EpisodeResult; "+adapt" without adapted components is one InputError line;
- on every fixture run, every agent either loads or fails with one InputError line (never a traceback);
- available_agents lists exactly the agents whose components the run holds, in registry / requested order;
- unknown names and non-run directories fail with one InputError line."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import torch

import hirl
from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.rollout import EpisodeResult, run_episode
from hirl.runs import ADAPTED_SUFFIX, AGENTS, available_agents
from hirl.runs.agents import component, recipe
from tests.runs.helpers import RUN_FIXTURES, FixtureRun, with_known_bugs

NAMES = AGENTS.names()

# Bugs these contracts found in hirl/ (reported, not fixed here): (agent, fixture run) -> what is wrong
LOAD_BUGS: dict[tuple[str, str], str] = {}  # (agent, run fixture) -> a known bug (strict xfail); empty: none known


def fixture_for(name: str) -> str:
    """The first fixture run holding every component of agent `name` (agents without components: the imitation run,
    whose env has a scripted expert)."""
    needs = set(recipe(name).components)
    if not needs:
        return "imitation_run"
    for fixture, holds in RUN_FIXTURES.items():
        if needs <= holds():
            return fixture
    pytest.fail(f"agent {name!r}: no fixture run holds its components {sorted(needs)}; add one to RUN_FIXTURES in "
                "tests/runs/conftest.py")


def check_episode(f: FixtureRun, agent: Any, env: gym.Env) -> EpisodeResult:
    """One episode of agent in env under the run's evaluation protocol, its EpisodeResult checked for sanity."""
    setup = f.kind.eval_setup(f.cfg)
    result = run_episode(env, agent, setup.command, seed=setup.seed, options=setup.options(setup.chain_length))
    assert isinstance(result, EpisodeResult)
    limit = env.spec.max_episode_steps if env.spec is not None else None
    assert result.seed == setup.seed and isinstance(result.success, bool)
    assert result.command.strip()
    assert 1 <= result.steps == agent.step_count
    assert limit is None or result.steps <= limit
    assert result.interventions == 0 and result.physics_error is None and not result.frames
    assert result.completed == result.task[:len(result.completed)]  # subtasks complete in chain order
    assert len(result.subtask_steps) == len(result.completed) and sum(result.subtask_steps) <= result.steps
    assert 0 <= result.subgoals_reached <= result.subgoals
    if isinstance(agent, HierarchicalAgent):  # queried at the start and at every replan, one segment per query
        assert result.high_level_queries == result.replans + 1 == result.subgoals
    else:
        assert result.high_level_queries == 0 and result.subgoals == 0
        assert 0 <= result.replans <= result.steps
    return result


@pytest.mark.parametrize("name", NAMES)
def test_agent_loads_and_runs_an_episode(name: str, request: pytest.FixtureRequest) -> None:
    f: FixtureRun = request.getfixturevalue(fixture_for(name))
    r = recipe(name)
    env = f.env(render=r.renders())
    check_episode(f, hirl.load_agent(f.run, name, env, seed=0), env)
    if not r.adaptable:
        return
    adapted = name + ADAPTED_SUFFIX
    if set(r.components) <= f.adapted:
        check_episode(f, hirl.load_agent(f.run, adapted, env, seed=0), env)
    else:
        with pytest.raises(InputError) as err:
            hirl.load_agent(f.run, adapted, env)
        assert "\n" not in str(err.value) and "adapted" in str(err.value)


@pytest.mark.parametrize(("name", "fixture"), with_known_bugs([(n, f) for n in NAMES for f in sorted(RUN_FIXTURES)],
                                                              LOAD_BUGS))
def test_agent_loads_or_fails_in_one_line_on_every_run(name: str, fixture: str, request: pytest.FixtureRequest) -> None:
    """An agent asked of a run it does not fit (missing components, another env, another run kind) is one
    InputError line, as `hirl eval RUN --agents NAME` shows it; never a traceback."""
    f: FixtureRun = request.getfixturevalue(fixture)
    env = f.env(render=recipe(name).renders())
    try:
        agent = hirl.load_agent(f.run, name, env, seed=0)
    except InputError as exc:
        assert "\n" not in str(exc)
        assert recipe(name).components or fixture != "imitation_run", f"{name} must load on the run it was made for"
        return
    assert callable(agent.act) and callable(agent.reset)


@pytest.mark.parametrize("fixture", sorted(RUN_FIXTURES))
def test_available_agents_are_exactly_those_whose_components_exist(fixture: str, request: pytest.FixtureRequest) -> None:
    f: FixtureRun = request.getfixturevalue(fixture)
    assert f.components == RUN_FIXTURES[fixture](), "the fixture run holds what RUN_FIXTURES says"
    for c in f.components:
        assert component(c).exists(f.run.model_dir(c))
    holds = [a for a in NAMES if recipe(a).components and set(recipe(a).components) <= f.components]
    assert available_agents(f.run) == holds
    assert available_agents(f.run, NAMES[::-1]) == holds[::-1]  # restricted to `names`, in their order
    adapted = [a + ADAPTED_SUFFIX for a in NAMES
               if recipe(a).adaptable and recipe(a).components and set(recipe(a).components) <= f.adapted]
    assert available_agents(f.run, adapted=True) == adapted
    if fixture != "rl_language_run":  # no agent is made of rl_language (stage language evaluates it itself)
        assert holds, f"{fixture} makes no agent available"


def test_available_agents_drop_an_agent_missing_a_component(imitation_run: FixtureRun, tmp_path: Path) -> None:
    """A run without one component (deleted) lists no agent that needs it; load_agent says how to train it."""
    first = available_agents(imitation_run.run)[0]
    missing = recipe(first).components[0]
    partial = tmp_path / "run"
    shutil.copytree(imitation_run.run.path, partial, ignore=lambda d, names: [missing] if Path(d).name == "models" else [])
    left = imitation_run.components - {missing}
    assert available_agents(partial) == [a for a in NAMES if recipe(a).components and set(recipe(a).components) <= left]
    with pytest.raises(InputError, match=f"no trained {missing} in this run") as err:
        hirl.load_agent(partial, first, imitation_run.env(render=recipe(first).renders()))
    assert "\n" not in str(err.value)


def test_adapted_context_loads_the_adapted_components(imitation_run: FixtureRun, rl_run: FixtureRun) -> None:
    """ctx.adapted reads RUN/models/adapted/<component> (the fixture's adapted copies have other weights)."""
    for f in (imitation_run, rl_run):
        assert f.adapted
        for name in sorted(f.adapted):
            c = component(name)
            adapted = f.context(f.env(), adapted=True).model(name)
            expected = c.load(f.run.model_dir(name, adapted=True))
            separate = c.load(f.run.model_dir(name))
            a, b, s = (_state(m) for m in (adapted, expected, separate))
            assert all(torch.equal(a[k], b[k]) for k in a), f"{name}: adapted context did not load models/adapted/{name}"
            if name != "rl_high":  # stage adapt copies the high level unchanged
                assert any(not torch.equal(a[k], s[k]) for k in a), f"{name}: adapted weights equal the separate ones"


def _state(model: Any) -> dict[str, torch.Tensor]:
    return dict((model.policy if hasattr(model, "policy") else model).state_dict())


def test_two_line_python_api(imitation_run: FixtureRun, rl_run: FixtureRun) -> None:
    """hirl.load_agent(RUN, name) with the run's own env made for it, acting in hirl.make_env(RUN)."""
    for f in (imitation_run, rl_run):
        name = next(a for a in available_agents(f.run) if not recipe(a).renders())
        agent = hirl.load_agent(f.run.path, name)
        env = hirl.make_env(f.run.path)
        try:
            check_episode(f, agent, env)
        finally:
            env.close()


# unknown, and known but not adaptable
BAD_NAMES = ["nope", "hier_langauge", ADAPTED_SUFFIX, "expert" + ADAPTED_SUFFIX, "rl_low" + ADAPTED_SUFFIX]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_unknown_agent_names_fail_in_one_line(bad: str, imitation_run: FixtureRun) -> None:
    with pytest.raises(InputError) as err:
        hirl.load_agent(imitation_run.run, bad, imitation_run.env())
    message = str(err.value)
    assert "\n" not in message and f"unknown agent {bad!r}" in message
    for name in NAMES:
        assert name in message  # the known names are listed


def test_a_directory_that_is_not_a_run_fails_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a run directory") as err:
        hirl.load_agent(tmp_path, NAMES[0])
    assert "\n" not in str(err.value)
    assert available_agents(tmp_path) == []  # nothing trained there


def test_every_agent_component_is_registered() -> None:
    for name in NAMES:
        r = recipe(name)
        assert isinstance(r.components, tuple)
        for c in r.components:
            component(c)  # RegistryError for an unregistered one
        assert isinstance(r.renders(), bool)
        assert r.components or not r.adaptable, f"{name}: '+adapt' of an agent without components loads nothing adapted"
