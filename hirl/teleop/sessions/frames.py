"""The camera frames of a live session: rendered by the simulation thread (MuJoCo's renderer is bound to the thread
that made it), asked for by the UI threads.

    frames = Frames(env, lock, cfg)          # lock: the session's Condition
    jpeg, frame_id = frames.get("front", 624, 624, timeout=1.0, stopped=lambda: False)   # a UI thread
    frames.service()                         # the simulation thread, lock held, once per control step (and while
                                             # it waits: paused, ended)

A view asked for is watched for WATCH_SECONDS: the simulation thread renders it again whenever its frame is older
than 1 / max_fps, so an ask is answered at once with the newest frame; it waits only for a first frame, a new size,
or a frame older than two periods. Nothing is rendered for a view nobody watches. The render scale adapts: when
rendering every watched view at its displayed size at max_fps would take more than RENDER_SHARE of a second, the
views are rendered smaller (one of SCALES; the page scales them up), and larger again when there is time."""
from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.teleop.sessions.config import SessionConfig
from hirl.teleop.sessions.views import Views

WATCH_SECONDS = 1.0  # a view is kept fresh this long after a UI last asked for it
SCALES = (1.0, 0.75, 0.5, 0.35, 0.25)  # render scales tried, largest first
SCALE_SECONDS = 2.0  # the render scale changes at most this often
RENDER_SHARE = 0.5  # of the simulation thread's time that rendering may take, at max_fps for every view
FIRST_FRAME_TIMEOUT = 5.0  # seconds the first frame of a view may take (the renderer starts; a loaded machine)


def encode_jpeg(frame: np.ndarray, quality: int = 80) -> bytes:
    """(H, W, 3) uint8 -> JPEG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


class Frames:
    """Per view: the newest JPEG, the size asked, who waits; see the module docstring. Every attribute is guarded by
    the session's lock."""

    def __init__(self, env: gym.Env, lock: threading.Condition, cfg: SessionConfig) -> None:
        self.env, self.lock, self.cfg = env, lock, cfg
        self.views: Views | None = None  # made by the simulation thread
        self.frames: dict[str, tuple[bytes, float, int]] = {}  # view -> (jpeg, time, frame id)
        self.sizes: dict[str, tuple[int, int]] = {}  # view -> (width, height) of its newest frame as asked
        self.wanted: dict[str, tuple[int, int]] = {}  # view -> (width, height) a UI waits for
        self.watched: dict[str, tuple[int, int, float]] = {}  # view -> (width, height, when last asked for)
        self.scale = 1.0  # rendered side / displayed side (one of SCALES)
        self.pixel_seconds: float | None = None  # measured render + encode seconds per pixel (running average)
        self.frame_id = 0
        self._scale_changed = 0.0  # when scale last changed

    def get(self, view: str, w: int, h: int, timeout: float, stopped: Callable[[], bool]) -> tuple[bytes | None, int]:
        """(JPEG of the view's newest frame, its id) for a w x h display; (None, id) when none came in time."""
        with self.lock:
            now = time.monotonic()
            self.watched[view] = (w, h, now)
            have = self.frames.get(view)
            if have is None or now - have[1] >= 2.0 / self.cfg.max_fps or self.sizes.get(view) != (w, h):
                self.wanted[view] = (w, h)
                self.lock.notify_all()
                end = now + (timeout if have is not None else max(timeout, FIRST_FRAME_TIMEOUT))
                while view in self.wanted and not stopped() and time.monotonic() < end:
                    self.lock.wait(timeout=0.05)
                have = self.frames.get(view, have)
            return (have[0], have[2]) if have else (None, self.frame_id)

    def service(self) -> None:
        """Simulation thread, lock held (released while rendering): render the views waited for and the stale
        watched ones."""
        for view, (w, h) in list(self.wanted.items()):
            self._render(view, w, h)
        now = time.monotonic()
        for view, (w, h, asked) in list(self.watched.items()):
            have = self.frames.get(view)
            if now - asked < WATCH_SECONDS and (have is None or now - have[1] >= 1.0 / self.cfg.max_fps
                                                or self.sizes.get(view) != (w, h)):
                self._render(view, w, h)

    def _render(self, view: str, w: int, h: int) -> None:
        if self.views is None:
            self.views = Views(self.env)
        scale = self.scale
        # render and encode without the lock: only this thread touches the env, and the page's state polls, undos
        # and corrections must not queue behind a frame (a large view takes tens of ms, more on a loaded machine)
        self.lock.release()
        try:
            t0 = time.perf_counter()
            frame: Any = self.views.render(view, max(1, round(w * scale)), max(1, round(h * scale)))
            jpeg = encode_jpeg(frame) if isinstance(frame, np.ndarray) else None  # frame: (H, W, 3) uint8
            took = time.perf_counter() - t0
        finally:
            self.lock.acquire()
        if jpeg is not None:
            self.frame_id += 1
            self.frames[view] = (jpeg, time.monotonic(), self.frame_id)
            self.sizes[view] = (w, h)
            self._adapt(took / max(frame.shape[0] * frame.shape[1], 1))
        if self.wanted.get(view) == (w, h):  # not asked again at another size while rendering
            del self.wanted[view]
        self.lock.notify_all()

    def _adapt(self, pixel_seconds: float) -> None:
        """Lock held: the scale that fits max_fps frames of every view shown into RENDER_SHARE of a second; it moves one
        step of SCALES at most every SCALE_SECONDS (each size needs its own renderer)."""
        p = pixel_seconds if self.pixel_seconds is None else 0.8 * self.pixel_seconds + 0.2 * pixel_seconds
        self.pixel_seconds = p
        now = time.monotonic()
        if now - self._scale_changed < SCALE_SECONDS:
            return
        pixels = sum(w * h for w, h in self.sizes.values())  # displayed pixels of all views, per round of frames
        fits = (RENDER_SHARE / (self.cfg.max_fps * p * max(pixels, 1))) ** 0.5
        i = SCALES.index(self.scale)
        if fits < 0.9 * self.scale and i + 1 < len(SCALES):
            self.scale, self._scale_changed = SCALES[i + 1], now
        elif i > 0 and fits > 1.1 * SCALES[i - 1]:
            self.scale, self._scale_changed = SCALES[i - 1], now

    def close(self) -> None:
        """Simulation thread: free the renderers."""
        if self.views is not None:
            self.views.close()
