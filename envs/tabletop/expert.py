"""Scripted expert for hirl/Tabletop-v0 (its success rate: hirl.eval.expert.tabletop_expert_success).

A Markov controller: every action is a function of the current observation only — obs["observation"] (positions,
finger gap, drawer opening, button depth) and obs["touch"] (finger contacts, "the held block rests on something")
— and of the subtask. No counters, no timers, no remembered waypoints, no velocities: a policy cloned from it sees
everything the expert decided on (what makes the demonstrations learnable; docs/imitation.md "Diagnosis").

Each subtask family still has named phases (PHASES), but the phase is *read off the state* at every step, not
carried along: block subtasks open the fingers (rising slowly), approach above the block, descend (a funnel: the
allowed height grows with the horizontal error, so there is no "arrived, now wait until still" point), grasp
(close while at the grasp pose), lift, carry, lower onto the destination and release once the block is set down
(touch "load_supported"); the drawer is grasped at its handle post and dragged; the button is pressed with closed
fingers and, if it has to be pressed again, left with open fingers (the finger gap is the only "memory", and it is
observed). Actions are in the env's (4,) [-1, 1] format; `noise` adds DART-style Gaussian noise.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hirl_envs.tabletop import tasks
from hirl_envs.tabletop.env import (
    BUTTON_XY, DRAWER_HOME_X, DRAWER_Y, HANDLE_DX, HANDLE_Z, OBS_LAYOUT, TOUCH_LAYOUT, TabletopEnv,
)
from hirl_envs.tabletop.tasks import COLOURS, SUBTASKS

SAFE_Z = 0.20  # travel height of the grip site (m): clears stacks, the drawer housing and the handle
OPEN, CLOSE = -1.0, 1.0  # grip commands
NARROW = -0.5  # grip command of the 6 cm opening used next to a neighbouring block
GRASP_DZ = 0.006  # grasp this far above the block centre (m): fingertips clear what is below
ALIGNED = 0.006  # horizontal error (m) at which the descent funnel reaches the bottom
FUNNEL = 0.02  # horizontal error (m) at which the descent funnel is back at SAFE_Z
RISE_FIRST = 0.03  # horizontal distance (m) beyond which a low gripper rises straight up before travelling
POSE_XY, POSE_Z = 0.008, 0.006  # grasp-pose tolerances (m) with open fingers
POSE_XY_CLOSING, POSE_Z_CLOSING = 0.02, 0.02  # grasp-pose tolerances (m) once the fingers are closing
GRASPED_GAP = 0.052  # finger gap (m) below which a block pinched between both fingers counts as grasped
FINGERS_OPEN = 0.045  # finger gap (m) below which the fingers count as (partly) closed
FINGERS_WIDE = 0.07  # finger gap (m) a low gripper opens to before it leaves (fast) for somewhere else
FINGERS_CLOSING = 0.055  # finger gap (m) below which a grasp in progress keeps its wider pose tolerance
SLOW_RISE = 0.2  # dz command while opening the fingers near things (a released block is not dragged along)
SET_DOWN_FLOOR = 0.008  # the grip site never goes lower than this below the block's resting height (m): the
#                         fingertips stay 2 mm above the support's top even when the block has slipped up in the grasp
IN_PLACE_XY, IN_PLACE_Z = 0.015, 0.01  # block-destination errors (m) of a block resting in place
RESTING = 0.002  # block height above its resting height (m) at which it is let go even without touching (a backup)
HANDLE_GAP = 0.03  # finger gap (m) below which fingers touching the handle post (2 cm wide) are closed on it
MISSED_GAP = 0.012  # finger gap (m) below which fingers touching nothing have closed on nothing
PRESSED = 0.013  # button depth (m) at which the press is deep enough and the fingers rise again
PRESS_TOP = 0.08  # height (m) up to which a gripper with open fingers over the button rises before pressing again

# readable names of each family's phases, in the order a subtask goes through them (diagnosis: hirl.eval.diagnose)
PHASES: dict[str, tuple[str, ...]] = {
    "block": ("open fingers", "approach", "descend", "grasp", "lift", "carry", "lower", "release"),
    "drawer": ("open fingers", "drawer approach", "drawer descend", "drawer grasp", "drawer drag"),
    "button": ("open fingers", "button approach", "button press", "button rise"),
}


def family(kind: str) -> str:
    """The phase machine ("block", "drawer" or "button") that runs subtasks of kind (tasks.parse(name)[0])."""
    if kind in ("open_drawer", "close_drawer"):
        return "drawer"
    if kind in ("push_button", "turn_on_light", "turn_off_light"):
        return "button"
    return "block"


class View:
    """What the expert decides on, parsed from one observation: the physical state (tasks.PhysState), the handle post
    centre (3,), the button depth (m) and the touch flags (3,) (see TabletopEnv's observation docs)."""

    def __init__(self, obs: Mapping[str, Any]) -> None:
        o = np.asarray(obs["observation"], dtype=np.float64)
        grip = o[OBS_LAYOUT["gripper_pos"]]
        opening = float(o[OBS_LAYOUT["drawer_opening"]][0])
        self.p = tasks.PhysState(
            grip=grip, gap=float(o[OBS_LAYOUT["finger_opening"]][0]),
            blocks={c: o[OBS_LAYOUT[f"{c}_pos"]] for c in COLOURS}, drawer=opening,
            tray_center=np.array([DRAWER_HOME_X - opening, DRAWER_Y, tasks.TRAY_FLOOR_Z]),
            light=round(float(o[OBS_LAYOUT["light"]][0])))
        self.handle = grip + o[OBS_LAYOUT["handle_rel_gripper"]]
        self.depth = float(o[OBS_LAYOUT["button_depth"]][0])
        touch = np.asarray(obs["touch"], dtype=np.float64)
        left, right = touch[TOUCH_LAYOUT["finger_l_contact"]][0], touch[TOUCH_LAYOUT["finger_r_contact"]][0]
        self.pinched = bool(left > 0.5 and right > 0.5)  # both finger pads touch something
        self.touching = bool(left > 0.5 or right > 0.5)  # a finger pad touches something
        self.supported = bool(touch[TOUCH_LAYOUT["load_supported"]][0] > 0.5)

    def grasped(self, colour: str) -> bool:
        """Block `colour` is between the fingers and both fingers touch: it is held (looser in the gap than
        tasks.held, so a grasp that is still settling counts)."""
        d = np.abs(self.p.blocks[colour] - self.p.grip)
        return bool(self.pinched and d[0] < 0.02 and d[1] < 0.025 and d[2] < 0.03 and 0.025 < self.p.gap < GRASPED_GAP)

    def slot(self, colour: str) -> np.ndarray:
        """(3,) where a block of `colour` rests in the drawer at the current opening."""
        sx, sy = tasks.SLOTS[colour]
        return np.array([DRAWER_HOME_X - self.p.drawer + sx, DRAWER_Y + sy, tasks.TRAY_FLOOR_Z + tasks.BLOCK_HALF])


class TabletopExpert:
    """act(obs, subtask) -> (4,) float32 action; act_chain(obs, info) -> (action, canonical instruction).

    The action depends on obs (its "observation" and "touch" entries) and the subtask only; the env is read only when
    obs lacks those entries (e.g. a wrapper's reduced observation)."""

    def __init__(
        self,
        env: Any,  # the TabletopEnv (wrappers are unwrapped)
        noise: float = 0.0,  # std of Gaussian noise added to every action component (before clipping)
        seed: int | None = None,  # seed of the expert's own noise generator
    ) -> None:
        self.env: TabletopEnv = env.unwrapped
        self.noise = float(noise)
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        """Forget the current subtask (there is no other state)."""
        self._name: str | None = None
        self._phase: str | None = None

    # ------------------------------------------------------------------ public
    @property
    def phase_name(self) -> str | None:
        """The phase (PHASES) the last act() was in; None before the first act()."""
        return self._phase

    def act(self, obs: Any, instruction_or_name: str) -> np.ndarray:
        """(4,) float32 action for one subtask (name, canonical instruction or paraphrase)."""
        name = tasks.canonical(instruction_or_name)
        if name is None:
            raise ValueError(f"TabletopExpert: unknown subtask {instruction_or_name!r}")
        self._name = name
        if not (isinstance(obs, Mapping) and "observation" in obs and "touch" in obs):
            obs = self.env.current_obs()
        a = self._policy(name, View(obs))
        if self.noise > 0:
            a = a + self.rng.normal(0.0, self.noise, size=4)
        return np.clip(a, -1.0, 1.0).astype(np.float32)

    def act_chain(self, obs: Any, info: dict[str, Any]) -> tuple[np.ndarray, str | None]:
        """Action for info["current_subtask"] and its canonical instruction (None and a still action when the chain
        is done)."""
        cur = info.get("current_subtask")
        if cur is None:
            return np.zeros(4, dtype=np.float32), None
        name = tasks.canonical(cur)
        if name is None:
            raise ValueError(f"TabletopExpert: unknown subtask {cur!r}")
        return self.act(obs, name), SUBTASKS[name].instruction

    # ------------------------------------------------------------------ building blocks
    def _policy(self, name: str, v: View) -> np.ndarray:
        kind, cols = tasks.parse(name)
        fam = family(kind)
        if fam == "drawer":
            return self._drawer(v, kind == "open_drawer")
        if fam == "button":
            return self._button(v)
        return self._block(v, kind, cols)

    def _move(self, pos: np.ndarray, target: np.ndarray, grip: float, speed: float = 1.0) -> np.ndarray:
        d = 0.7 * (np.asarray(target) - pos) / self.env.max_speed
        return np.append(np.clip(d, -speed, speed), grip)

    def _go(self, phase: str, a: np.ndarray) -> np.ndarray:
        self._phase = phase
        return a

    def _funnel(self, pos: np.ndarray, goal: np.ndarray, grip: float, speed: float = 1.0) -> tuple[np.ndarray, bool]:
        """Towards goal (3,) from above: a low gripper far away rises straight up first; otherwise it moves to goal's
        xy at a height that falls from SAFE_Z (horizontal error >= FUNNEL) to goal's z (error <= ALIGNED).
        Returns (action, at the bottom of the funnel)."""
        err = float(np.linalg.norm(goal[:2] - pos[:2]))
        if err > RISE_FIRST and pos[2] < SAFE_Z - 0.03:
            return self._move(pos, np.array([pos[0], pos[1], SAFE_Z]), grip), False
        frac = float(np.clip((err - ALIGNED) / (FUNNEL - ALIGNED), 0.0, 1.0))
        z = goal[2] + frac * (max(SAFE_Z, goal[2]) - goal[2])
        return self._move(pos, np.array([goal[0], goal[1], z]), grip, speed), frac == 0.0

    @staticmethod
    def _open_fingers() -> np.ndarray:
        """Open the fingers while rising slowly (a block just released is not dragged along)."""
        return np.array([0.0, 0.0, SLOW_RISE, OPEN])

    @staticmethod
    def _must_open(v: View, dxy: float) -> bool:
        """Open the fingers (rising slowly) first: they are (partly) closed, or the gripper is low and about to leave
        (dxy (m): horizontal distance to where the subtask goes) while not wide open or still touching something —
        a block just let go of is not dragged along."""
        p = v.p
        leaving = p.grip[2] < SAFE_Z - 0.03 and dxy > RISE_FIRST
        return p.gap < FINGERS_OPEN or (leaving and (p.gap < FINGERS_WIDE or v.touching))

    # ------------------------------------------------------------------ families
    def _drawer(self, v: View, opening: bool) -> np.ndarray:
        p, h = v.p, v.handle
        d = p.grip - h
        dxy = float(np.linalg.norm(d[:2]))
        if v.pinched and p.gap < HANDLE_GAP and dxy < 0.015 and abs(d[2]) < 0.02:  # closed on the post: drag
            goal_x = DRAWER_HOME_X - (0.22 if opening else -0.02) + HANDLE_DX
            return self._go("drawer drag", self._move(p.grip, np.array([goal_x, h[1], HANDLE_Z]), CLOSE, speed=0.6))
        tol_xy, tol_z = (POSE_XY_CLOSING, POSE_Z_CLOSING) if p.gap < FINGERS_CLOSING else (POSE_XY, 0.01)
        if p.gap > MISSED_GAP and dxy < tol_xy and abs(d[2]) < tol_z:  # around the post: close
            return self._go("drawer grasp", self._move(p.grip, h, CLOSE))
        if self._must_open(v, dxy):
            return self._go("open fingers", self._open_fingers())
        a, bottom = self._funnel(p.grip, h, OPEN)
        return self._go("drawer descend" if bottom or dxy < FUNNEL else "drawer approach", a)

    def _button(self, v: View) -> np.ndarray:
        p = v.p
        dxy = float(np.linalg.norm(p.grip[:2] - BUTTON_XY))
        top = np.array([BUTTON_XY[0], BUTTON_XY[1], PRESS_TOP + 0.02])
        if v.depth > PRESSED or (p.gap > FINGERS_OPEN and p.grip[2] < PRESS_TOP and dxy < FUNNEL):
            # pressed deep enough, or on the way up with open fingers: rise above the button (the latch re-arms)
            return self._go("button rise", self._move(p.grip, top, OPEN))
        if dxy < (FUNNEL if p.grip[2] < SAFE_Z - 0.03 else POSE_XY):  # over the button: press with closed fingers
            target = np.array([BUTTON_XY[0], BUTTON_XY[1], 0.01])
            return self._go("button press", self._move(p.grip, target, CLOSE, speed=0.6))
        if self._must_open(v, dxy) and p.grip[2] < SAFE_Z - 0.03:
            return self._go("open fingers", self._open_fingers())
        a, _ = self._funnel(p.grip, np.array([BUTTON_XY[0], BUTTON_XY[1], SAFE_Z]), OPEN)
        return self._go("button approach", a)

    def _open_for(self, p: tasks.PhysState, c: str) -> float:
        """Grip command while approaching block c: fully open, or a 6 cm gap if a neighbour is close along the finger
        (x) axis."""
        for o, q in p.blocks.items():
            d = np.abs(q - p.blocks[c])
            if o != c and d[0] < 0.085 and d[1] < 0.05 and d[2] < 0.03:
                return NARROW
        return OPEN

    def _dest(self, v: View, kind: str, cols: tuple[str, ...]) -> np.ndarray:
        if kind == "place":
            return v.slot(cols[0])
        return v.p.blocks[cols[1]] + np.array([0.0, 0.0, 2 * tasks.BLOCK_HALF])

    def _block(self, v: View, kind: str, cols: tuple[str, ...]) -> np.ndarray:
        p, c = v.p, cols[0]
        b = p.blocks[c]
        if v.grasped(c):
            return self._carry(v, kind, cols, b)
        if kind != "pick" and self._in_place(b, self._dest(v, kind, cols)):  # set down and let go of: keep opening
            return self._go("release", self._move(p.grip, p.grip, OPEN))
        grasp = b + np.array([0.0, 0.0, GRASP_DZ])
        d = p.grip - grasp
        dxy = float(np.linalg.norm(d[:2]))
        tol_xy, tol_z = (POSE_XY_CLOSING, POSE_Z_CLOSING) if p.gap < FINGERS_CLOSING else (POSE_XY, POSE_Z)
        if p.gap > 0.025 and dxy < tol_xy and abs(d[2]) < tol_z:  # at the grasp pose: close
            return self._go("grasp", self._move(p.grip, grasp, CLOSE))
        if self._must_open(v, dxy):  # closed on nothing (a missed grasp), or leaving a block just released
            return self._go("open fingers", self._open_fingers())
        leaving = dxy > RISE_FIRST and p.grip[2] < SAFE_Z - 0.03  # rising straight up first: wide open
        a, bottom = self._funnel(p.grip, grasp, OPEN if leaving else self._open_for(p, c))
        return self._go("descend" if bottom else "approach", a)

    def _carry(self, v: View, kind: str, cols: tuple[str, ...], b: np.ndarray) -> np.ndarray:
        """Block cols[0] (at b, (3,)) is held: lift it (pick), or carry it over its destination, set it down and
        release it once it rests there (touch "load_supported")."""
        p = v.p
        if kind == "pick":
            return self._go("lift", self._move(p.grip, np.array([p.grip[0], p.grip[1], tasks.BLOCK_HALF + 0.12]), CLOSE))
        dest = self._dest(v, kind, cols)
        off = p.grip - b
        err = float(np.linalg.norm(b[:2] - dest[:2]))
        floor = dest[2] - SET_DOWN_FLOOR
        if self._in_place(b, dest) and (v.supported or b[2] - dest[2] < RESTING or p.grip[2] < floor + 0.002):  # set down
            return self._go("release", self._move(p.grip, p.grip, OPEN))
        if err > RISE_FIRST and p.grip[2] < SAFE_Z - 0.03:
            return self._go("lift", self._move(p.grip, np.array([p.grip[0], p.grip[1], SAFE_Z]), CLOSE))
        goal = dest + off
        goal[2] = max(goal[2], floor)  # a block slipping up in the grasp does not drive the fingers into the support
        a, bottom = self._funnel(p.grip, goal, CLOSE, speed=1.0 if err > FUNNEL else 0.7)
        return self._go("lower" if bottom else "carry", a)

    @staticmethod
    def _in_place(b: np.ndarray, dest: np.ndarray) -> bool:
        """Block at b (3,) rests at its destination dest (3,) (within IN_PLACE_XY / IN_PLACE_Z)."""
        return bool(np.linalg.norm(b[:2] - dest[:2]) < IN_PLACE_XY and b[2] - dest[2] < IN_PLACE_Z)
