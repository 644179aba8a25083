"""CorrectionSession: a person watches the trained hierarchy and corrects its high level in language.

    session = CorrectionSession.open(run_dir, out, cfg)   # out: a session directory (see hirl.teleop.store)
    session.start()                                       # episodes run in a background thread
    session.correct("open the drawer")                    # -> Applied, once journaled; active at this control step
    report = session.finish()                             # dataset, fine-tuned high level, before/after report
    session.close()                                       # releases the session folder (OUT/.lock)

correct() returns only after the correction is matched to a known skill, applied at a control step and journaled
(OUT/corrections.jsonl, fsynced per line): what was acknowledged survives a kill. The low level executes the MATCHED
skill, not the typed text. While paused, a correction is pending until the session steps on; at most one is pending
per paused state: a second one replaces it (its record names the first in "replaces", only the last one trains, and
the answer says what it replaced). undo(id) removes a correction (or a takeover) from training: an undo record is
journaled, and a pending one is also withdrawn before it acts.

Takeovers (HG-DAgger): takeover(True) hands the controls to the keys (keys(), the page's arrows / a gamepad);
every step driven is recorded with the intervention flag and, per segment, journaled to OUT/takeovers.jsonl
(labelled with the active, matched skill) -- apart from the language corrections; at finish the low level is
fine-tuned on them, the high level on the corrections. Episodes go through the dataset writer (OUT/episodes) with
the per-step subgoal source and intervention flag. One process at a time per session folder (FolderLock)."""
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
from hirl.teleop.keyboard import KeyboardDriver
from hirl.teleop.live import LiveSession
from hirl.runs.rundir import FolderLock
from hirl.teleop.loop import AFTER
from hirl.teleop.recorder import CorrectionRecorder
from hirl.teleop.skills import Resolution, SkillResolver
from hirl.teleop.store import EpisodeStore, check_run, prepare_session
from hirl.teleop.takeover import TakeoverAgent, TakeoverRecorder, mark_takeovers
from hirl.types import Observation, Subgoal

TAKEOVERS = "takeovers.jsonl"  # OUT/: the session's takeover segments (the loop's name too)


@dataclass(frozen=True)
class Applied:
    """A correction as journaled: its record id, where it applies, and the correction it replaced (if any)."""

    resolution: Resolution
    id: str
    episode: int
    step: int
    replaces: str | None = None  # text of the correction at the same step this one replaced
    pending: bool = False  # journaled while paused: it acts when the session steps on

    def message(self) -> str:
        extra = f" (replaces the pending {self.replaces!r})" if self.replaces else ""
        return self.resolution.message() + extra


class CorrectionSession(LiveSession):
    mode = "correct"

    def __init__(self, run_dir: Path, out: Path, run_cfg: RunConfig, agent: HierarchicalAgent, env: Any,
                 resolver: SkillResolver, encoder: TextEncoder, cfg: SessionConfig, paused: bool = False) -> None:
        ad = env_adapter(run_cfg.env)
        store = EpisodeStore(out / "episodes", env, run_cfg.env, "hier_language+human_corrections",
                             {"run_dir": str(run_dir.resolve())})
        self.journal = CorrectionJournal(out / "corrections.jsonl")
        self.takeover_journal = CorrectionJournal(out / TAKEOVERS)
        provenance = {"session": str(out), "corrector": "human", "run_dir": str(run_dir)}
        self.driven = TakeoverAgent(agent, TakeoverRecorder(self.takeover_journal, tuple(run_cfg.obs_keys), provenance))
        super().__init__(env, ad, self.driven, store, cfg, paused)
        self.hierarchy = agent
        self.run_dir, self.out, self.run_cfg, self.resolver, self.encoder = run_dir, out, run_cfg, resolver, encoder
        self.corrections = CorrectionRecorder(self.journal, tuple(run_cfg.obs_keys), cfg.finetune.context_steps,
                                              provenance)
        self.driver = KeyboardDriver(cfg.teleop_speed, cfg.key_timeout, bounded=run_cfg.env == "hirl/Tabletop-v0")
        self.history: list[dict[str, Any]] = []  # this process's corrections and takeovers, newest last
        self.opened = time.time()
        self._seen: tuple[int, int] = (-1, -1)
        self._pending: Subgoal | None = None  # a correction journaled while paused, applied when the session steps on
        self._takeover_wall = 0.0  # wall-clock seconds of takeovers (effort)
        self._takeover_since: float | None = None

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
            resolver = SkillResolver.for_env(ad, agent.high.candidates, encoder,
                                             canonical=ad.detector_extra(env).get("canonicalize"),
                                             threshold=cfg.match_threshold, max_chars=cfg.max_text, margin=cfg.match_margin)
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

    def undo(self, record_id: str) -> str:
        """Remove a correction or takeover of this session from training (an undo record is journaled, fsynced); a
        pending correction is also withdrawn. record_id "last": the newest live one. InputError when there is no such
        live record."""
        with self.lock:
            if record_id == "last":  # the newest live entry, as the session (not a page's last poll) knows it
                live = self.live_history()
                if not live:
                    raise InputError("undo: nothing to undo (no live correction or takeover in this session)")
                record_id = live[-1]["id"]
            h = next((h for h in self.history if h["id"] == record_id), None)
            if h is None or h["status"] != "active":
                state = "no such correction" if h is None else f"already {h['status']}"
                raise InputError(f"undo {record_id!r}: {state} (undo takes a live entry of the history)")
            journal = self.takeover_journal if h["kind"] == "takeover" else self.journal
            journal.append({"id": f"undo-{record_id}", "kind": "undo", "undoes": record_id, "time": time.time(),
                            "session": str(self.out)})  # OSError: not undone
            h["status"] = "undone"
            what = f"takeover of {h['skill']!r}" if h["kind"] == "takeover" else f"correction {h['corrected']!r}"
            if h.get("pending") and self._pending is not None:
                self._pending = None
                what += " (withdrawn before it acted)"
            self.message = f"undone: {what}; it will not be trained on"
            return self.message

    def takeover(self, on: bool) -> str:
        """Hand the controls to the keys (on) or back to the low level; applied at a control step (journaled when the
        segment ends). The segment is labelled with the active skill."""
        return str(self.submit("takeover", bool(on)))

    def keys(self, held: list[str]) -> str:
        """The keys held now (they drive only during a takeover)."""
        return self.driver.set(held)

    def live_history(self, kind: str | None = None) -> list[dict[str, Any]]:
        """This process's corrections / takeovers that count (not replaced, not undone)."""
        return [h for h in self.history if h["status"] == "active" and (kind is None or h["kind"] == kind)]

    def extra_status(self) -> dict[str, Any]:
        return {"skills": self.resolver.skills, "corrections": len(self.live_history("correction")),
                "takeovers": len(self.live_history("takeover")), "takeover_active": self.driven.active,
                "takeover_seconds": round(self._takeover_seconds(), 1), "history": self.history[-30:],
                "pending": None if self._pending is None else self._pending.text, **self.driver.status(),
                "threshold": self.resolver.threshold, "margin": self.resolver.margin}

    def _takeover_seconds(self) -> float:
        live = time.monotonic() - self._takeover_since if self._takeover_since is not None else 0.0
        return self._takeover_wall + live

    # ------------------------------------------------------------------ simulation thread
    def on_control_step(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        if self.episode != self.corrections.episode:
            self.corrections.start_episode(self.episode)
        if (self.episode, t) != self._seen:
            self._seen = (self.episode, t)
            self.corrections.on_step(t, self.agent, obs, info)

    def apply_request(self, kind: str, payload: Any, t: int, obs: Observation, info: Mapping[str, Any]) -> Any:
        if kind == "takeover":
            return self._apply_takeover(bool(payload))
        if kind != "correction":
            return super().apply_request(kind, payload, t, obs, info)
        r: Resolution = payload
        assert self.agent.command is not None
        last = next((h for h in reversed(self.history) if h["kind"] == "correction"), None)
        same = (last is not None and (last["episode"], last["step"]) == (self.episode, t) and last["status"] == "active"
                and last.get("pending"))
        c = self.corrections.correct(t, self.hierarchy, obs, r, "human", self.agent.command.text,
                                     replaces=last["id"] if same and last else None, apply=False)
        record = self.corrections.records[-1]
        if same and last:
            last["status"], last["pending"] = "replaced", False
        self._pending = Subgoal("language", r.skill, "human")
        self.history.append({"id": record["id"], "kind": "correction", "episode": self.episode, "step": t,
                             "proposed": c.proposed.text if c.proposed else None, "corrected": r.text, "skill": r.skill,
                             "how": r.how, "similarity": round(r.similarity, 3), "replaces": record["replaces"],
                             "status": "active", "pending": True})
        if self.driven.active:  # driving on: the takeover now performs the corrected skill
            self._close_segment(self.driven.relabel, r.skill)
        return Applied(r, str(record["id"]), self.episode, t, last["corrected"] if same and last else None,
                       pending=self.paused and self.steps_allowed == 0)

    def _apply_takeover(self, on: bool) -> str:
        if on == self.driven.active:
            return "taking over already" if on else "the low level is driving already"
        if on:
            g = self.agent.subgoal or self._pending
            if self._pending is not None:
                g = self._pending
            if g is None:
                raise InputError("takeover: no active skill yet; step once first (the takeover is labelled with it)")
            self.driver.release()
            self.driven.start_takeover(lambda obs, _g: self.driver.action(obs), g.text, source="human")
            self._takeover_since = time.monotonic()
            return f"you drive now, performing {g.text!r} (arrows, r / v, g); t hands back"
        self._close_segment(self.driven.stop_takeover)
        self._takeover_wall += time.monotonic() - (self._takeover_since or time.monotonic())
        self._takeover_since = None
        return "the low level drives again"

    def _close_segment(self, close: Any, *args: Any) -> None:
        """Close the open takeover segment (journaled) and list it in the history."""
        seg = self.driven.segment
        record = close(*args)
        if record is not None and seg is not None:
            self.history.append({"id": record["id"], "kind": "takeover", "episode": seg.episode, "step": seg.start,
                                 "end": record["end"], "skill": seg.skill, "status": "active",
                                 "seconds": round((record["end"] - record["start"]) * self._dt(), 2)})

    def _dt(self) -> float:
        return float(getattr(self.env.unwrapped, "dt", 0.02))

    def before_act(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        if self._pending is not None:  # the pending correction acts now
            self.hierarchy.override(self._pending)
            self._pending = None
            for h in self.history:
                h["pending"] = False

    def before_episode(self) -> None:
        with self.lock:
            self.driven.episode = self.episode
            self._pending = None
            for h in self.history:
                h["pending"] = False

    def finish_record(self, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.driven.active:
                self._apply_takeover(False)
            self.driven.flush()
            record["attrs"]["takeover_segments"] = [list(x) for x in self.driven.segments]
            return mark_takeovers(record, self.driven.steps)

    def episode_counts(self) -> dict[str, Any]:
        mine = [h for h in self.live_history() if h["episode"] == self.episode]
        return {"corrections": sum(h["kind"] == "correction" for h in mine),
                "takeovers": sum(h["kind"] == "takeover" for h in mine),
                "interventions": len(mine)}

    def episode_attrs(self) -> dict[str, Any]:
        return {"corrections": sum(1 for h in self.live_history("correction") if h["episode"] == self.episode)}

    def on_finish(self) -> None:
        self.store.assemble()

    # ------------------------------------------------------------------ the end
    def summary(self) -> dict[str, Any]:
        """The session's counts and effort (the same counts as the page's history and episode table)."""
        eps = self.episodes
        n, k = len(self.live_history("correction")), len(self.live_history("takeover"))
        return {"episodes": len(eps), "corrections": n, "takeovers": k, "interventions": n + k,
                "undone": sum(h["status"] == "undone" for h in self.history),
                "replaced": sum(h["status"] == "replaced" for h in self.history),
                "corrections_per_episode": round(n / max(len(eps), 1), 3),
                "env_success": sum(e["env_success"] for e in eps),
                "human_success": sum(e["human_label"] == "success" for e in eps),
                "takeover_seconds": round(self._takeover_seconds(), 1),
                "attention_seconds": round(self.attention_seconds, 1),
                "minutes": round((time.time() - self.opened) / 60, 2), "dataset": str(self.out / "episodes")}

    def _report(self, **update: Any) -> dict[str, Any]:
        with self.lock:
            self.report = {**(self.report or {}), **update}
            return self.report

    def finish(self, retrain: bool = True, eval_episodes: int | None = None) -> dict[str, Any]:
        """Stop the episodes, then fine-tune the high level on every correction of this session directory and the low
        level on every takeover, and evaluate before vs after on the same chains. The report is also kept in
        self.report (the page shows it, stage by stage)."""
        self.control("finish")
        self.wait_finished()
        with self.lock:
            self.phase = "finishing"
        report: dict[str, Any] = self._report(stage="writing the report", summary=self.summary())
        records, drives = self.journal.read(), self.takeover_journal.read()
        if retrain and (records or drives):
            from hirl.learn.run import load_tables
            from hirl.teleop.loop import BEFORE, evaluate
            from hirl.teleop.rows import correction_tables, finetune_high, finetune_low, takeover_tables

            train, _, _ = load_tables(self.run_cfg, Path(self.run_cfg.dataset))
            stage = f"session{int(time.time())}"
            fits: dict[str, Any] = {}
            if records:
                self._report(stage=f"fine-tuning the high level on {len(records)} corrections")
                extra = correction_tables(records, train[0], tuple(self.run_cfg.obs_keys))
                fits["high"] = finetune_high(self.out, extra, train, self.encoder, self.cfg.finetune,
                                             self.run_cfg.train.high, stage)
            if drives:
                self._report(stage=f"fine-tuning the low level on {len(drives)} takeovers")
                rows = takeover_tables(drives, train[0], tuple(self.run_cfg.obs_keys))
                fits["low"] = finetune_low(self.out, rows, train, self.encoder, self.cfg.finetune,
                                           self.run_cfg.train.low, stage + "-low")
            report = self._report(finetune=fits)
            n = self.cfg.eval_episodes if eval_episodes is None else eval_episodes
            if n:
                self._report(stage=f"evaluating before and after on {n} chains")
                before = evaluate(self.out, self.run_cfg, BEFORE, n, self.out / "eval" / "before")
                after = evaluate(self.out, self.run_cfg, AFTER, n, self.out / "eval" / "after")
                minutes = max(self.attention_seconds / 60.0, 1e-9)
                report = self._report(before=before, after=after, effort={
                    "human_minutes": round(self.attention_seconds / 60.0, 2),
                    "success_gain": round(after["success_rate"] - before["success_rate"], 4),
                    "success_gain_per_human_minute": round((after["success_rate"] - before["success_rate"]) / minutes, 4)})
        elif not (records or drives):
            report = self._report(note="no corrections or takeovers: nothing was retrained")
        report = self._report(stage="done")
        with self.lock:
            self.phase = "finished"
        return {k: v for k, v in report.items() if k != "stage"}
