"""LiveSession: episodes run through run_episode in a background thread, steered by a UI (web or terminal).

The simulation thread owns the env (MuJoCo's renderer is bound to the thread that made it): it renders a camera
frame only when a UI asked for one and at most `max_fps` times a second, never every 50 Hz step.

Acknowledged means durable: a UI request that records data (a correction, a label) is queued with submit(), which
waits until the simulation thread has applied it in run_episode's on_step hook (before the next control step's
action, at the state the record describes) and journaled it with fsync; only then does submit() return (and the
server answer 200). A request that cannot be applied in time (the episode ended, the session stopped, a journal
write failed) raises NotApplied and is neither recorded nor applied. A verdict (success / failure / next) waits
until the episode is written.

Built for long sessions: a session opened paused is "ready" (nothing runs) until the person starts it (start, resume
or one step); speed is changed while running (SPEEDS, slow motion included); every ended episode says why it ended
(end_reason); an ended episode is written at its verdict (success / failure) or at "next", and the next episode
starts only at "next" (a verdict never starts one, so no key press can skip a whole episode); the seconds of
attention (wall-clock time from the start to the finish) are counted for the effort report. Camera frames are
rendered per view at the size the page displays them (hirl.teleop.sessions.views). Subclasses supply the agent and what a
request means (apply_request)."""
from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.data import schema
from hirl.data.recorder import EpisodeRecorder
from hirl.errors import InputError
from hirl.hierarchy.rollout import run_episode
from hirl.hierarchy.agent import HierarchicalAgent
from hirl.integrations import EnvAdapter
from hirl.teleop.sessions.config import SessionConfig
from hirl.runs.rundir import FolderLock
from hirl.teleop.sessions.store import EpisodeStore
from hirl.teleop.sessions.cues import fold_trace, judge
from hirl.teleop.sessions.narrate import SPEEDS, end_reason, next_speed, scene
from hirl.teleop.sessions.frames import Frames
from hirl.teleop.sessions.views import VIEWS
from hirl.types import Observation

CONTROLS = ("start", "pause", "resume", "step", "slower", "faster", "success", "failure", "next", "finish")  # UI asks
__all__ = ["CONTROLS", "SPEEDS", "LiveSession", "NotApplied", "end_reason", "scene"]
ACK_TIMEOUT = 5.0  # seconds a UI request waits for the simulation thread to apply and journal it (or 3 control steps)
SAVE_TIMEOUT = 10.0  # seconds a verdict waits for its episode to be written


class NotApplied(InputError):
    """A UI request that was neither applied nor recorded; status: the HTTP status that says why (409 the episode is
    not running, 503 the session could not apply or journal it in time)."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Request:
    """A UI request waiting for the simulation thread (under LiveSession.lock)."""

    kind: str
    payload: Any
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class EndableEnv(gym.Wrapper):
    """Truncates the episode at the next step once end() was called (a person ends it early)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.ending = False

    def reset(self, **kwargs: Any) -> Any:
        self.ending = False
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated or self.ending, info


class LiveSession:
    """Base of CorrectionSession and TeleopSession. status() and frame() are safe from any thread."""

    mode = "live"

    def __init__(self, env: gym.Env, adapter: EnvAdapter, agent: Any, store: EpisodeStore,
                 cfg: SessionConfig, paused: bool = False) -> None:
        self.env, self.adapter, self.store, self.cfg = EndableEnv(env), adapter, store, cfg
        self.agent: Any = agent  # what run_episode drives (a HierarchicalAgent or a wrapper forwarding to one)
        self.recorder = EpisodeRecorder(env)
        self.lock = threading.Condition()
        self.paused, self.steps_allowed, self.finishing = paused, 0, False
        self.started = not paused  # a session opened paused is "ready" until its first start / resume / step
        self.speed = float(cfg.speed)
        self.verdict: str | None = None  # the person's verdict on the current episode: "success" | "failure"
        self.phase = "starting"  # ready | running | paused | ended | finishing | finished
        self.message = ""  # the last event's outcome, in words (every UI shows this one line)
        self.message_ok = True  # False when the last event was a refusal or an error
        self.message_seq = 0  # bumped at every say(): a UI shows a new message once
        self.episode = store.next_index()
        self.episodes: list[dict[str, Any]] = []
        self.snapshot: dict[str, Any] = {}
        self.end_reason: str | None = None  # why the current (ended) episode ended
        self.saved = -1  # index of the last episode written
        self.attention_seconds = 0.0  # wall-clock seconds from the first start on (the person's time)
        self.report: dict[str, Any] | None = None  # the session's final report, once made (shown by the page)
        self._tick_time: float | None = None
        self._ended_by: str | None = None
        self.frames = Frames(self.env, self.lock, cfg)  # the camera views a UI asks for (hirl.teleop.sessions.frames)
        self._deadline = 0.0
        self._thread = threading.Thread(target=self._run, name=f"hirl-{self.mode}-sim", daemon=True)
        self.error: str | None = None
        self._next = False
        self._requests: list[Request] = []
        self.folder_lock: FolderLock | None = None  # the exclusive lock on the session folder, released by close()
        self.canonical = adapter.detector_extra(env).get("canonicalize")  # text -> canonical instruction (or None)
        self.timeline: list[dict[str, Any]] = []  # this episode's subgoal segments, oldest first (see _snapshot)
        self._trace_seen = 0  # trace entries already folded into the timeline
        self.mismatch: dict[str, Any] | None = None  # the active subgoal vs the subtask due, while they differ
        self._auto_paused: tuple[int, int] | None = None  # (episode, step the mismatch began) already paused on

    # ------------------------------------------------------------------ UI side (any thread)
    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Release the session folder (after the last write; the OS releases it on exit anyway)."""
        if self.folder_lock is not None:
            self.folder_lock.release()

    def say(self, text: str, ok: bool = True) -> str:
        """Set the message every UI shows (lock held or not: the Condition is reentrant); returns text."""
        with self.lock:
            self.message, self.message_ok, self.message_seq = text, bool(ok), self.message_seq + 1
        return text

    @property
    def dt(self) -> float:
        """Simulated seconds per control step."""
        return float(getattr(self.env.unwrapped, "dt", 0.02))

    def live(self) -> bool:
        """Lock held: an episode is running, paused or ready (a control step can still apply a request)."""
        return (self.phase in ("starting", "ready", "running", "paused", "waiting") and not self.finishing
                and not self.env.ending and self._thread.is_alive())

    def submit(self, kind: str, payload: Any, timeout: float | None = None) -> Any:
        """Queue a request for the simulation thread and wait until it is applied and journaled; returns what
        apply_request returned. InputError (refused: bad input, no episode running) or NotApplied (not in time)."""
        req = Request(kind, payload)
        if timeout is None:  # slow motion: a control step may take longer than ACK_TIMEOUT
            timeout = max(ACK_TIMEOUT, 3.0 * float(getattr(self.env.unwrapped, "dt", 0.02)) / self.cfg.speed)
        with self.lock:
            if self.phase in ("ended", "finished") or self.finishing or self.env.ending:
                raise NotApplied(f"{kind}: no episode is running (start the next episode first)")
            self._requests.append(req)
            self.lock.notify_all()
            end = time.monotonic() + timeout
            while not req.done and time.monotonic() < end:
                self.lock.wait(min(0.05, max(end - time.monotonic(), 0.001)))
            if not req.done:
                self._requests.remove(req)
                raise NotApplied(f"{kind}: the session did not reach a control step within {timeout:g} s; not recorded",
                                 503)
        if req.error is not None:
            raise req.error
        return req.result

    def control(self, action: str) -> str:
        """start | pause | resume | step | slower | faster | success | failure | next | finish -> a short message.
        success / failure end the running episode with that verdict (or give it to the ended one) and return once it
        is written (or after SAVE_TIMEOUT, saying so); the next episode starts only at "next"."""
        if action not in CONTROLS:
            raise ValueError(f"unknown control {action!r} (known: {', '.join(CONTROLS)})")
        with self.lock:
            why = self._refusal(action)
            if why is not None:
                self.say(f"{action}: {why}", ok=False)
                raise NotApplied(f"{action}: {why}")
            index = self.episode
            early = self._set_control(action, index)
            self.lock.notify_all()
            if early is not None:
                return self.say(early)
            if action in ("success", "failure", "next") and self._thread.is_alive():
                return self.say(self._await_saved(action, index))
        return self.say({"step": "stepped one control step", "finish": "finishing the session", "start": "started",
                         "pause": "paused", "resume": "running"}.get(action, action))

    def _refusal(self, action: str) -> str | None:
        """Lock held: why `action` cannot work now (None: it can). The same rule enables the UIs' buttons."""
        if action == "finish":
            return None  # idempotent: finishing twice is finishing
        if self.finishing or self.phase in ("finishing", "finished"):
            return "the session is finished"
        if action in ("start", "pause", "resume", "step") and self.phase == "ended":
            return f"episode {self.episode} has ended; press n for the next episode"
        if action == "start" and self.started:
            return "the session has started already"
        if action in ("success", "failure") and self.saved >= self.episode:
            return f"episode {self.episode} is already saved; press n for the next episode"
        return None

    def actions(self) -> dict[str, bool]:
        """Lock held: which controls can work now (the UIs enable exactly these)."""
        can = {a: self._refusal(a) is None for a in CONTROLS}
        can["pause"] = can["pause"] and not self.paused
        can["resume"] = can["resume"] and self.paused and self.started
        can["step"] = can["step"] and self.paused
        can["slower"] = can["slower"] and self.speed > SPEEDS[0]
        can["faster"] = can["faster"] and self.speed < SPEEDS[-1]
        can["finish"] = not self.finishing and self.phase not in ("finishing", "finished")
        return can

    def _set_control(self, action: str, index: int) -> str | None:
        """Apply a control (lock held); a message when it is answered at once."""
        if action in ("start", "resume"):
            self.paused, self.steps_allowed, self.started = False, 0, True
        elif action == "pause":
            self.paused = True
        elif action == "step":
            self.paused, self.steps_allowed, self.started = True, self.steps_allowed + 1, True
        elif action in ("slower", "faster"):
            self.speed = next_speed(self.speed, action == "faster")
            return f"speed {self.speed:g}x"
        elif action in ("success", "failure"):
            self.verdict = action
            self._end(action)
        elif action == "next":
            self._end("next")
            self._next = self.started = True
        else:
            self._end("finish")
            self.finishing = True
        return None

    def _end(self, by: str) -> None:
        """End the running episode (lock held); `by` says who / why (for end_reason)."""
        if self.phase != "ended" and not self.env.ending:
            self._ended_by = by
        self.env.ending = True

    def _await_saved(self, action: str, index: int) -> str:
        end = time.monotonic() + float(SAVE_TIMEOUT)
        while self.saved < index and self.phase != "finished" and time.monotonic() < end:
            self.lock.wait(0.05)
        if self.saved < index:
            if self.phase == "finished":
                raise NotApplied(f"{action}: episode {index} was not written ({self.error or 'session stopped'})", 503)
            return f"{action}: episode {index} is ending (not written yet)"
        return f"{action}: episode {index} saved" + ("; next episode started" if action == "next" else
                                                    "; press next for the next episode")

    def frame(self, timeout: float = 1.0, view: str = "front", width: int | None = None,
              height: int | None = None) -> tuple[bytes | None, int]:
        """The latest frame of a view as JPEG and its id, for width x height (default image_size); see Frames.get."""
        if view not in VIEWS:
            raise InputError(f"view {view!r}: not one of {', '.join(VIEWS)}")
        w, h = int(width or self.cfg.image_size), int(height or self.cfg.image_size)
        return self.frames.get(view, w, h, timeout, lambda: self.phase == "finished")

    def status(self) -> dict[str, Any]:
        with self.lock:
            s = dict(self.snapshot)
            s.update(mode=self.mode, phase=self.phase, paused=self.paused, started=self.started, speed=self.speed,
                     episode=self.episode, message=self.message, verdict=self.verdict, episodes=list(self.episodes),
                     error=self.error, frame_id=self.frames.frame_id, end_reason=self.end_reason,
                     saved=self.saved >= self.episode, attention_seconds=round(self.attention_seconds, 1),
                     views=list(VIEWS), report=self.report, message_ok=self.message_ok, message_seq=self.message_seq,
                     mismatch=self.mismatch, timeline=self.timeline[::-1], actions=self.actions(),
                     render_scale=self.frames.scale)
            s.update(self.extra_status())
            return s

    def wait_finished(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ------------------------------------------------------------------ subclass hooks
    def extra_status(self) -> dict[str, Any]:
        return {}

    def on_control_step(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        """Per-step bookkeeping before requests are applied (called with the lock held, once per control step t)."""

    def apply_request(self, kind: str, payload: Any, t: int, obs: Observation, info: Mapping[str, Any]) -> Any:
        """Apply and journal one submitted request at step t (lock held, before the agent acts); returns the
        submitter's result. Raise (InputError, OSError) to refuse it: nothing may then be recorded or applied."""
        raise InputError(f"{kind}: not accepted by a {type(self).__name__}")

    def episode_attrs(self) -> dict[str, Any]:
        return {}

    def episode_counts(self) -> dict[str, Any]:
        """The current episode's intervention counts for the episode table (the same counts as the summary)."""
        return {"interventions": sum(1 for e in getattr(self.agent, "trace", ()) if e.reason == "override")}

    def hold(self) -> bool:
        """Lock held: True keeps the simulation waiting at this step even when not paused (no step runs)."""
        return False

    def before_act(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        """Lock held, when the person lets step t run (after any pause), just before the agent acts."""

    def before_episode(self) -> None:
        """Simulation thread, before each episode's reset."""

    def finish_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """The episode's journal record just before it is written (subclasses mark takeover steps)."""
        return record

    def on_finish(self) -> None:
        """After the last episode (simulation thread), e.g. assemble the dataset."""

    # ------------------------------------------------------------------ simulation thread
    def _service_frame(self) -> None:
        """Simulation thread, lock held: count attention, render the views a UI asked for."""
        self._tick()
        self.frames.service()

    def _tick(self) -> None:
        """Count attention time (lock held): wall-clock time since the first start, until the session finishes."""
        now = time.monotonic()
        if self.started and self._tick_time is not None:
            self.attention_seconds += now - self._tick_time
        self._tick_time = now

    def _on_step(self, t: int, agent: HierarchicalAgent, obs: Observation, info: Mapping[str, Any]) -> None:
        self.recorder.on_step(t, agent, obs, info)
        with self.lock:
            self.on_control_step(t, obs, info)
            self._serve(t, obs, info)
            self._maybe_auto_pause(t)
            while ((self.paused and self.steps_allowed == 0) or self.hold()) and not self.env.ending and not self.finishing:
                self.phase = "paused" if self.started else "ready"
                if self.started and self.hold():
                    self.phase = "waiting"  # e.g. teleop: for the first label of the episode
                self._snapshot(t, info)
                self._service_frame()
                self.lock.wait(timeout=0.05)
                self._serve(t, obs, info)
            if self.steps_allowed:
                self.steps_allowed -= 1
            if self.finishing:
                self.env.ending = True
            self.before_act(t, obs, info)
            self.phase = "running"
            self._service_frame()
        self._pace()

    def auto_pause_steps(self) -> int:
        """Steps a mismatch must last before the session pauses on it (0: never; correction sessions override)."""
        return 0

    def _maybe_auto_pause(self, t: int) -> None:
        """Lock held: pause once per mismatch that has lasted auto_pause_steps (the person decides what to do)."""
        m, n = self.mismatch, self.auto_pause_steps()
        if not n or m is None or self.paused or self.env.ending or t - int(m["since"]) < n:
            return
        key = (self.episode, int(m["since"]))
        if self._auto_paused == key:
            return
        self._auto_paused, self.paused = key, True
        self.say(f"paused: the active subgoal {m['active']!r} is {m['kind']}; due now: {m['due']!r} "
                 "(correct it, or press space to go on)", ok=False)

    def _serve(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        """Apply the queued requests at step t (lock held) and wake their submitters."""
        if not self._requests:
            return
        while self._requests:
            req = self._requests.pop(0)
            try:
                req.result = self.apply_request(req.kind, req.payload, t, obs, info)
            except InputError as exc:
                req.error = exc
            except OSError as exc:  # the journal could not be written: not recorded, not applied
                req.error = NotApplied(f"{req.kind}: could not be journaled ({exc.strerror or exc}); not recorded", 503)
            except Exception as exc:  # a bug: the submitter gets a 500, the session goes on
                req.error = exc
            req.done = True
        self.lock.notify_all()

    def _fail_requests(self, why: str) -> None:
        """Refuse every queued request (lock held): the episode ended or the session stopped before it applied."""
        for req in self._requests:
            req.error, req.done = NotApplied(f"{req.kind}: {why}; not recorded"), True
        self._requests.clear()
        self.lock.notify_all()

    def _on_transition(self, t: int, agent: HierarchicalAgent, obs: Observation, action: np.ndarray, reward: float,
                       next_obs: Observation, terminated: bool, truncated: bool, info: Mapping[str, Any]) -> None:
        self.recorder.on_transition(t, agent, obs, action, reward, next_obs, terminated, truncated, info)
        with self.lock:
            self._snapshot(t + 1, info)
            if terminated or truncated:
                self.mismatch = None  # nothing is due in an episode that is over
                self.end_reason = end_reason(info, terminated, truncated and not self.env.ending,
                                             self._ended_by if self.env.ending else None, t + 1)

    def _snapshot(self, t: int, info: Mapping[str, Any]) -> None:
        """Lock held: the state every UI renders, from the latest step's info (step t is the next to act)."""
        g = self.agent.subgoal
        due = info.get("current_subtask")
        if len(self.agent.trace) < self._trace_seen:  # a new episode
            self.timeline, self._trace_seen = [], 0
        self._trace_seen = fold_trace(self.timeline, self.agent.trace, self._trace_seen, info)
        seg = self.timeline[-1] if self.timeline else None
        said = g.text if g is not None and g.kind == "language" else None  # a goal state is not judged by its text
        self.mismatch = judge(self.mismatch, t, said, info, self.canonical)
        if seg is not None and self.mismatch is not None and self.mismatch["steps"] >= 1:  # not the one step between
            seg["mismatch"] = self.mismatch["kind"]  # a subtask's completion and the replan that follows it
        budget = getattr(self.env.unwrapped, "subtask_budget", None)
        used = info.get("steps_in_subtask")
        self.snapshot = {
            "step": int(t), "command": self.agent.command.text if self.agent.command else "",
            "task": list(info.get("task", [])), "completed": list(info.get("completed_subtasks", [])),
            "current": due,
            "subgoal": None if g is None or seg is None else {
                "text": g.text, "source": g.source, "reason": seg["reason"], "why": seg["why"],
                "since": seg["step"], "age_steps": int(t) - int(seg["step"])},
            "budget": None if due is None or not budget or used is None else {
                "used": int(used), "total": int(budget), "seconds_left": round((int(budget) - int(used)) * self.dt, 2)},
            "queries": self.agent.num_queries,
            "scene": scene(getattr(self.recorder, "obs", None)),
        }

    def _pace(self) -> None:
        dt = float(getattr(self.env.unwrapped, "dt", 0.02)) / self.speed
        now = time.monotonic()
        self._deadline = max(self._deadline + dt, now) if self._deadline else now + dt
        if self._deadline > now:
            time.sleep(self._deadline - now)

    def _run(self) -> None:
        try:
            while not self.finishing:
                self._episode()
        except Exception as exc:  # shown in the page / terminal; the server stays up
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                self.on_finish()
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
            self.frames.close()
            self.env.close()  # frees the renderer in the thread whose GL context it is
            with self.lock:
                self.phase = "finished"
                self.say("the session is finished" if self.error is None else f"the session stopped: {self.error}",
                         ok=self.error is None)  # not "finishing the session" under a "finished" badge
                self._fail_requests("the session stopped before it was applied")
                self.lock.notify_all()

    def _episode(self) -> None:
        seed = self.cfg.seed + self.episode
        options = self.adapter.reset_options(self.cfg.chain_length)
        with self.lock:
            self.verdict, self._next, self._ended_by, self.end_reason = None, False, None, None
            self.timeline, self._trace_seen, self.mismatch = [], 0, None
        self._deadline = 0.0
        self.before_episode()
        result = run_episode(self.env, self.agent, self.adapter.command, seed=seed, options=options,
                             on_step=self._on_step, on_transition=self._on_transition)
        with self.lock:  # wait for the person's verdict or "next" (unless the episode was already ended by one)
            self.phase = "ended"
            self.mismatch = None
            self.say(f"episode {self.episode} ended: {self.end_reason or 'stopped'}", ok=bool(result.success))
            self._fail_requests("the episode ended before it was applied")
            while not (self.verdict or self._next or self.finishing):
                self._service_frame()
                self.lock.wait(timeout=0.05)
            label = self.verdict
        attrs = schema.episode_attrs(result, human_label=label or "", end_reason=self.end_reason or "",
                                     **self.episode_attrs())
        if result.steps:
            self.store.write(self.finish_record(self.recorder.finish(index=self.episode, seed=seed, options=options,
                                                                     attrs=attrs)))
        with self.lock:
            self.episodes.append({"episode": self.episode, "env_success": bool(result.success), "human_label": label,
                                  "steps": result.steps, "chain_length": len(result.completed),
                                  "end_reason": self.end_reason, **self.episode_counts()})
            self.saved = self.episode
            self.lock.notify_all()
            while not (self._next or self.finishing):  # written; the next episode starts when the person says so
                self._service_frame()
                self.lock.wait(timeout=0.05)
            if not self.finishing:  # finishing: the page keeps showing the last episode
                self.episode += 1
            self.lock.notify_all()

