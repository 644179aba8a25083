"""The correction DAgger loop with the scripted corrector: language corrections, teleoperated takeovers, or both.

    round r:  roll out the current hierarchy (SESSION AGENT+adapt; AGENT: loop.agent, hier_language by default) on
              fresh chains; the scripted corrector overrides wrong / stale subgoals (SESSION/corrections.jsonl) and /
              or takes over the controls (SESSION/takeovers.jsonl), per its mode; every episode is recorded through
              the dataset writer
              -> fine-tune the high level on ALL corrections so far + the original demonstrations (ratio), and the
                 low level on ALL takeovers so far + its demonstrations (low_ratio; HG-DAgger) -- each kind of
                 intervention trains only its own level; a state hierarchy learns both levels from the takeovers
                 (hirl.teleop.sessions.retrain) -> evaluate -> SESSION/rounds/round<r>.json
A state hierarchy's subgoals cannot be judged wrong by their text: the corrector takes over when the chain stalls
(corrector mode takeover or mixed; mode language is refused for it).

Round 0 evaluates the agent before any correction. Every finished round is a JSON file and every correction a
fsynced journal line, so a killed loop resumes: finished rounds are skipped, a round's finished episodes (and
their corrections) are kept, and its fine-tune resumes from the trainer's checkpoint. An episode killed before it
was written is run again: the corrections of the killed attempt are first discarded from the journal (they would
otherwise count and train twice); record ids ("r<round>-e<episode>-s<step>") are unique per episode attempt.
The session folder is held exclusively (FolderLock) for the whole loop."""
from __future__ import annotations

import functools
import json
import time
from dataclasses import replace
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hirl.data import schema
from hirl.data.recorder import EpisodeRecorder
from hirl.encoders.text import TextEncoder
from hirl.eval.evaluate import evaluate_run
from hirl.runs import ADAPTED_SUFFIX, load_agent
from hirl.hierarchy.rollout import run_episode
from hirl.fileio import atomic_write_json
from hirl.hierarchy import HierarchicalAgent
from hirl.integrations import adapter as env_adapter
from hirl.errors import InputError
from hirl.learn.run import load_tables
from hirl.learn.run_config import RunConfig
from hirl.teleop.sessions.config import CorrectionLoopConfig
from hirl.teleop.sessions.corrector import ScriptedCorrector
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.runs.rundir import FolderLock
from hirl.teleop.sessions.recorder import CorrectionRecorder
from hirl.teleop.sessions.retrain import finetune_levels, subgoal_kind, typed_refusal
from hirl.teleop.sessions.skills import SkillResolver
from hirl.teleop.sessions.takeover import TakeoverAgent, TakeoverRecorder, mark_takeovers
from hirl.teleop.sessions.store import DEFAULT_AGENT, EpisodeStore, check_run, prepare_session
from hirl.policies.high.language import LanguageHighLevel

BEFORE = DEFAULT_AGENT  # the run's agent as trained (the default corrected agent)
AFTER = BEFORE + ADAPTED_SUFFIX  # the session's corrected agent (the default's)


def adapted(agent: str) -> str:
    """The session's corrected agent of `agent` (its adapted levels)."""
    return agent + ADAPTED_SUFFIX


def _hooks(*hooks: Callable[..., None]) -> Callable[..., None]:
    def call(*args: Any) -> None:
        for h in hooks:
            h(*args)
    return call


def corrected_rollouts(session: Path, cfg: RunConfig, loop: CorrectionLoopConfig, r: int, first_index: int,
                       encoder: TextEncoder, journal: CorrectionJournal, store: EpisodeStore,
                       progress: Callable[[str], None], takeovers: CorrectionJournal | None = None) -> list[dict[str, Any]]:
    """Episodes of round r with the scripted corrector; returns one effort/outcome record per episode (also journaled
    beside the episode). Episodes already in the store are skipped (resume)."""
    ad = env_adapter(cfg.env)
    env = store.env
    agent = load_agent(session, adapted(loop.agent), env, cfg=cfg, text_encoder=encoder, seed=cfg.seed)
    assert isinstance(agent, HierarchicalAgent)
    canonical = ad.detector_extra(env)["canonicalize"]
    resolver = (SkillResolver.for_env(ad, agent.high.candidates, encoder, canonical=canonical)
                if isinstance(agent.high, LanguageHighLevel) else None)  # a state high level: no typed corrections
    recorder = CorrectionRecorder(journal, tuple(cfg.obs_keys), loop.finetune.context_steps,
                                  {"round": r, "session": str(session), "corrector": "scripted"}, id_prefix=f"r{r}-")
    takeovers = takeovers or CorrectionJournal(session / TAKEOVERS)
    driven = TakeoverAgent(agent, TakeoverRecorder(takeovers, tuple(cfg.obs_keys),
                                                   {"round": r, "session": str(session), "corrector": "scripted"},
                                                   id_prefix=f"r{r}-"))
    steered: Any = driven  # quacks like the HierarchicalAgent the hooks expect (AgentWrapper forwards the rest)
    driver = ad.expert(env, 0.0, loop.corrector.seed + r)[1] if loop.corrector.mode != "language" else None
    corrector = ScriptedCorrector(loop.corrector, recorder, resolver, canonical,
                                  lambda t: ad.paraphrases(t) if ad.paraphrases else [], driver)
    episodes = EpisodeRecorder(env)
    dt = float(getattr(env.unwrapped, "dt", 0.02))
    done = set(store.journal.done())
    out = []
    for i in range(loop.episodes[r - 1]):
        index = first_index + i
        if index in done:
            out.append(store.journal.read(index)["attrs"]["effort"] | {"resumed": True})
            continue
        seed = loop.rollout_seed + 1000 * r + i
        # a killed attempt at this episode journaled corrections of a rollout that was never written: drop them
        journal.discard(functools.partial(_of_attempt, index=index))
        takeovers.discard(functools.partial(_of_attempt, index=index))
        recorder.start_episode(index)
        corrector.reset()
        driven.episode = index
        options = ad.reset_options(loop.chain_length)
        result = run_episode(env, steered, ad.command, seed=seed, options=options,
                             on_step=_hooks(episodes.on_step, recorder.on_step, corrector.on_step),
                             on_transition=episodes.on_transition)
        driven.stop_takeover()
        effort = corrector.log.summary(dt) | {"success": bool(result.success), "chain_length": len(result.completed)}
        attrs = schema.episode_attrs(result, round=r, effort=effort, takeover_segments=[list(x) for x in driven.segments])
        store.write(mark_takeovers(episodes.finish(index=index, seed=seed, options=options, attrs=attrs), driven.steps))
        out.append(effort)
        progress(f"round {r} episode {i + 1}/{loop.episodes[r - 1]}: {effort['interventions']} corrections, "
                 f"chain {effort['chain_length']}/{loop.chain_length}")
    return out


def _of_attempt(record: dict[str, Any], index: int) -> bool:
    """A scripted correction of episode index (of an attempt at it that was killed before the episode was written)."""
    return record.get("corrector") == "scripted" and record.get("episode") == index


TAKEOVERS = "takeovers.jsonl"  # the session's takeover journal (beside corrections.jsonl)


def _effort_summary(efforts: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("interventions", "corrections", "takeovers", "takeover_seconds", "misses", "watched_seconds",
            "wrong_subgoal_seconds", "chain_length", "success")
    return {f"{k}_per_episode" if k not in ("success", "chain_length") else f"rollout_{k}":
            round(float(np.mean([e.get(k, 0) for e in efforts])), 4) for k in keys} if efforts else {}


def _effort_totals(efforts: list[dict[str, Any]]) -> dict[str, float]:
    """Sums over a round's episodes (what the human spent on it)."""
    keys = ("interventions", "corrections", "takeovers", "takeover_seconds", "watched_seconds")
    return {k: round(float(sum(e.get(k, 0) for e in efforts)), 3) for k in keys}


def evaluate(session: Path, cfg: RunConfig, agent: str, episodes: int, out: Path) -> dict[str, Any]:
    """The one evaluation path (evaluate_run) on the run's evaluation chains; returns that agent's metrics."""
    cfg.eval = replace(cfg.eval, videos=0)
    report = evaluate_run(session, [agent], episodes, out, cfg=cfg)
    m = report["policies"][agent]
    return {k: m[k] for k in ("success_rate", "avg_chain_length", "success_at_length", "interventions_per_episode")
            if k in m}


def run_correction_loop(run_dir: str | Path, out: str | Path, loop: CorrectionLoopConfig,
                        progress: Callable[[str], None] = print) -> dict[str, Any]:
    """All rounds of loop on the run at run_dir, in the session directory out; returns {round: summary}.
    InputError when another process holds out (naming it)."""
    session = Path(out)
    cfg = check_run(run_dir, loop.agent)
    kind = subgoal_kind(loop.agent, cfg)
    if kind != "language" and loop.corrector.mode == "language":
        raise InputError(f"corrector.mode language: {typed_refusal(loop.agent, kind)} (corrector.mode takeover)")
    with FolderLock(session, "correction loop"):
        return _rounds(run_dir, session, cfg, loop, progress)


def _rounds(run_dir: str | Path, session: Path, cfg: RunConfig, loop: CorrectionLoopConfig,
            progress: Callable[[str], None]) -> dict[str, Any]:
    prepare_session(run_dir, session, cfg, loop.agent)
    cfg.eval = replace(cfg.eval, chain_length=loop.chain_length)
    rounds_dir = session / "rounds"
    summary: dict[str, Any] = {}
    first = rounds_dir / "round0.json"
    if loop.eval_episodes and not first.is_file():
        atomic_write_json(first, {"round": 0, "corrected_episodes": 0, "corrections": 0,
                                  "eval": evaluate(session, cfg, loop.agent, loop.eval_episodes, session / "eval" / "round0")})
    if first.is_file():
        summary["0"] = json.loads(first.read_text())
    train, _, encoder = load_tables(cfg, Path(cfg.dataset))
    low_train = train if not loop.low_dataset else load_tables(cfg, Path(loop.low_dataset))[0]
    journal = CorrectionJournal(session / "corrections.jsonl")
    takeovers = CorrectionJournal(session / TAKEOVERS)
    ad = env_adapter(cfg.env)
    env = ad.make(**cfg.env_kwargs)
    store = EpisodeStore(session / "episodes", env, cfg.env, f"{loop.agent}+scripted_corrector",
                         {"run_dir": str(Path(run_dir).resolve()), "agent": loop.agent},
                         subgoal_kind=subgoal_kind(loop.agent, cfg))
    total = 0
    spent: dict[str, float] = {}
    for r in range(1, len(loop.episodes) + 1):
        path = rounds_dir / f"round{r}.json"
        if path.is_file():
            summary[str(r)] = json.loads(path.read_text())
            total += loop.episodes[r - 1]
            spent = summary[str(r)].get("human_totals", spent)
            continue
        t0 = time.perf_counter()
        efforts = corrected_rollouts(session, cfg, loop, r, total, encoder, journal, store, progress, takeovers)
        total += loop.episodes[r - 1]
        store.assemble()
        records, drives = journal.read(), takeovers.read()
        round_totals = _effort_totals(efforts)
        spent = {k: round(spent.get(k, 0.0) + v, 3) for k, v in round_totals.items()}
        record: dict[str, Any] = {"round": r, "corrected_episodes": total, "corrections": len(records),
                                  "takeovers": len(drives), "effort": _effort_summary(efforts),
                                  "human_totals": spent, "finetune": {}}
        record["finetune"] = finetune_levels(session, cfg, loop.agent, records, drives,
                                             store.dataset(tuple(cfg.obs_keys)), train, low_train, encoder,
                                             loop.finetune, stages=(f"correct{r}", f"takeover{r}"))
        if loop.eval_episodes:
            record["eval"] = evaluate(session, cfg, adapted(loop.agent), loop.eval_episodes, session / "eval" / f"round{r}")
        record["seconds"] = round(time.perf_counter() - t0, 1)
        atomic_write_json(path, record)
        summary[str(r)] = record
        ev = record.get("eval", {})
        progress(f"round {r}: {total} corrected episodes, {len(records)} corrections, {len(drives)} takeovers, "
                 f"success {ev.get('success_rate', float('nan')):.3f}, "
                 f"avg chain length {ev.get('avg_chain_length', float('nan')):.2f}")
    env.close()
    return summary
