"""Contract tests over every registered component (hirl.runs.COMPONENTS), so a newly registered one is exercised
without a new test, and one that cannot be exercised fails test_every_component_has_a_contract.

imitation components (ImitationComponent): build from the fixture tables -> a sampler batch the network's loss
accepts (finite scalar, gradients after one backward) -> save to a model dir -> exists -> load (same class, identical
state_dict and loss) -> the inference wrapper over an AgentContext of the imitation fixture run acts in its env
(identical outputs for the built and the loaded network).
RL components (RL_SOURCES): trained by the tiny stages of tests/runs/conftest.py -> exists -> load -> saved again
and re-loaded (identical parameters) -> the inference wrapper acts in the env of its run (rl_language: its
LanguageSubtaskEnv).
Every component: a directory without a trained copy is not `exists`, and loading it is one InputError line."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from hirl.data.tables import StepTables, TextTables
from hirl.errors import InputError
from hirl.learn.components import ImitationComponent
from hirl.learn.run_config import TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.rl.components import GRAPH_FILE, MODEL_FILE, SB3Component
from hirl.rl.language import LanguageSubtaskEnv, language_env
from hirl.rl.planner import WaypointGraph
from hirl.runs import COMPONENTS
from hirl.runs.agents import component
from hirl.types import SUBGOAL_KINDS, Command, Subgoal
from tests.runs.helpers import OBS_KEYS, TEXT_ENCODER, FixtureRun, check_action, imitation_components, with_known_bugs

NAMES = COMPONENTS.names()
IMITATION = imitation_components()
BATCH = 8  # rows per sampler batch
SEED = 5  # env reset seed of every acting check

# RL components: (fixture run that trains it, the env its inference wrapper acts in)
RL_SOURCES: dict[str, tuple[str, Callable[[FixtureRun], gym.Env]]] = {
    "rl_low": ("rl_run", lambda f: f.env()),
    "rl_high": ("rl_run", lambda f: f.env()),
    "rl_flat": ("rl_run", lambda f: f.env()),
    "rl_plan": ("rl_run", lambda f: f.env()),
    "rl_language": ("rl_language_run", lambda f: f.cached_env("language", lambda: language_env(f.cfg))),
}

# Bugs these contracts found in hirl/ (reported, not fixed here): component -> what is wrong
EXISTS_BUGS: dict[str, str] = {}  # name -> a known bug (strict xfail); empty: none known
ACT_BUGS: dict[str, str] = {}  # name -> a known bug (strict xfail); empty: none known


@pytest.mark.parametrize("name", NAMES)
def test_every_component_has_a_contract(name: str) -> None:
    """Each registered component is an imitation component or an RL component with a fixture run (RL_SOURCES),
    and declares a role and a subgoal kind that go together."""
    c = component(name)
    assert c.name == name
    if not isinstance(c, ImitationComponent) and name not in RL_SOURCES:
        pytest.fail(f"component {name!r} has no contract: make it an ImitationComponent or add it to RL_SOURCES in "
                    f"{Path(__file__).name} with the fixture run that trains it")
    assert c.role in ("high", "low", "agent", "part")
    if c.role == "agent":
        assert c.subgoal == "", f"{name}: a whole agent has no subgoal kind"
    else:
        assert c.subgoal in SUBGOAL_KINDS, f"{name}: a {c.role} level names its subgoal kind"
    assert isinstance(c.renders, bool)


@pytest.mark.parametrize("name", with_known_bugs(NAMES, EXISTS_BUGS))
def test_missing_component_is_not_there_and_fails_in_one_line(name: str, tmp_path: Path) -> None:
    """An empty directory (e.g. left by a training run that crashed before saving) holds no trained copy."""
    c = component(name)
    empty = tmp_path / name
    empty.mkdir()
    assert not c.exists(tmp_path / "missing")
    assert not c.exists(empty), f"{name}: exists() is True for an empty directory"
    with pytest.raises(InputError) as err:
        c.load(empty)
    assert str(empty) in str(err.value) and "\n" not in str(err.value)


# -- acting in an env ------------------------------------------------------------------------------------------------
def episode_start(f: FixtureRun, env: gym.Env) -> tuple[Any, Mapping[str, Any], Command]:
    """Reset env as the run's evaluation does (seed SEED, the kind's reset options) -> (obs, info, command)."""
    if isinstance(env, LanguageSubtaskEnv):  # one attempt at one instruction, drawn at reset
        obs, info = env.reset(seed=SEED)
        return obs, info, Command(env.command)
    setup = f.kind.eval_setup(f.cfg)
    obs, info = env.reset(seed=SEED, options=setup.options(setup.chain_length))
    return obs, info, setup.command(info)


def subgoal_for(kind: str, obs: Any, info: Mapping[str, Any], env: gym.Env) -> Subgoal:
    """A subgoal of `kind` for a low level to act on: the episode's first subtask, the task goal, or a camera frame."""
    if kind == "language":
        return Subgoal("language", str(info["task"][0]))
    if kind == "state":
        return Subgoal("state", np.asarray(obs["desired_goal"], np.float64))
    return Subgoal("image", np.asarray(env.render()))


def check_subgoal(g: Any, kind: str, obs: Any, env: gym.Env) -> None:
    assert isinstance(g, Subgoal) and g.kind == kind, f"proposed {g!r}, expected a {kind} subgoal"
    if kind == "language":
        assert isinstance(g.value, str) and g.value.strip()
    elif kind == "state":
        value = np.asarray(g.value)
        assert value.shape == np.asarray(obs["achieved_goal"]).shape and np.isfinite(value).all()
    else:
        value = np.asarray(g.value)
        assert value.dtype == np.uint8 and value.shape == np.asarray(env.render()).shape


def act_once(f: FixtureRun, name: str, policy: Any, env: gym.Env) -> Any:
    """One decision of component `name`'s inference wrapper at the start of an episode of env, checked against the
    env; a low level's or whole agent's action is then stepped. Returns the subgoal value or the action."""
    c = component(name)
    obs, info, command = episode_start(f, env)
    if c.role == "part":  # a model another level runs (frame_state: a frame -> the achieved goal it shows)
        frame = env.render()
        goal = policy.predict(torch.from_numpy(np.asarray(frame)[None].copy()))[0].detach().numpy()
        assert goal.shape == np.asarray(obs["achieved_goal"]).shape and np.isfinite(goal).all()
        return goal
    if c.role == "high":
        assert isinstance(policy, HighLevelPolicy)
        policy.reset()
        g = policy.propose(obs, command)
        check_subgoal(g, c.subgoal, obs, env)
        return g.value
    if c.role == "low":
        assert isinstance(policy, LowLevelPolicy)
        policy.reset()
        action = check_action(policy.act(obs, subgoal_for(c.subgoal, obs, info, env)), env)
    else:  # a whole agent
        policy.reset(command)
        action = check_action(policy.act(obs, info), env)
        assert policy.step_count == 1 and policy.num_queries >= 0
    env.step(action)
    return action


# -- imitation components ------------------------------------------------------------------------------------------
def loss_of(net: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The scalar loss of net on batch, accepted as the Trainer accepts it (a tensor or (tensor, metrics))."""
    out = net.loss(batch)
    loss, metrics = (out, {}) if isinstance(out, torch.Tensor) else out
    assert isinstance(loss, torch.Tensor) and loss.ndim == 0, "loss must be a scalar tensor"
    assert all(np.isfinite(float(v)) for v in metrics.values()), f"non-finite metrics {metrics}"
    return loss


def check_batch(batch: Mapping[str, torch.Tensor], rows: int) -> None:
    assert batch, "empty batch"
    for key, value in batch.items():
        shape = getattr(value, "shape", None)
        assert isinstance(value, torch.Tensor) and value.shape[0] == rows, f"batch[{key!r}]: {type(value)} {shape}"


@pytest.mark.parametrize("name", IMITATION)
def test_imitation_component_builds_trains_saves_loads_and_acts(name: str, tables: tuple[StepTables, TextTables],
                                                                imitation_run: FixtureRun, tmp_path: Path) -> None:
    c = component(name)
    assert isinstance(c, ImitationComponent)
    assert isinstance(c.budget(TrainingBudgets()), TrainerConfig), f"{name}: budget_field {c.budget_field!r}"
    torch.manual_seed(0)
    net = c.build(*tables, TEXT_ENCODER, OBS_KEYS)
    assert isinstance(net, c.network)
    if not c.trained:  # fitted from the data by build() (a goal index): no sampler, no loss; saved and loaded the same
        with pytest.raises(TypeError, match="not trained"):
            c.sampler(*tables, BATCH)
        loaded_index = c.load(net.save(tmp_path / "models" / name))
        for key, value in net.state_dict().items():
            assert torch.equal(value, loaded_index.state_dict()[key]), f"{name}: {key} differs after save/load"
        return  # it acts inside a snapped high level: tests/learn/test_generated_subgoals.py
    assert getattr(net.config, "text_encoder", TEXT_ENCODER) == TEXT_ENCODER  # networks reading text record their encoder

    # a batch of its sampler trains it: finite scalar loss, finite gradients, some non-zero
    sampler = c.sampler(*tables, BATCH)
    assert sampler.size > 0
    batch = sampler(0, np.random.default_rng(0))
    check_batch(batch, BATCH)
    check_batch(sampler.gather(np.arange(min(3, sampler.size))), min(3, sampler.size))  # the validation path
    if c.paraphrases:
        augmented = c.sampler(*tables, BATCH, paraphrase_p=0.5)(0, np.random.default_rng(0))
        assert {k: v.shape for k, v in augmented.items()} == {k: v.shape for k, v in batch.items()}
    net.train()
    loss = loss_of(net, batch)
    assert torch.isfinite(loss), f"{name}: loss {loss}"
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad and p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)

    # save -> exists -> load: the same network
    directory = net.save(tmp_path / "models" / name)
    assert c.exists(directory)
    loaded = c.load(directory)
    assert type(loaded) is type(net)
    before, after = net.state_dict(), loaded.state_dict()
    assert list(before) == list(after)
    for key in before:
        assert torch.equal(before[key], after[key]), f"{name}: {key} differs after save/load"
    net.eval()
    with torch.no_grad():
        torch.manual_seed(1)
        a = loss_of(net, batch)
        torch.manual_seed(1)
        b = loss_of(loaded, batch)
    assert torch.equal(a, b)

    # the inference wrapper acts in the run's env, identically for the built and the loaded network
    env = imitation_run.env(render=c.renders)
    ctx = imitation_run.context(env)
    out_built = act_once(imitation_run, name, c.policy(net, ctx), env)
    out_loaded = act_once(imitation_run, name, c.policy(loaded, ctx), env)
    np.testing.assert_array_equal(np.asarray(out_built), np.asarray(out_loaded))
    # and so does the copy the run holds, looked up by name through the context
    act_once(imitation_run, name, ctx.policy(name), env)


# -- RL components -------------------------------------------------------------------------------------------------
def resave(model: Any, directory: Path) -> None:
    """Save a loaded RL model again in a component directory layout (SB3 model.zip / the planner's graph.npz)."""
    directory.mkdir(parents=True)
    if isinstance(model, WaypointGraph):
        model.save(directory / GRAPH_FILE)
    else:
        model.save(directory / MODEL_FILE)


def parameters(model: Any) -> dict[str, np.ndarray]:
    """Every learned array of an RL model: the SB3 policy's state_dict, or the planner graph's nodes and paths."""
    if isinstance(model, WaypointGraph):
        return {"paths": model.paths, **{f"nodes.{k}": v for k, v in model.nodes.items()}}
    return {k: v.numpy() for k, v in model.policy.state_dict().items()}


@pytest.mark.parametrize("name", with_known_bugs(sorted(RL_SOURCES), ACT_BUGS))
def test_rl_component_loads_saves_and_acts(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    assert name in NAMES, f"RL_SOURCES names {name!r}, which is not a registered component"
    fixture, make_env = RL_SOURCES[name]
    f: FixtureRun = request.getfixturevalue(fixture)
    c = component(name)
    assert name in f.components
    directory = f.run.model_dir(name)
    assert c.exists(directory)
    model = c.load(directory)
    assert isinstance(c, SB3Component) == (not isinstance(model, WaypointGraph))

    resave(model, tmp_path / name)
    assert c.exists(tmp_path / name)
    again = c.load(tmp_path / name)
    before, after = parameters(model), parameters(again)
    assert list(before) == list(after)
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=f"{name}: {key} differs after save/load")

    env = make_env(f)
    ctx = f.context(env)
    out = act_once(f, name, c.policy(model, ctx), env)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(act_once(f, name, c.policy(again, ctx), env)))
