"""Held keys (from the page, a gamepad mapped to keys by the page, or terminal letters) -> the 4-d Tabletop action.

Keys are aligned with the page's camera views (hirl.teleop.sessions.views: on the screen, up is +x, away from the robot's
base, and right is -y): ArrowUp moves the gripper up the screen, ArrowRight to the right; r / v raise / lower it;
g toggles the gripper. A key set older than key_timeout seconds counts as released (a lost connection stops the
robot). The gripper is kept inside VISIBLE_LO..visible_hi(z), the part of the workspace the front view shows: a key
that would push it out is ignored on that axis (holding a key never drives the gripper out of view)."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from hirl.errors import InputError

# key -> (action index, sign): screen up = +x, screen right = -y (the front camera's axes), r / v = +z / -z
KEYS: dict[str, tuple[int, float]] = {
    "ArrowUp": (0, 1.0), "ArrowDown": (0, -1.0), "ArrowLeft": (1, 1.0), "ArrowRight": (1, -1.0),
    "r": (2, 1.0), "v": (2, -1.0),
}
GRIP_KEY = "g"  # toggles closing / opening the gripper
VISIBLE_LO = np.array([0.15, -0.40, 0.015])  # gripper position bounds the teleop keeps to (m): in the front view
VISIBLE_HI = np.array([0.86, 0.40, 0.30])
LEAD = 0.05  # m: the env's position target may lead the gripper by this much, so the bound is checked that far ahead
FAR_SLOPE = 0.6  # m of far (+x) reach lost per m of height above 5 cm: a raised gripper leaves the front view sooner
HELP = "arrows: move on the screen's axes; r / v: raise / lower; g: open / close the gripper"


class KeyboardDriver:
    """Thread-safe: set() from the UI threads, action() from the simulation thread.

    speed        action magnitude of a held movement key (actions are in [-1, 1])
    key_timeout  seconds without an update after which held keys count as released
    bounded      keep the gripper inside VISIBLE_LO..VISIBLE_HI (Tabletop observations)"""

    def __init__(self, speed: float = 1.0, key_timeout: float = 0.5, bounded: bool = True) -> None:
        self.speed, self.key_timeout, self.bounded = float(speed), float(key_timeout), bool(bounded)
        self.held: set[str] = set()
        self.closed = False
        self.stamp = 0.0
        self.clamped = False  # the last action had an axis stopped at the visible bound
        self._lock = threading.Lock()

    def set(self, held: Sequence[str]) -> str:
        """The keys held now; InputError naming unknown ones. Returns a short status."""
        unknown = [k for k in held if k not in KEYS and k != GRIP_KEY]
        if unknown:
            raise InputError(f"teleop: unknown key(s) {unknown[:3]} (known: {', '.join([*KEYS, GRIP_KEY])})")
        with self._lock:
            if GRIP_KEY in held and GRIP_KEY not in self.held:
                self.closed = not self.closed
            self.held, self.stamp = set(held), time.monotonic()
        return "gripper closed" if self.closed else "ok"

    def release(self) -> None:
        with self._lock:
            self.held = set()

    def action(self, obs: Any = None) -> np.ndarray:
        """(4,) action in [-1, 1] from the held keys (stale keys count as released), kept inside the visible bounds
        when obs (Tabletop: obs["observation"][:3] is the gripper position) is given."""
        a = np.zeros(4, np.float32)
        with self._lock:
            fresh = time.monotonic() - self.stamp < self.key_timeout
            for k in (self.held if fresh else ()):
                if k in KEYS:
                    i, sign = KEYS[k]
                    a[i] += sign * self.speed
            a[3] = 1.0 if self.closed else -1.0
        a = np.clip(a, -1.0, 1.0)
        self.clamped = False
        pos = gripper_position(obs) if self.bounded else None
        if pos is not None:
            hi = visible_hi(pos[2])
            for i in range(3):
                if (a[i] > 0 and pos[i] + LEAD > hi[i]) or (a[i] < 0 and pos[i] - LEAD < VISIBLE_LO[i]):
                    a[i], self.clamped = 0.0, True
        return a

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": sorted(self.held), "gripper_closed": self.closed, "clamped": self.clamped}


def visible_hi(z: float) -> np.ndarray:
    """(3,) upper bounds at gripper height z: the far (+x) bound shrinks as the gripper rises (the front camera looks
    down and forward, and the wrist above the fingers must stay in the frame too)."""
    hi = VISIBLE_HI.copy()
    hi[0] -= FAR_SLOPE * max(0.0, float(z) - 0.05)
    return hi


def gripper_position(obs: Any) -> np.ndarray | None:
    """(3,) gripper position of a Tabletop observation, else None."""
    if isinstance(obs, dict) and "observation" in obs:
        o = np.asarray(obs["observation"], np.float64).ravel()
        return o[:3] if o.size >= 3 else None
    return None
