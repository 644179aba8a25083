"""Contract tests over the other registries: every registered name must have an entry in this file's table of
minimal constructor arguments (test_every_registered_name_has_a_contract), so a new entry gets a contract.

RELABELERS            from_spec over a HighSpec -> (actions, rewards) of the right shapes, actions in [-1, 1], inputs
                      untouched, rewards of reached subgoals kept, counts, the same output for the same seed
STAGES                its output is a registered component that the fixture run's stage wrote where output_dir says,
                      with its config and summary in RUN/train/<stage>/
REPLAN_RULES          decide() on real Tabletop contexts gives the expected reason (or None), should_replan agrees
COMPLETION_DETECTORS  done() on real Tabletop contexts gives the expected bool
GOAL_ENCODERS         a subgoal and a stored batch both encode to (B, goal_feat)
ENCODERS              text encoders: TEXT_DIM-d through make_text_encoder, unit-norm and deterministic; modules:
                      the documented output shape
RUN_KINDS             the default config's kind is the registered name and round-trips through YAML; eval_setup
                      and make_env give an env whose reset info makes a Command; make_env(render=True, size) renders
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import hirl.rl.stages  # noqa: F401  (registers every stage)
from hirl.config import load_config, save_config
from hirl.encoders.text import TEXT_DIM
from hirl.encoders.text_factory import make_text_encoder
from hirl.hierarchy.completion import StateDistance
from hirl.hierarchy.replan import FixedInterval, OnOverride, ReplanContext, ReplanRule
from hirl.integrations import adapter
from hirl.policies.low.bc import BCConfig
from hirl.registry import COMPLETION_DETECTORS, ENCODERS, GOAL_ENCODERS, REPLAN_RULES, Registry
from hirl.rl.config import HighSpec, RLRunConfig
from hirl.rl.relabel import RELABELERS, TransitionRelabeler, relabeler_class
from hirl.rl.stage import STAGES, Stage
from hirl.runs import COMPONENTS, RUN_KINDS, EvalSetup, config_kind, run_kind
from hirl.runs.agents import component, parse_agent_name
from hirl.runs.rundir import RunDir
from hirl.types import Command, Subgoal
from tests.runs.helpers import TABLETOP, FixtureRun, with_known_bugs


# -- RELABELERS: HighSpec fields of a minimal valid strategy ------------------------------------------------------
RELABELER_ARGS: dict[str, dict[str, Any]] = {
    "none": {},
    "hac": {"subgoal_test": 0.5, "subgoal_penalty": -5.0},  # half the transitions are subgoal tests
    "hiro": {"hiro_candidates": 4, "hiro_sigma": 0.3},
}

# -- STAGES: the fixture run that trained each --------------------------------------------------------------------
STAGE_RUNS: dict[str, str] = {"low": "rl_run", "plan": "rl_run", "high": "rl_run", "adapt": "rl_run", "flat": "rl_run",
                              "language": "rl_language_run"}


# -- REPLAN_RULES and COMPLETION_DETECTORS: arguments over a Tabletop env, and the expected answers on CONTEXTS -------
class Confident:
    """A success classifier that is always 90 % sure."""

    def success_probability(self, obs: Any, subgoal: Subgoal) -> float:
        return 0.9


@dataclass(frozen=True)
class Situation:
    """One ReplanContext over the Tabletop reset observation: which subgoal is active, for how long, any override.

    subgoal  "reached" (a state subgoal at the achieved goal), "far" (1 m off it) or "task" (the first instruction)"""

    subgoal: str
    steps_since_replan: int = 1
    override: bool = False


CONTEXTS = {"reached": Situation("reached"), "far": Situation("far"), "task": Situation("task"),
            "far_long": Situation("far", steps_since_replan=3), "override": Situation("far", override=True)}

# name -> (keyword arguments of the rule over the env, {context: expected decide()})
REPLAN_CASES: dict[str, tuple[Callable[[gym.Env], dict[str, Any]], dict[str, str | None]]] = {
    "fixed_interval": (lambda env: {"n": 2}, {"far": None, "reached": None, "far_long": "interval", "override": None}),
    "on_completion": (lambda env: {"detector": StateDistance(0.05), "timeout": 3},
                      {"far": None, "reached": "completion", "far_long": "timeout", "override": None}),
    "on_override": (lambda env: {}, {"far": None, "reached": None, "far_long": None, "override": "override"}),
    "any_of": (lambda env: {"rules": [OnOverride(), FixedInterval(2)]},
               {"far": None, "reached": None, "far_long": "interval", "override": "override"}),
}
# name -> (keyword arguments of the detector over the env, {context: expected done()})
DETECTOR_CASES: dict[str, tuple[Callable[[gym.Env], dict[str, Any]], dict[str, bool]]] = {
    "state_distance": (lambda env: {"epsilon": 0.05}, {"reached": True, "far": False}),
    "env_predicate": (lambda env: adapter(TABLETOP).detector_extra(env), {"task": False}),  # nothing done at reset
    "chain_progress": (lambda env: {}, {"task": False, "reached": False}),  # the chain has not advanced
    "learned": (lambda env: {"classifier": Confident(), "threshold": 0.5}, {"far": True}),
    "noisy": (lambda env: {"inner": StateDistance(0.05), "false_positive": 0.0, "false_negative": 0.0},
              {"reached": True, "far": False}),  # no noise: the inner detector's answer
    "never": (lambda env: {}, {"reached": False, "far": False, "task": False}),  # a fixed-duration skill: only its timeout ends it
}


# -- GOAL_ENCODERS: a small BCConfig and one subgoal of each kind ------------------------------------------------------
E, G, H = 16, 3, 16  # text dim, state-goal dim, goal-image side
GOAL_CASES: dict[str, tuple[dict[str, Any], Callable[[], Subgoal]]] = {
    "language": ({"text_dim": E, "text_encoder": "hash"}, lambda: Subgoal("language", "open the drawer")),
    "state": ({"goal_dim": G, "encoder_hidden": (8,)}, lambda: Subgoal("state", np.linspace(0.0, 1.0, G))),
    "image": ({"image_channels": (4, 4, 4, 4)}, lambda: Subgoal("image", np.full((H, H, 3), 128, np.uint8))),
}


# -- ENCODERS -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EncoderCase:
    """kwargs: minimal constructor arguments; a text encoder (texts) or a torch module (an input -> output shape).
    encode False: constructing only (encoding would load a downloaded model; tests/policies/test_minilm_slow.py)."""

    kwargs: dict[str, Any] = field(default_factory=dict)
    text: bool = False
    encode: bool = True
    input: Callable[[], torch.Tensor] | None = None
    output_shape: tuple[int, ...] = ()


ENCODER_CASES: dict[str, EncoderCase] = {
    "text": EncoderCase(text=True, encode=False),
    "hash": EncoderCase({"dim": E}, text=True),
    "image": EncoderCase({"out_dim": 8, "channels": (4, 4, 4, 4), "pool": 2}, input=lambda: torch.rand(2, 3, H, H),
                         output_shape=(2, 8)),
    "state": EncoderCase({"in_dim": G, "out_dim": 4, "hidden": (8,)}, input=lambda: torch.randn(2, G), output_shape=(2, 4)),
}

# -- RUN_KINDS: the frame size asked of make_env(render=True) --------------------------------------------------------
RENDER_SIZE = 32
RUN_KIND_KNOWN_BUGS: dict[str, str] = {}  # kind -> a known bug (strict xfail); empty: none known

TABLES: dict[str, tuple[Registry[Any], Mapping[str, Any]]] = {
    "RELABELERS": (RELABELERS, RELABELER_ARGS),
    "STAGES": (STAGES, STAGE_RUNS),
    "REPLAN_RULES": (REPLAN_RULES, REPLAN_CASES),
    "COMPLETION_DETECTORS": (COMPLETION_DETECTORS, DETECTOR_CASES),
    "GOAL_ENCODERS": (GOAL_ENCODERS, GOAL_CASES),
    "ENCODERS": (ENCODERS, ENCODER_CASES),
    "RUN_KINDS": (RUN_KINDS, {"imitation": None, "rl": None}),
}


@pytest.mark.parametrize("registry", sorted(TABLES))
def test_every_registered_name_has_a_contract(registry: str) -> None:
    reg, table = TABLES[registry]
    missing = sorted(set(reg.names()) - set(table))
    assert not missing, f"{registry}: {missing} registered without a contract; add them to the tables of {Path(__file__).name}"
    stale = sorted(set(table) - set(reg.names()))
    assert not stale, f"{registry}: the contract table names unregistered {stale}"


# -- RELABELERS ---------------------------------------------------------------------------------------------------
N, T, A = 4, 3, 2  # transitions, low-level steps per transition, low-level action size


def encode(subgoals: np.ndarray, start: np.ndarray) -> np.ndarray:
    return np.clip((subgoals - start) / 1.5, -1.0, 1.0)


def decode(actions: np.ndarray, start: np.ndarray) -> np.ndarray:
    return start + 1.5 * actions


def low_mean(obs: Mapping[str, np.ndarray], goals: np.ndarray) -> np.ndarray:
    return np.tanh(goals - obs["achieved_goal"])[:, :A]


def transitions(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """N high-level transitions: actions (N, G) in [-1, 1], rewards (N,), infos with what every relabeler reads."""
    rng = np.random.default_rng(seed)
    start, achieved = rng.normal(size=(N, G)), rng.normal(size=(N, G))
    infos = [{"start": start[i], "achieved": achieved[i], "reached": i % 2 == 0,
              "low_obs": {"observation": rng.normal(size=(T, 4)), "achieved_goal": rng.normal(size=(T, G))},
              "low_actions": rng.uniform(-1, 1, size=(T, A))} for i in range(N)]
    return rng.uniform(-1, 1, size=(N, G)).astype(np.float32), -np.ones(N, np.float32), infos


@pytest.mark.parametrize("name", RELABELERS.names())
def test_relabeler_contract(name: str) -> None:
    spec = HighSpec(relabel=name, **RELABELER_ARGS[name])  # a valid `high.relabel:` value
    strategy = relabeler_class(name)
    assert isinstance(strategy.records_low_level, bool)
    relabeler = strategy.from_spec(spec, encode, decode, low_mean, 0)
    assert isinstance(relabeler, TransitionRelabeler)
    assert relabeler.buffer_penalty is None or isinstance(relabeler.buffer_penalty, float)
    actions, rewards, infos = transitions()
    a0, r0 = actions.copy(), rewards.copy()
    out_a, out_r = relabeler(actions, rewards, infos)
    np.testing.assert_array_equal(actions, a0)  # the inputs are not modified
    np.testing.assert_array_equal(rewards, r0)
    assert out_a.shape == (N, G) and out_r.shape == (N,)
    assert np.isfinite(out_a).all() and (np.abs(out_a) <= 1.0 + 1e-6).all()
    reached = np.array([i["reached"] for i in infos])
    np.testing.assert_array_equal(out_r[reached], rewards[reached])  # a reached subgoal keeps its reward
    counts = relabeler.counts
    assert counts["transitions"] == N and 0 <= counts["relabelled"] + counts["penalised"] <= N
    again = strategy.from_spec(spec, encode, decode, low_mean, 0)(*transitions())
    np.testing.assert_array_equal(again[0], out_a)  # same seed, same transitions: the same output
    np.testing.assert_array_equal(again[1], out_r)


# -- STAGES -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", STAGES.names())
def test_stage_contract(name: str, request: pytest.FixtureRequest) -> None:
    stage = STAGES.build(name)
    assert isinstance(stage, Stage)
    assert stage.output in COMPONENTS, f"stage {name}: output {stage.output!r} is not a registered component"
    assert RLRunConfig(stage=name).stage == name  # a valid `stage:` value
    f: FixtureRun = request.getfixturevalue(STAGE_RUNS[name])
    run = f.run
    out = stage.output_dir(run)
    assert out == run.model_dir(stage.output, stage.adapted)
    assert component(stage.output).exists(out)
    assert stage.output in (f.adapted if stage.adapted else f.components)
    cfg = load_config(RLRunConfig, run.stage_config_path(name))
    assert cfg.stage == name
    summary = json.loads((run.train_dir(name) / "summary.json").read_text())
    assert summary["stage"] == name and summary["env_steps"] >= 0
    assert 0.0 <= summary["final_success_rate"] <= 1.0 and Path(summary["model"]).parent == out


# -- REPLAN_RULES / COMPLETION_DETECTORS -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tabletop() -> Any:
    """A Tabletop env after reset(seed=0) with a 2-subtask chain: (env, obs, info)."""
    env = adapter(TABLETOP).make()
    obs, info = env.reset(seed=0, options=adapter(TABLETOP).reset_options(2))
    yield env, obs, info
    env.close()


def context(situation: str, obs: Any, info: Mapping[str, Any]) -> ReplanContext:
    s = CONTEXTS[situation]
    achieved = np.asarray(obs["achieved_goal"], np.float64)
    subgoal = {"reached": Subgoal("state", achieved), "far": Subgoal("state", achieved + 1.0),
               "task": Subgoal("language", str(info["task"][0]))}[s.subgoal]
    override = Subgoal("language", str(info["task"][-1]), "human") if s.override else None
    return ReplanContext(step=s.steps_since_replan, steps_since_replan=s.steps_since_replan, subgoal=subgoal, obs=obs,
                         info=info, override=override)


@pytest.mark.parametrize("name", REPLAN_RULES.names())
def test_replan_rule_contract(name: str, tabletop: Any) -> None:
    env, obs, info = tabletop
    kwargs, expected = REPLAN_CASES[name]
    rule = REPLAN_RULES.build(name, **kwargs(env))
    assert isinstance(rule, ReplanRule)
    rule.reset()
    for situation, reason in expected.items():
        ctx = context(situation, obs, info)
        assert rule.decide(ctx) == reason, f"{name} on {situation}"
        assert rule.should_replan(ctx) == (reason is not None)


@pytest.mark.parametrize("name", COMPLETION_DETECTORS.names())
def test_completion_detector_contract(name: str, tabletop: Any) -> None:
    env, obs, info = tabletop
    kwargs, expected = DETECTOR_CASES[name]
    detector = COMPLETION_DETECTORS.build(name, **kwargs(env))
    for situation, done in expected.items():
        detector.reset()
        ctx = context(situation, obs, info)
        for _ in range(2):  # asked again at the next step with nothing changed: the same answer
            answer = detector.done(ctx.obs, ctx.subgoal, ctx.info)
            assert type(answer) is bool and answer == done, f"{name} on {situation}: {answer}"


# -- GOAL_ENCODERS ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GOAL_ENCODERS.names())
def test_goal_encoder_contract(name: str) -> None:
    kwargs, make_subgoal = GOAL_CASES[name]
    config = BCConfig(goal_kind=name, goal_feat=8, **kwargs)
    enc = GOAL_ENCODERS.build(name)
    assert isinstance(enc.batch_key, str) and enc.batch_key
    module = enc.build(config)
    text = make_text_encoder("hash", E)
    enc.fit(module, np.random.default_rng(0).normal(size=(5, G)).astype(np.float32), text.encode(["a", "b", "c"]))
    subgoal = make_subgoal()
    if enc.needs_text_encoder:
        with pytest.raises(ValueError):
            enc.subgoal_input(subgoal, config, None)
    one = enc.subgoal_input(subgoal, config, text if enc.needs_text_encoder else None)
    with torch.no_grad():
        feat = module(one)
        stored = {"language": lambda: torch.as_tensor(text.encode([str(subgoal.value)] * 2)),
                  "state": lambda: torch.as_tensor(np.stack([subgoal.value] * 2), dtype=torch.float32),
                  "image": lambda: torch.as_tensor(np.stack([subgoal.value] * 2))}[subgoal.kind]()
        batch = module(enc.batch_input(stored))
    assert feat.shape == (1, config.goal_feat) and batch.shape == (2, config.goal_feat)
    assert torch.isfinite(batch).all()
    torch.testing.assert_close(batch[0:1], feat)  # a subgoal encodes as it is stored in a batch


# -- ENCODERS -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ENCODERS.names())
def test_encoder_contract(name: str) -> None:
    case = ENCODER_CASES[name]
    enc = ENCODERS.build(name, **case.kwargs)
    if case.text:
        assert int(enc.dim) >= 2 and isinstance(enc.encoder_id, str)
        assert int(make_text_encoder(name, TEXT_DIM).dim) == TEXT_DIM  # what a config's `text_encoder: <name>` builds
        if case.encode:
            texts = ["open the drawer", "push the button"]
            emb = np.asarray(enc.encode(texts))
            assert emb.shape == (2, enc.dim) and emb.dtype == np.float32
            np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
            np.testing.assert_array_equal(enc.encode(texts), emb)  # deterministic
            np.testing.assert_array_equal(enc.encode_one(texts[0]), emb[0])
    else:
        assert isinstance(enc, torch.nn.Module) and case.input is not None
        with torch.no_grad():
            out = enc(case.input())
        assert tuple(out.shape) == case.output_shape and torch.isfinite(out).all()


# -- RUN_KINDS ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", RUN_KINDS.names())
def test_run_kind_contract(name: str, tmp_path: Path) -> None:
    kind = run_kind(name)
    cfg: Any = load_config(kind.config_cls, None)  # the defaults
    assert cfg.kind == name
    save_config(cfg, tmp_path / "config.yaml")
    assert config_kind(tmp_path / "config.yaml") == name
    assert kind.read_config(tmp_path / "config.yaml") == cfg
    for agent in kind.default_agents(cfg, RunDir(tmp_path)):
        parse_agent_name(agent)  # InputError for a name that is not a registered agent
    setup = kind.eval_setup(cfg)
    assert isinstance(setup, EvalSetup) and setup.episodes >= 1 and setup.chain_length >= 1
    env = kind.make_env(cfg)
    try:
        obs, info = env.reset(seed=setup.seed, options=setup.options(setup.chain_length))
        command = setup.command(info)
        assert isinstance(command, Command) and command.text
        assert env.observation_space.contains(obs)
        env.step(np.zeros(env.action_space.shape, env.action_space.dtype))
    finally:
        env.close()


@pytest.mark.parametrize("name", with_known_bugs(RUN_KINDS.names(), RUN_KIND_KNOWN_BUGS))
def test_run_kind_renders_when_asked(name: str) -> None:
    kind = run_kind(name)
    cfg: Any = load_config(kind.config_cls, None)
    env = kind.make_env(cfg, render=True, size=RENDER_SIZE)
    try:
        env.reset(seed=0)
        frame = env.render()
        assert frame is not None, f"{name}: make_env(render=True) made an env that does not render"
        assert np.asarray(frame).shape == (RENDER_SIZE, RENDER_SIZE, 3) and np.asarray(frame).dtype == np.uint8
    finally:
        env.close()
