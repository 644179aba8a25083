"""CorrectionSession: a person watches the trained hierarchy and corrects its high level in language.

    session = CorrectionSession.open(run_dir, out, cfg)   # out: a session directory (see hirl.teleop.sessions.store);
                                                          # agent="hier_state": another of the run's hierarchies
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
the per-step subgoal source and intervention flag. One process at a time per session folder (FolderLock).

A hierarchy with state subgoals (e.g. hier_state) cannot be corrected by typing (a skill does not label a goal
state): correct() refuses in one line and points to a takeover, which teaches both its levels the goal it reached
(hirl.teleop.sessions.retrain); its takeovers are labelled with the chain's subtask due, as a name only."""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hirl.encoders.text import TEXT_DIM, TextEncoder
from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent
from hirl.integrations import adapter as env_adapter
from hirl.learn.corrections_config import REDO_KIND
from hirl.learn.run_config import RunConfig
from hirl.encoders.text_factory import make_text_encoder
from hirl.policies.high.language import LanguageHighLevel
from hirl.runs import load_agent
from hirl.teleop.sessions.config import SessionConfig
from hirl.teleop.sessions.corrector import redo_due
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.keyboard import KeyboardDriver
from hirl.teleop.sessions.live import LiveSession
from hirl.runs.rundir import FolderLock
from hirl.teleop.sessions.loop import adapted
from hirl.teleop.sessions.recorder import CorrectionRecorder
from hirl.teleop.sessions.retrain import subgoal_kind, typed_refusal
from hirl.teleop.sessions.skills import Resolution, SkillResolver, decode_text
from hirl.teleop.sessions.store import DEFAULT_AGENT, EpisodeStore, check_run, check_unfinished, prepare_session
from hirl.teleop.sessions.takeover import TakeoverAgent, TakeoverRecorder, mark_takeovers
from hirl.types import Observation, Subgoal

TAKEOVERS = "takeovers.jsonl"  # OUT/: the session's takeover segments (the loop's name too)
NOTES = "notes.jsonl"  # OUT/: the person's notes on episodes
PREVIEW_EVERY = 10  # control steps between two previews of the high level's next proposal (0.2 s at 50 Hz)


def shown(h: Mapping[str, Any]) -> dict[str, Any]:
    """A history entry with "shown": what every UI prints as its state (pending | active | replaced | undone)."""
    return {**h, "shown": "pending" if h.get("pending") and h["status"] == "active" else h["status"]}


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

    def answer(self) -> dict[str, Any]:
        """The JSON answer of /api/correct and /api/accept."""
        r = self.resolution
        return {"ok": True, "message": self.message(), "id": self.id, "episode": self.episode, "step": self.step,
                "replaces": self.replaces, "pending": self.pending, "text": r.text, "skill": r.skill, "how": r.how,
                "similarity": round(r.similarity, 3)}


class CorrectionSession(LiveSession):
    mode = "correct"

    def __init__(self, run_dir: Path, out: Path, run_cfg: RunConfig, agent: HierarchicalAgent, env: Any,
                 resolver: SkillResolver | None, encoder: TextEncoder, cfg: SessionConfig, paused: bool = False,
                 retrain: bool = True, agent_name: str = DEFAULT_AGENT) -> None:
        ad = env_adapter(run_cfg.env)
        self.agent_name = agent_name  # the run's agent corrected (its levels are fine-tuned; "after": AGENT+adapt)
        self.kind = subgoal_kind(agent_name, run_cfg)  # its subgoal kind: "language" | "state" (no typing)
        store = EpisodeStore(out / "episodes", env, run_cfg.env, f"{agent_name}+human_corrections",
                             {"run_dir": str(run_dir.resolve()), "agent": agent_name}, subgoal_kind=self.kind)
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
        self.retrain = bool(retrain)  # False (--no-retrain): finish() writes the dataset only; every UI says so
        self.notes = CorrectionJournal(out / NOTES)  # the person's per-episode notes
        self.episode_notes: dict[int, str] = {}  # this process's latest note per episode
        self.attempt: dict[str, Any] | None = None  # the last correction typed this episode: accepted (its history
        # id) or refused (the text and why); the match box shows it, cleared when the episode changes
        self.preview: str | None = None  # what the high level would propose once the active subgoal is judged done
        self._preview_at = (-1, -1)  # (episode, step) of the last preview

    @classmethod
    def open(cls, run_dir: str | Path, out: str | Path, cfg: SessionConfig, paused: bool = False,
             text_encoder: TextEncoder | None = None, retrain: bool = True, reopen: bool = True,
             agent: str = DEFAULT_AGENT) -> CorrectionSession:
        """agent: the run's hierarchy to correct (hirl.teleop.sessions.store). reopen False: a session folder whose
        session was finished (SESSION/session_report.json says so) is refused (InputError naming the file) instead
        of continued."""
        run_dir, out = Path(run_dir), Path(out)
        if run_dir.resolve() == out.resolve():
            raise InputError(f"--out {out}: must differ from the run directory")
        run_cfg = check_run(run_dir, agent)  # read-only: a rejected run leaves --out as it was
        if not reopen:
            check_unfinished(out)
        lock = FolderLock(out, "correction session").acquire()
        try:
            prepare_session(run_dir, out, run_cfg, agent)
            ad = env_adapter(run_cfg.env)
            env = ad.make(render=True, width=cfg.image_size, height=cfg.image_size, **run_cfg.env_kwargs)
            encoder = text_encoder or make_text_encoder(run_cfg.text_encoder, TEXT_DIM)
            hierarchy = load_agent(out, adapted(agent), env, cfg=run_cfg, text_encoder=encoder, seed=run_cfg.seed)
            assert isinstance(hierarchy, HierarchicalAgent)
            resolver = None  # a high level that does not propose language: nothing can be typed
            if isinstance(hierarchy.high, LanguageHighLevel):
                resolver = SkillResolver.for_env(ad, hierarchy.high.candidates, encoder,
                                                 canonical=ad.detector_extra(env).get("canonicalize"),
                                                 threshold=cfg.match_threshold, max_chars=cfg.max_text,
                                                 margin=cfg.match_margin)
                encoder.encode(resolver.skills)  # load the encoder now, not on the first correction
            session = cls(run_dir, out, run_cfg, hierarchy, env, resolver, encoder, cfg, paused, retrain, agent)
        except BaseException:
            lock.release()
            raise
        session.folder_lock = lock
        return session

    # ------------------------------------------------------------------ UI side
    def correct(self, raw: bytes | str) -> Applied:
        """Validate and match a correction, then wait until it replaces the active subgoal at a control step and is
        journaled. InputError (with the reason) when it is not accepted; NotApplied when it was not recorded."""
        try:
            if self.resolver is None:
                raise InputError(typed_refusal(self.agent_name, self.kind))
            resolution = self.resolver.resolve(raw)
            applied: Applied = self.submit("correction", resolution)
        except InputError as exc:
            with self.lock:
                typed = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                self.attempt = {"episode": self.episode, "text": typed[:self.cfg.max_text], "refused": str(exc)}
                self.say(str(exc), ok=False)
            raise
        with self.lock:
            self.attempt = {"episode": applied.episode, "id": applied.id}
            self.say(applied.message())
        return applied

    def top_suggestion(self) -> str | None:
        """Lock held: the correction the page offers first: the subtask due now while the active subgoal differs from
        it (and no correction to it is pending), else None."""
        m = self.mismatch
        if (m is None or self.resolver is None or m["due"] not in self.resolver.skills
                or (self._pending and self._pending.text == m["due"])):
            return None
        return str(m["due"])

    def accept(self) -> Applied:
        """Send the top suggestion as a correction (the page's y key); InputError when there is none."""
        with self.lock:
            top = self.top_suggestion()
        if top is None:
            self.say("accept: no suggestion (the active subgoal matches the subtask due)", ok=False)
            raise InputError("accept: no suggestion (the active subgoal matches the subtask due)")
        return self.correct(top)

    def note(self, episode: int, text: bytes | str) -> str:
        """Attach a note to an episode of this session (the current one or a finished one); journaled (fsynced) to
        SESSION/notes.jsonl; the latest note of an episode is the one shown."""
        text = decode_text(text, self.cfg.max_text, "note")
        with self.lock:
            known = {e["episode"] for e in self.episodes} | {self.episode}
            if episode not in known:
                raise InputError(f"note: episode {episode} is not one of this session's ({min(known)}..{max(known)})")
            self.notes.append({"id": f"note-{uuid.uuid4().hex[:12]}", "kind": "note", "episode": int(episode),
                               "text": text, "time": time.time(), "session": str(self.out)})
            self.episode_notes[int(episode)] = text
            return self.say(f"note on episode {episode}: {text!r}")

    def undo(self, record_id: str) -> str:
        """Remove a correction or takeover of this session from training (an undo record is journaled, fsynced); a
        pending correction is also withdrawn. record_id "last": the newest live one. InputError when there is no such
        live record."""
        with self.lock:
            if self.finishing or self.phase in ("finishing", "finished"):
                raise InputError("undo: the session is finished (its data is already written)")
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
            return self.say(f"undone: {what}; it will not be trained on")

    def takeover(self, on: bool | None) -> str:
        """Hand the controls to the keys (on) or back to the low level; applied at a control step (journaled when the
        segment ends). The segment is labelled with the active skill. The answer names no keys: each UI adds its own
        from its key map. on None: toggle, decided at the control step (keys pressed fast never act on a stale
        state)."""
        try:
            return self.say(str(self.submit("takeover", None if on is None else bool(on))))
        except InputError as exc:
            self.say(str(exc), ok=False)
            raise

    def keys(self, held: list[str]) -> str:
        """The keys held now (they drive only during a takeover)."""
        return self.driver.set(held)

    def live_history(self, kind: str | None = None) -> list[dict[str, Any]]:
        """This process's corrections / takeovers that count (not replaced, not undone)."""
        return [h for h in self.history if h["status"] == "active" and (kind is None or h["kind"] == kind)]

    def extra_status(self) -> dict[str, Any]:
        top = self.top_suggestion()
        can = self.actions()
        live = self.live()
        typing = self.resolver is not None
        can.update(correct=live and typing, accept=live and top is not None, takeover=live and (
            self.agent.subgoal is not None or self._pending is not None), undo=bool(self.live_history()) and can["finish"],
            note=True)
        episodes = [{**e, "note": self.episode_notes.get(e["episode"])} for e in self.episodes]
        return {"skills": self.resolver.skills if self.resolver else [], "agent": self.agent_name,
                "typing": typing, "corrections": len(self.live_history("correction")),
                "takeovers": len(self.live_history("takeover")), "takeover_active": self.driven.active,
                "takeover_seconds": round(self._takeover_seconds(), 2), "history": [shown(h) for h in self.history],
                "pending": None if self._pending is None else self._pending.text, **self.driver.status(),
                "threshold": self.resolver.threshold if self.resolver else self.cfg.match_threshold,
                "margin": self.resolver.margin if self.resolver else self.cfg.match_margin, "actions": can,
                "episodes": episodes, "note": self.episode_notes.get(self.episode), "match": self._match(),
                "suggestion": top, "preview": self.preview, "retrain": self.retrain}

    def _match(self) -> dict[str, Any] | None:
        """Lock held: the match box: the last correction typed in this episode and its state now (from the history,
        so an undo, a replacement or the step that executes it shows at once), or the refusal."""
        a = self.attempt
        if a is None or a["episode"] != self.episode:
            return None
        if "refused" in a:
            return dict(a)
        h = next((h for h in self.history if h["id"] == a["id"]), None)
        return None if h is None else {**shown(h), "episode": a["episode"]}

    def _takeover_seconds(self) -> float:
        """Simulated seconds driven in the live takeovers, the one in progress included (the one clock of takeovers:
        the history, the counts and the report all use it)."""
        seg = self.driven.segment
        running = len(seg.actions) * self.dt if seg is not None else 0.0
        return sum(h["seconds"] for h in self.live_history("takeover")) + running

    # ------------------------------------------------------------------ simulation thread
    def on_control_step(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        if self.episode != self.corrections.episode:
            self.corrections.start_episode(self.episode)
        if (self.episode, t) != self._seen:
            self._seen = (self.episode, t)
            self.corrections.on_step(t, self.agent, obs, info)
        g = self.hierarchy.subgoal
        at = (self.episode, t // PREVIEW_EVERY)
        if g is not None and self.agent.command is not None and (at != self._preview_at or self.preview is None):
            self._preview_at = at
            peek = getattr(self.hierarchy.high, "peek", None)
            self.preview = peek(obs, self.agent.command, done=g.text) if peek is not None else None

    def auto_pause_steps(self) -> int:
        return self.cfg.auto_pause_steps

    def _kind(self, r: Resolution, info: Mapping[str, Any]) -> str:
        """A typed correction's journal kind: "redo" when it asks again for the subtask due and the world undid that
        subtask (the scripted corrector's rule: its redo rows, hirl.learn.corrections), else "human"."""
        canonical = self.resolver.canonical if self.resolver is not None else None
        skill = (canonical(r.skill) if canonical is not None else None) or r.skill
        return REDO_KIND if redo_due(info) and skill == info.get("current_subtask") else "human"

    def apply_request(self, kind: str, payload: Any, t: int, obs: Observation, info: Mapping[str, Any]) -> Any:
        if kind == "takeover":
            return self._apply_takeover(not self.driven.active if payload is None else bool(payload))
        if kind != "correction":
            return super().apply_request(kind, payload, t, obs, info)
        r: Resolution = payload
        assert self.agent.command is not None
        last = next((h for h in reversed(self.history) if h["kind"] == "correction"), None)
        same = (last is not None and (last["episode"], last["step"]) == (self.episode, t) and last["status"] == "active"
                and last.get("pending"))
        c = self.corrections.correct(t, self.hierarchy, obs, r, "human", self.agent.command.text,
                                     kind=self._kind(r, info), replaces=last["id"] if same and last else None,
                                     apply=False)
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
            label = g.text if g.kind == "language" else str(self.snapshot.get("current") or g.text)
            self.driver.release()
            self.driven.start_takeover(lambda obs, _g: self.driver.action(obs), label, source="human")
            return f"you drive now, performing {label!r}"
        self._close_segment(self.driven.stop_takeover)
        return "the low level drives again"

    def _close_segment(self, close: Any, *args: Any) -> None:
        """Close the open takeover segment (journaled) and list it in the history."""
        seg = self.driven.segment
        record = close(*args)
        if record is not None and seg is not None:
            self.history.append({"id": record["id"], "kind": "takeover", "episode": seg.episode, "step": seg.start,
                                 "end": record["end"], "skill": seg.skill, "status": "active",
                                 "seconds": round((record["end"] - record["start"]) * self.dt, 2)})

    def before_act(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        if self._pending is not None:  # the pending correction acts now
            self.hierarchy.override(self._pending)
            self._pending = None
            for h in self.history:
                h["pending"] = False

    def before_episode(self) -> None:
        with self.lock:
            self.driven.episode = self.episode
            self._pending, self.attempt, self.preview = None, None, None
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
                "takeover_seconds": round(self._takeover_seconds(), 2),  # simulated seconds driven
                "attention_seconds": round(self.attention_seconds, 1),  # wall-clock: your time from the start
                "notes": len(self.episode_notes),
                "minutes": round((time.time() - self.opened) / 60, 2), "dataset": str(self.out / "episodes")}

    def _report(self, **update: Any) -> dict[str, Any]:
        with self.lock:
            self.report = {**(self.report or {}), **update}
            return self.report

    def finish(self, retrain: bool | None = None, eval_episodes: int | None = None,
               why_not: str = "--no-retrain") -> dict[str, Any]:
        """Stop the episodes, then (retrain; default self.retrain) fine-tune the high level on every correction of
        this session directory and the low level on every takeover, and evaluate before vs after on the same chains.
        The report is also kept in self.report (the page shows it, stage by stage); its "retrained" says whether
        anything was trained, and, when not, its "note" says why (why_not names the reason, e.g. an interrupt)."""
        retrain = self.retrain if retrain is None else bool(retrain)
        self.retrain = retrain
        self.control("finish")
        self.wait_finished()
        with self.lock:
            self.phase = "finishing"
        report: dict[str, Any] = self._report(stage="writing the report", summary=self.summary(), retrained=False)
        records, drives = self.journal.read(), self.takeover_journal.read()
        if not retrain:
            report = self._report(note=f"{why_not}: the dataset was written; nothing was fine-tuned or evaluated "
                                       f"({len(records)} corrections and {len(drives)} takeovers are kept for a later "
                                       "session)")
        elif records or drives:
            from hirl.learn.run import load_tables
            from hirl.teleop.sessions.loop import evaluate
            from hirl.teleop.sessions.retrain import finetune_levels

            train, _, _ = load_tables(self.run_cfg, Path(self.run_cfg.dataset))
            stage = f"session{int(time.time())}"
            fits = finetune_levels(self.out, self.run_cfg, self.agent_name, records, drives,
                                   self.store.dataset(tuple(self.run_cfg.obs_keys)), train, train, self.encoder,
                                   self.cfg.finetune, (stage, stage + "-low"), say=lambda text: self._report(stage=text))
            report = self._report(finetune=fits, retrained=True)
            n = self.cfg.eval_episodes if eval_episodes is None else eval_episodes
            if n:
                self._report(stage=f"evaluating before and after on {n} chains")
                before = evaluate(self.out, self.run_cfg, self.agent_name, n, self.out / "eval" / "before")
                after = evaluate(self.out, self.run_cfg, adapted(self.agent_name), n, self.out / "eval" / "after")
                minutes = max(self.attention_seconds / 60.0, 1e-9)
                report = self._report(before=before, after=after, effort={
                    "human_minutes": round(self.attention_seconds / 60.0, 2),
                    "success_gain": round(after["success_rate"] - before["success_rate"], 4),
                    "success_gain_per_human_minute": round((after["success_rate"] - before["success_rate"]) / minutes, 4)})
        else:
            report = self._report(note="no corrections or takeovers: nothing was retrained")
        report = self._report(stage="done")
        with self.lock:
            self.phase = "finished"
        return {k: v for k, v in report.items() if k != "stage"}
