"""Scripted waypoint expert for hirl/Tabletop-v0 (its success rate: hirl.eval.expert.tabletop_expert_success).

The expert reads object positions from the env's MuJoCo state and runs a small phase machine per
subtask (approach above, descend, grasp, lift, move, release, retreat; grasp-and-drag the drawer
handle; press the button). It outputs actions in the env's (4,) [-1, 1] format.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from hirl_envs.tabletop import tasks
from hirl_envs.tabletop.env import BUTTON_XY, HANDLE_Z, TabletopEnv
from hirl_envs.tabletop.tasks import SUBTASKS

SAFE_Z = 0.20  # travel height of the grip site (m): clears stacks, the drawer housing and the handle
OPEN, CLOSE = -1.0, 1.0  # grip commands


class TabletopExpert:
    """Waypoint controller. act(obs, subtask) -> (4,) float32 action; act_chain(obs, info) -> (action, label)."""

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
        """Forget the current subtask and phase."""
        self._name: str | None = None
        self._phase, self._count = 0, 0
        self._mem: dict[str, Any] = {}

    # ------------------------------------------------------------------ public
    def act(self, obs: Any, instruction_or_name: str) -> np.ndarray:
        """(4,) float32 action for one subtask (name, canonical instruction or paraphrase)."""
        name = tasks.canonical(instruction_or_name)
        if name is None:
            raise ValueError(f"TabletopExpert: unknown subtask {instruction_or_name!r}")
        if name != self._name:
            self.reset()
            self._name = name
        a = self._policy(name)
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

    # ------------------------------------------------------------------ phase machines
    def _policy(self, name: str) -> np.ndarray:
        p = self.env.phys_state()
        kind, cols = tasks.parse(name)
        if kind in ("open_drawer", "close_drawer"):
            return self._drawer(p, kind == "open_drawer")
        if kind in ("push_button", "turn_on_light", "turn_off_light"):
            return self._button(p)
        return self._block(p, kind, cols)

    def _move(self, pos: np.ndarray, target: np.ndarray, grip: float, speed: float = 1.0) -> np.ndarray:
        d = 0.7 * (np.asarray(target) - pos) / self.env.max_speed
        return np.append(np.clip(d, -speed, speed), grip)

    def _travel(self, pos: np.ndarray, xy: np.ndarray, grip: float) -> tuple[np.ndarray, bool]:
        """Go to (xy, SAFE_Z), rising first if low and far away. Returns (action, arrived)."""
        far = np.linalg.norm(xy - pos[:2])
        if far > 0.03 and pos[2] < SAFE_Z - 0.03:
            return self._move(pos, np.array([pos[0], pos[1], SAFE_Z]), grip), False
        slow = np.linalg.norm(self.env.data.qvel[self.env._v_grip:self.env._v_grip + 2]) < 0.08
        return self._move(pos, np.array([xy[0], xy[1], SAFE_Z]), grip), bool(far < 0.008 and slow)

    def _release_first(self, p: tasks.PhysState) -> np.ndarray | None:
        """Phase 0 of subtasks that start without a held block: open the fingers in place if closed."""
        if self._phase == 0:
            if p.gap < 0.07 and self._count < 10:
                self._count += 1
                return self._move(p.grip, p.grip, OPEN)
            self._phase, self._count = 1, 0
        return None

    def _drawer(self, p: tasks.PhysState, opening: bool) -> np.ndarray:
        a = self._release_first(p)
        if a is not None:
            return a
        h = self.env.handle_pos()
        if self._phase == 1:  # above the handle
            a, ok = self._travel(p.grip, h[:2], OPEN)
            if ok:
                self._phase = 2
            return a
        if self._phase == 2:  # descend around the post
            if np.linalg.norm(p.grip - h) < 0.01:
                self._phase, self._count = 3, 0
            return self._move(p.grip, h, OPEN)
        if self._phase == 3:  # grasp
            self._count += 1
            if self._count >= 6:
                self._phase = 4
            return self._move(p.grip, h, CLOSE)
        if np.linalg.norm(p.grip[:2] - h[:2]) > 0.03:  # lost the handle: start over
            self._phase, self._count = 0, 0
            return self._move(p.grip, p.grip, OPEN)
        goal = self.env.handle_pos(0.22 if opening else -0.02)
        return self._move(p.grip, np.array([goal[0], h[1], HANDLE_Z]), CLOSE, speed=0.6)

    def _button(self, p: tasks.PhysState) -> np.ndarray:
        if self._phase == 0:
            a = self._release_first(p)
            if a is not None:
                return a
        depth = -float(self.env.data.qpos[self.env._q_button])
        if self._phase == 1:  # above the button (fingers open so nothing gets grabbed on the way)
            a, ok = self._travel(p.grip, BUTTON_XY, OPEN)
            if ok:
                self._phase = 2
            return a
        if self._phase == 2:  # press
            if depth > 0.013:
                self._phase = 3
            return self._move(p.grip, np.array([BUTTON_XY[0], BUTTON_XY[1], 0.01]), CLOSE, speed=0.6)
        if p.grip[2] > 0.09:  # phase 3: pressed but not toggled -> rise and press again
            self._phase = 2
        return self._move(p.grip, np.array([BUTTON_XY[0], BUTTON_XY[1], 0.10]), CLOSE)

    def _open_for(self, p: tasks.PhysState, c: str) -> float:
        """Grip command while approaching block c: fully open, or a 6 cm gap if a neighbour is close along the finger
        (x) axis."""
        if self._mem.get("narrow"):
            return -0.5
        for o, q in p.blocks.items():
            d = np.abs(q - p.blocks[c])
            if o != c and d[0] < 0.085 and d[1] < 0.05 and d[2] < 0.03:
                return -0.5
        return OPEN

    def _dest(self, kind: str, cols: tuple[str, ...], p: tasks.PhysState) -> np.ndarray:
        if kind == "place":
            return self.env.slot_pos(cols[0])
        return p.blocks[cols[1]] + np.array([0.0, 0.0, 2 * tasks.BLOCK_HALF])

    def _block(self, p: tasks.PhysState, kind: str, cols: tuple[str, ...]) -> np.ndarray:
        c = cols[0]
        b = p.blocks[c]
        if self._phase == 0:
            if tasks.held(p, c):
                self._phase = 5  # already holding it: go straight to transport
            else:
                a = self._release_first(p)
                if a is not None:
                    return a
        if self._phase in (1, 2, 3):
            return self._grasp(p, c, b)
        return self._carry(p, kind, cols, b)

    def _grasp(self, p: tasks.PhysState, c: str, b: np.ndarray) -> np.ndarray:
        """Phases 1-3 of _block: above block c (at b, (3,)), descend with the fingers open, close."""
        if self._phase == 1:  # above the block
            a, ok = self._travel(p.grip, b[:2], self._open_for(p, c))
            if ok:
                self._phase, self._count = 2, 0
            return a
        if self._phase == 2:  # descend, fingers open
            tgt = b + np.array([0.0, 0.0, 0.006])  # grasp slightly above the centre: fingertips clear what is below
            self._count += 1
            if abs(p.grip[2] - tgt[2]) < 0.006 and np.linalg.norm(p.grip[:2] - b[:2]) < 0.008:
                self._phase, self._count = 3, 0
            elif np.linalg.norm(p.grip[:2] - b[:2]) > 0.02:
                self._phase = 1
            elif self._count > 30:  # blocked (a finger rests on something): retry with a narrower opening
                self._mem["narrow"], self._phase = True, 1
            return self._move(p.grip, tgt, self._open_for(p, c))
        # phase 3: close
        self._count += 1
        if self._count >= 8:
            self._phase = 4
            self._mem["grasp_xy"] = p.grip[:2].copy()
        return self._move(p.grip, p.grip, CLOSE)

    def _carry(self, p: tasks.PhysState, kind: str, cols: tuple[str, ...], b: np.ndarray) -> np.ndarray:
        """Phases 4-8 of _block (and 0 when nothing had to be released): lift block cols[0] (at b, (3,)), carry it
        above its destination, lower it, release, retreat."""
        if not tasks.held(p, cols[0]) and self._phase in (4, 5, 6):  # dropped it: start over
            self._phase, self._count = 1, 0
            return self._move(p.grip, p.grip + np.array([0, 0, 0.03]), OPEN)
        if self._phase == 4:  # lift
            top = SAFE_Z if kind != "pick" else tasks.BLOCK_HALF + 0.12
            if kind != "pick" and p.grip[2] > SAFE_Z - 0.02:
                self._phase = 5
            xy = self._mem.get("grasp_xy", p.grip[:2])
            return self._move(p.grip, np.array([xy[0], xy[1], top]), CLOSE)
        if kind == "pick":  # (phase 5 when it started held) keep lifting
            return self._move(p.grip, np.array([p.grip[0], p.grip[1], tasks.BLOCK_HALF + 0.12]), CLOSE)
        if self._phase == 5:  # carry above the destination
            dest, off = self._dest(kind, cols, p), p.grip - b
            a, ok = self._travel(p.grip, dest[:2] + off[:2], CLOSE)
            if ok:
                self._phase, self._count = 6, 0
                self._mem["dest"], self._mem["off"] = dest, off  # frozen: no feedback through a moving drawer/block
            return a
        dest, off = self._mem["dest"], self._mem["off"]
        if self._phase == 6:  # lower the block onto the destination
            tgt = dest + off + np.array([0.0, 0.0, 0.004])
            self._count += 1
            if b[2] - dest[2] < 0.008 or abs(p.grip[2] - tgt[2]) < 0.004 or self._count > 40:
                self._phase, self._count = 7, 0
            return self._move(p.grip, tgt, CLOSE, speed=0.7)
        if self._phase == 7:  # release
            self._count += 1
            if p.gap > 0.06 or self._count > 10:
                self._phase = 8
            return self._move(p.grip, p.grip, OPEN)
        return self._move(p.grip, np.array([p.grip[0], p.grip[1], dest[2] + 0.10]), OPEN)  # retreat
