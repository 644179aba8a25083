"""CorrectionSession: a person watches the trained hierarchy and corrects its high level in language.

    session = CorrectionSession.open(run_dir, out, cfg)   # out: a session directory (see hirl.teleop.store)
    session.start()                                       # episodes run in a background thread
    session.correct("open the drawer")                    # -> Applied, once journaled; active at this control step
    report = session.finish()                             # dataset, fine-tuned high level, before/after report
    session.close()                                       # releases the session folder (OUT/.lock)

correct() returns only after the correction is applied at a control step and journaled (OUT/corrections.jsonl,
fsynced per line): what was acknowledged survives a kill. A second correction at the same control step (several
sent while paused) replaces the first: its record names the first in "replaces", so only the last one trains.
Episodes go through the dataset writer (OUT/episodes) with the per-step subgoal source and intervention flag.
One process at a time per session folder (FolderLock: a second session exits 2 naming the holder)."""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hirl.encoders.text import TEXT_DIM, TextEncoder
from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent
from hirl.integrations import adapter as env_adapter
from hirl.learn.run_config import RunConfig
from hirl.encoders.text_factory import make_text_encoder
from hirl.policies.high.language import LanguageHighLevel
from hirl.runs import load_agent
from hirl.teleop.config import SessionConfig
from hirl.teleop.journal import CorrectionJournal
from hirl.teleop.live import LiveSession
from hirl.runs.rundir import FolderLock
from hirl.teleop.loop import AFTER
from hirl.teleop.recorder import CorrectionRecorder
from hirl.teleop.skills import Resolution, SkillResolver
from hirl.teleop.store import EpisodeStore, check_run, prepare_session
from hirl.types import Observation


@dataclass(frozen=True)
class Applied:
    """A correction as journaled: its record id, where it applies, and the correction it replaced (if any)."""

    resolution: Resolution
    id: str
    episode: int
    step: int
    replaces: str | None = None  # text of the correction at the same step this one replaced

    def message(self) -> str:
        extra = f" (replaces {self.replaces!r} at this step)" if self.replaces else ""
        return self.resolution.message() + extra


class CorrectionSession(LiveSession):
    mode = "correct"

    def __init__(self, run_dir: Path, out: Path, run_cfg: RunConfig, agent: HierarchicalAgent, env: Any,
                 resolver: SkillResolver, encoder: TextEncoder, cfg: SessionConfig, paused: bool = False) -> None:
        ad = env_adapter(run_cfg.env)
        store = EpisodeStore(out / "episodes", env, run_cfg.env, "hier_language+human_corrections",
                             {"run_dir": str(run_dir.resolve())})
        super().__init__(env, ad, agent, store, cfg, paused)
        self.run_dir, self.out, self.run_cfg, self.resolver, self.encoder = run_dir, out, run_cfg, resolver, encoder
        self.journal = CorrectionJournal(out / "corrections.jsonl")
        self.corrections = CorrectionRecorder(self.journal, tuple(run_cfg.obs_keys), cfg.finetune.context_steps,
                                              {"session": str(out), "corrector": "human", "run_dir": str(run_dir)})
        self.history: list[dict[str, Any]] = []
        self.started = time.time()
        self._seen: tuple[int, int] = (-1, -1)

    @classmethod
    def open(cls, run_dir: str | Path, out: str | Path, cfg: SessionConfig, paused: bool = False,
             text_encoder: TextEncoder | None = None) -> CorrectionSession:
        run_dir, out = Path(run_dir), Path(out)
        if run_dir.resolve() == out.resolve():
            raise InputError(f"--out {out}: must differ from the run directory")
        run_cfg = check_run(run_dir)  # read-only: a rejected run leaves --out as it was
        lock = FolderLock(out, "correction session").acquire()
        try:
            prepare_session(run_dir, out, run_cfg)
            ad = env_adapter(run_cfg.env)
            env = ad.make(render=True, width=cfg.image_size, height=cfg.image_size, **run_cfg.env_kwargs)
            encoder = text_encoder or make_text_encoder(run_cfg.text_encoder, TEXT_DIM)
            agent = load_agent(out, AFTER, env, cfg=run_cfg, text_encoder=encoder, seed=run_cfg.seed)
            assert isinstance(agent, HierarchicalAgent) and isinstance(agent.high, LanguageHighLevel)
            resolver = SkillResolver(agent.high.candidates, encoder, ad.detector_extra(env).get("canonicalize"),
                                     cfg.match_threshold, cfg.max_text)
            encoder.encode(resolver.skills)  # load the encoder now, not on the first correction
            session = cls(run_dir, out, run_cfg, agent, env, resolver, encoder, cfg, paused)
        except BaseException:
            lock.release()
            raise
        session.folder_lock = lock
        return session

    # ------------------------------------------------------------------ UI side
    def correct(self, raw: bytes | str) -> Applied:
        """Validate and match a correction, then wait until it replaces the active subgoal at a control step and is
        journaled. InputError (with the reason) when it is not accepted; NotApplied when it was not recorded."""
        resolution = self.resolver.resolve(raw)
        applied: Applied = self.submit("correction", resolution)
        with self.lock:
            self.message = applied.message()
        return applied

    def live_history(self) -> list[dict[str, Any]]:
        """This process's corrections that count (a replaced one does not)."""
        return [h for h in self.history if not h.get("replaced")]

    def extra_status(self) -> dict[str, Any]:
        return {"skills": self.resolver.skills, "corrections": len(self.live_history()), "history": self.history[-20:]}

    # ------------------------------------------------------------------ simulation thread
    def on_control_step(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        if self.episode != self.corrections.episode:
            self.corrections.start_episode(self.episode)
        if (self.episode, t) != self._seen:
            self._seen = (self.episode, t)
            self.corrections.on_step(t, self.agent, obs, info)

    def apply_request(self, kind: str, payload: Any, t: int, obs: Observation, info: Mapping[str, Any]) -> Applied:
        if kind != "correction":
            return super().apply_request(kind, payload, t, obs, info)
        r: Resolution = payload
        assert self.agent.command is not None
        last = self.history[-1] if self.history else None
        same = last is not None and (last["episode"], last["step"]) == (self.episode, t) and not last.get("replaced")
        c = self.corrections.correct(t, self.agent, obs, r, "human", self.agent.command.text,
                                     replaces=last["id"] if same and last else None)
        record = self.corrections.records[-1]
        if same and last:
            last["replaced"] = True
        self.history.append({"id": record["id"], "episode": self.episode, "step": t,
                             "proposed": c.proposed.text if c.proposed else None, "corrected": r.text, "skill": r.skill,
                             "how": r.how, "replaces": record["replaces"]})
        return Applied(r, str(record["id"]), self.episode, t, last["corrected"] if same and last else None)

    def episode_attrs(self) -> dict[str, Any]:
        return {"corrections": sum(1 for h in self.live_history() if h["episode"] == self.episode)}

    def on_finish(self) -> None:
        self.store.assemble()

    # ------------------------------------------------------------------ the end
    def summary(self) -> dict[str, Any]:
        eps, n = self.episodes, len(self.live_history())
        return {"episodes": len(eps), "corrections": n, "corrections_per_episode": round(n / max(len(eps), 1), 3),
                "env_success": sum(e["env_success"] for e in eps),
                "human_success": sum(e["human_label"] == "success" for e in eps),
                "minutes": round((time.time() - self.started) / 60, 2), "dataset": str(self.out / "episodes")}

    def finish(self, retrain: bool = True, eval_episodes: int | None = None) -> dict[str, Any]:
        """Stop the episodes, then (when there are corrections) fine-tune the high level on every correction of
        this session directory and evaluate before vs after on the same chains."""
        self.control("finish")
        self.wait_finished()
        report: dict[str, Any] = {"summary": self.summary()}
        records = self.journal.read()
        if retrain and records:
            from hirl.learn.run import load_tables
            from hirl.teleop.loop import BEFORE, evaluate
            from hirl.teleop.rows import correction_tables, finetune_high

            train, _, _ = load_tables(self.run_cfg, Path(self.run_cfg.dataset))
            extra = correction_tables(records, train[0], tuple(self.run_cfg.obs_keys))
            stage = f"session{int(time.time())}"
            report["finetune"] = finetune_high(self.out, extra, train, self.encoder, self.cfg.finetune,
                                               self.run_cfg.train.high, stage)
            n = self.cfg.eval_episodes if eval_episodes is None else eval_episodes
            if n:
                report["before"] = evaluate(self.out, self.run_cfg, BEFORE, n, self.out / "eval" / "before")
                report["after"] = evaluate(self.out, self.run_cfg, AFTER, n, self.out / "eval" / "after")
        return report
