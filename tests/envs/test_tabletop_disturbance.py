"""Tabletop's `disturbance` env kwarg (hirl.adapters.tabletop_disturbance): how often it fires, what each kind does
to the MuJoCo state and to the chain, the scripted expert redoing what was undone, the scripted corrector asking for
the redo, the recorded dataset, and one-line errors for bad values (fast: seconds)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hirl.config import FieldError
from hirl.data.episode_runner import make_env
from hirl.hierarchy import HierarchicalAgent, build_replan_rule
from hirl.hierarchy.replan import ReplanConfig
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.policies.base import HighLevelPolicy
from hirl.types import Command, Subgoal

ENV = "hirl/Tabletop-v0"


def _env(**disturbance: Any) -> Any:
    return adapter(ENV).make(disturbance=disturbance)


def _state(env: Any, seed: int) -> tuple[int, bool]:
    """(light, drawer open) right after reset(seed) (the chain does not change them)."""
    env.reset(seed=seed)
    p = env.unwrapped.phys_state()
    return int(p.light), bool(p.drawer > 0.1)


def _light_task(light: int) -> str:
    return "turn off the light" if light else "turn on the light"


def _drawer_task(is_open: bool) -> str:
    return "close the drawer" if is_open else "open the drawer"


def _set_drawer(env: Any, opening: float) -> None:
    import mujoco

    d = env.unwrapped.data
    d.joint("drawer_slide").qpos[0] = opening
    mujoco.mj_forward(env.unwrapped.model, d)


def _set_block(env: Any, colour: str, pos: np.ndarray) -> None:
    import mujoco

    block = env.unwrapped.data.joint(f"{colour}_free")
    block.qpos[:] = (*pos, 1.0, 0.0, 0.0, 0.0)
    block.qvel[:] = 0.0
    mujoco.mj_forward(env.unwrapped.model, env.unwrapped.data)


def _still(env: Any, steps: int) -> dict[str, Any]:
    """Step with a still action; the info of the last step."""
    info: dict[str, Any] = {}
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(np.zeros(4, dtype=np.float32))
        assert not (terminated or truncated)
    return info


def _drawer_chain(env: Any, seed: int) -> tuple[dict[str, Any], bool]:
    """Reset seed with the chain [the drawer's subtask, the light's]; (reset info, drawer open at reset)."""
    light, is_open = _state(env, seed)
    _, info = env.reset(seed=seed, options={"task": [_drawer_task(is_open), _light_task(light)]})
    return info, is_open


@pytest.mark.parametrize("probability", [0.0, 0.35, 1.0])
def test_fires_at_the_configured_probability(probability: float) -> None:
    env = _env(probability=probability, kinds=["drawer"], delay=[1, 1])
    n, fired = 200, 0
    for seed in range(n):
        _, is_open = _drawer_chain(env, seed)
        _set_drawer(env, 0.0 if is_open else 0.19)  # the first subtask done at once
        info = _still(env, 2)  # step 1: it counts as done; step 2: one step later, the disturbance (if any)
        fired += len(info["disturbances"])
        assert info["subtask_index"] == (0 if info["disturbances"] else 1)
    if probability in (0.0, 1.0):
        assert fired == probability * n
    else:  # binomial: 3.5 standard deviations
        assert abs(fired / n - probability) < 3.5 * np.sqrt(probability * (1 - probability) / n)
    env.close()


def test_drawer_slides_shut_with_its_contents_and_the_chain_goes_back() -> None:
    env = _env(probability=1.0, kinds=["drawer"], delay=[3, 3])
    seed = next(s for s in range(50) if not _state(env, s)[1])  # drawer closed at reset
    info, _ = _drawer_chain(env, seed)
    base = env.unwrapped
    _set_drawer(env, 0.19)
    _set_block(env, "red", base.slot_pos("red", 0.19))  # a block in the tray
    info = _still(env, 1)
    assert info["completed_subtasks"] == ["open the drawer"] and info["disturbance_plan"]["delay"] == 3
    info = _still(env, 3)
    d = info["disturbance"]
    assert d == info["disturbances"][0] and d["kind"] == "drawer" and d["undid"] == "open the drawer" and d["step"] == 4
    p = base.phys_state()
    from hirl_envs.tabletop import tasks

    assert p.drawer < tasks.DRAWER_CLOSED and tasks.in_drawer(p, "red")  # shut, the block moved with the tray
    assert info["subtask_index"] == 0 and info["current_subtask"] == "open the drawer" and info["completed_subtasks"] == []
    assert info["subtask_success"]["open the drawer"] is False and base.current_subtask == "open the drawer"
    assert info["disturbance_plan"] is None and _still(env, 1)["disturbance"] is None  # once per chain
    env.close()


@pytest.mark.parametrize("kind", ["stack", "place"])
def test_a_block_is_knocked_onto_a_free_spot(kind: str) -> None:
    from hirl_envs.tabletop import tasks

    env = _env(probability=1.0, kinds=["block"], delay=[1, 1])
    base = env.unwrapped
    for seed in range(60):
        light, is_open = _state(env, seed)
        if kind == "place" and not is_open:
            continue
        first = "stack the red block on the green block" if kind == "stack" else "place the red block in the drawer"
        env.reset(seed=seed, options={"task": [first, _light_task(light)]})
        break
    p = base.phys_state()
    target = p.blocks["green"] + [0.0, 0.0, 2 * tasks.BLOCK_HALF] if kind == "stack" else base.slot_pos("red")
    _set_block(env, "red", target)
    info = _still(env, 2)
    assert info["disturbance"]["kind"] == "block" and info["disturbance"]["undid"] == first
    p = base.phys_state()
    red = p.blocks["red"]
    assert abs(red[2] - tasks.BLOCK_HALF) < 0.005  # upright on the table
    for other in (p.blocks["green"], p.blocks["blue"], p.grip):
        assert np.linalg.norm(red[:2] - other[:2]) > 0.08  # a free spot
    assert tasks.symbolic(p).loc["red"] == "table" and info["current_subtask"] == first
    env.close()


def _expert_episode(env: Any, seed: int, detector: str = "chain_progress", **options: Any) -> tuple[Any, Any]:
    ad = adapter(ENV)
    high, low = ad.expert(env, 0.0, seed)
    rule = build_replan_rule(ReplanConfig(detector=detector, timeout=300), ad.detector_extra(env), seed=seed)
    agent = HierarchicalAgent(high, low, rule)
    return agent, run_episode(env, agent, ad.command, seed=seed, options=options or {"chain_length": 5})


@pytest.mark.parametrize("detector", ["chain_progress", "env_predicate"])
def test_the_expert_redoes_what_was_undone(detector: str) -> None:
    env = _env(probability=1.0)
    redone = 0
    for seed in range(4):
        agent, r = _expert_episode(env, seed, detector)
        assert r.success and r.completed == r.task and len(r.subtask_steps) == len(r.task)
        for d in r.disturbances:
            undone = [e for e in agent.trace if e.reason == "undone"]
            assert undone and undone[0].step == d["step"] and undone[0].subgoal.text == d["undid"]
            redone += 1
    assert redone >= 3  # almost every 5-subtask chain has its disturbance
    env.close()


def test_the_light_toggles_and_the_same_seed_gives_the_same_disturbances() -> None:
    env = _env(probability=1.0, kinds=["light"])
    seed = next(s for s in range(50) if _state(env, s)[1])  # drawer open: [light, close drawer] is feasible
    light, _ = _state(env, seed)
    task = [_light_task(light), "close the drawer"]
    runs = [_expert_episode(env, seed, task=task)[1] for _ in range(2)]
    assert runs[0].success and runs[0].disturbances == runs[1].disturbances and len(runs[0].disturbances) == 1
    assert runs[0].disturbances[0]["what"] == f"the light went {'on' if light else 'off'}"
    assert runs[0].steps == runs[1].steps
    env.close()


class _MovesOn(HighLevelPolicy):
    """A robot's high level that counts what it did, not what the world shows: the next subtask after the ones it
    was told were completed (a disturbance does not make it go back)."""

    def reset(self) -> None:
        self.done = 0

    def completed(self, subgoal: Subgoal) -> None:
        self.done += 1

    def propose(self, obs: Any, command: Command) -> Subgoal:
        return Subgoal("language", command.subtasks[min(self.done, len(command.subtasks) - 1)], "policy")


def test_the_scripted_corrector_types_the_undone_instruction_again(tmp_path: Any) -> None:
    from hirl.encoders.text_factory import make_text_encoder
    from hirl.teleop.sessions.config import ScriptedCorrectorConfig
    from hirl.teleop.sessions.corrector import ScriptedCorrector
    from hirl.teleop.sessions.journal import CorrectionJournal
    from hirl.teleop.sessions.recorder import CorrectionRecorder
    from hirl.teleop.sessions.skills import SkillResolver
    from hirl_envs.tabletop import tasks

    ad = adapter(ENV)
    env = _env(probability=1.0, kinds=["drawer"], delay=[20, 20])
    seed = next(s for s in range(50) if not _state(env, s)[1])
    light, _ = _state(env, seed)
    canon = ad.detector_extra(env)["canonicalize"]
    journal = CorrectionJournal(tmp_path / "c.jsonl")
    rec = CorrectionRecorder(journal, ("observation",), 4)
    resolver = SkillResolver([s.instruction for s in tasks.SUBTASKS.values()], make_text_encoder("hash", 384), canon)
    corrector = ScriptedCorrector(ScriptedCorrectorConfig(reaction_steps=5), rec, resolver, canon, ad.paraphrases)
    high = _MovesOn()
    rule = build_replan_rule(ReplanConfig(detector="chain_progress", timeout=300), ad.detector_extra(env))
    agent = HierarchicalAgent(high, ad.expert(env, 0.0, 0)[1], rule)
    rec.start_episode(0)

    def on_step(t: int, a: Any, obs: Any, info: Any) -> None:
        rec.on_step(t, a, obs, info)
        corrector.on_step(t, a, obs, info)

    r = run_episode(env, agent, ad.command, seed=seed, on_step=on_step,
                    options={"task": ["open the drawer", _light_task(light)]})
    assert r.success and [d["undid"] for d in r.disturbances] == ["open the drawer"]
    records = journal.read()
    redo = [c for c in records if c["kind"] == "redo"]
    assert redo and redo[0]["corrected"] == redo[0]["skill"] == "open the drawer"
    assert redo[0]["step"] > r.disturbances[0]["step"]
    assert redo[0]["proposed"] == _light_task(light)  # the robot had moved on
    assert corrector.log.summary(0.02)["redo"] == len(redo)
    env.close()


def test_a_disturbed_collection_records_the_disturbances(tmp_path: Any) -> None:
    from hirl.data import load_dataset
    from hirl.data.collect import collect
    from hirl.data.collect_config import CollectConfig

    out = tmp_path / "data"
    collect(CollectConfig(env=ENV, episodes=2, workers=1, seed=0, chain_length=3,
                          env_kwargs={"disturbance": {"probability": 1.0}}), out, progress=False)
    episodes = load_dataset(out).episodes
    disturbed = [e for e in episodes if e.disturbances]
    assert disturbed and all(len(e.disturbances) <= 1 for e in episodes)
    for e in disturbed:
        d = e.disturbances[0]
        assert d["undid"] in e.task and "undone" in list(e.subgoal_reason)
        assert e.subgoal_text[d["step"]] == d["undid"]  # the expert's redo is labelled with the undone instruction


@pytest.mark.parametrize(("value", "field", "problem"), [
    ({"probability": 1.5}, "disturbance.probability", "must be in 0.0..1.0"),
    ({"probability": "often"}, "disturbance.probability", "expected a number"),
    ({"kinds": ["wind"]}, "disturbance.kinds", "unknown kind 'wind'"),
    ({"kinds": []}, "disturbance.kinds", "non-empty list"),
    ({"delay": [30, 5]}, "disturbance.delay", "1 <= low <= high"),
    ({"delay": 5}, "disturbance.delay", "two ints"),
    ({"probabilty": 0.5}, "disturbance.probabilty", "unknown key"),
    (0.5, "disturbance", "expected a mapping"),
])
def test_bad_values_are_one_line_naming_the_field(value: Any, field: str, problem: str) -> None:
    with pytest.raises(FieldError) as raised:
        adapter(ENV).make(disturbance=value)
    assert raised.value.field == field and problem in raised.value.problem
    with pytest.raises(FieldError) as checked:  # what `hirl train` / `hirl collect` check a config's env_kwargs with
        make_env(adapter(ENV), {"disturbance": value})
    assert checked.value.field == f"env_kwargs.{field}" and "\n" not in str(checked.value)


def test_a_typed_correction_to_the_undone_subtask_is_journaled_as_a_redo() -> None:
    """The session page's corrections get the scripted corrector's kind rule (what makes the recipe's redo rows)."""
    from types import SimpleNamespace

    from hirl.teleop.sessions.session import CorrectionSession
    from hirl.teleop.sessions.skills import Resolution

    session = SimpleNamespace(resolver=SimpleNamespace(canonical=lambda text: {"open it": "open the drawer"}.get(text)))
    undone = {"subtask_index": 0, "current_subtask": "open the drawer", "disturbances": [{"index": 0, "step": 40}]}
    clean = {"subtask_index": 0, "current_subtask": "open the drawer", "disturbances": []}
    typed = Resolution("open the drawer again", "open the drawer", "grounded", 0.9)
    assert CorrectionSession._kind(session, typed, undone) == "redo"  # type: ignore[arg-type]
    assert CorrectionSession._kind(session, Resolution("open it", "open it", "exact", 1.0), undone) == "redo"  # type: ignore[arg-type]
    assert CorrectionSession._kind(session, typed, clean) == "human"  # type: ignore[arg-type]
    other = Resolution("turn on the light", "turn on the light", "exact", 1.0)
    assert CorrectionSession._kind(session, other, undone) == "human"  # type: ignore[arg-type]
