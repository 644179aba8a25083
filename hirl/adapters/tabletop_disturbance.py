"""A world that shifts under the robot: hirl/Tabletop-v0 with disturbances that undo a completed subtask.

Turned on by the env kwarg `disturbance` (a run config's `env_kwargs:`, `hirl collect --env-kwargs`, `hirl eval ...
env_kwargs.disturbance.probability=1.0`); hirl.adapters.tabletop wraps the env in TabletopDisturbance when it is
given. At each reset, with probability `probability` the chain is picked for one disturbance, and one of its
subtasks (uniform over the subtasks of `kinds` that are not the chain's last) for where it may begin: once that
subtask, or one after it (of `kinds`, not the last), has completed, `delay` steps later (drawn in its range) the
world undoes the subtask completed last:

    drawer   open / close the drawer     the drawer slides shut / open (blocks in the tray move with it)
    block    pick up / place / stack     the block falls out of the fingers, is taken out of the drawer or knocked
                                         off the block below, onto a free spot of the table
    light    turn on / off the light, push the button     the light toggles

It fires only when the world allows it (the gripper holds nothing but, for a pick, the block that falls; it is clear
of the drawer's path; a block being knocked off has nothing on top), waiting for that; when the next subtask
completes first the wait starts again from that one, and the chance lapses when the chain ends first.

Chain accounting: the undone subtask counts as not done again. The chain goes back to it (info["subtask_index"],
"current_subtask" and "completed_subtasks" say so, with a fresh subtask budget), so it has to be redone before the
rest; a redo earns the chain reward again, and the chain length an evaluation reports (the subtasks completed in
a row at the end) counts each subtask of the chain once, whether or not it had to be redone.

info of every step and of reset: "disturbance" (the record of a disturbance that happened in this step, else None),
"disturbances" (every record of the episode so far), "disturbance_plan" ({"after": instruction, "index": chain
index, "delay": steps}: the first subtask it may follow and the delay; None: no disturbance (any more) in this
chain). A record: {"step": env steps taken when it happened,
"kind", "undid": the canonical instruction undone, "index": its chain index, "what": what happened, in words}.
Seeded: reset(seed=s) draws from a generator of s, so the same seed (and the same actions) gives the same
disturbances; reset() without a seed continues the generator.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import mujoco
import numpy as np

from hirl.config import FieldError, in_range

if TYPE_CHECKING:
    from hirl_envs.tabletop.env import TabletopEnv

KINDS = ("drawer", "block", "light")  # what a disturbance may undo (see the module docstring)
SEED_SALT = 0x5D157  # mixed into the reset seed: the disturbances' draws are independent of the env's own
TABLE_LO, TABLE_HI = np.array([0.28, -0.20]), np.array([0.50, 0.06])  # (x, y) box of free spots (the reset's spawn box)
FREE_RADIUS = 0.08  # a free spot is this far (m, in x-y) from every other block and from the gripper
GRIPPER_ABOVE = 0.17  # a gripper higher than this (m) is clear of the drawer, its handle and the housing
DRAWER_PATH = (np.array([0.36, 0.12]), np.array([0.88, 0.40]))  # (x, y) box the drawer and its handle sweep (m)


def _kind_of(name: str) -> str:
    """The disturbance kind that undoes subtask `name` (a Tabletop subtask name)."""
    if name.endswith("_drawer") and not name.startswith("place_"):
        return "drawer"
    if name in ("push_button", "turn_on_light", "turn_off_light"):
        return "light"
    return "block"


@dataclass(frozen=True)
class DisturbanceConfig:
    """The `disturbance` env kwarg (a mapping with these keys)."""

    probability: float = 0.5  # chance that a chain gets one disturbance
    kinds: tuple[str, ...] = KINDS  # which subtasks may be undone: drawer | block | light
    delay: tuple[int, int] = (5, 30)  # control steps after a subtask completes: uniform in [low, high]

    def __post_init__(self) -> None:
        p = self.probability
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise FieldError("probability", f"expected a number in 0..1, got {type(p).__name__} {p!r}")
        in_range("probability", float(p), 0.0, 1.0)
        kinds = self.kinds
        if isinstance(kinds, str) or not isinstance(kinds, (list, tuple)) or not kinds:
            raise FieldError("kinds", f"expected a non-empty list of {', '.join(KINDS)}, got {kinds!r}")
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise FieldError("kinds", f"unknown kind {unknown[0]!r} (known: {', '.join(KINDS)})")
        d = self.delay
        if (isinstance(d, str) or not isinstance(d, (list, tuple)) or len(d) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in d)):
            raise FieldError("delay", f"expected [low, high] control steps (two ints), got {d!r}")
        if not 1 <= d[0] <= d[1]:
            raise FieldError("delay", f"expected 1 <= low <= high, got {list(d)}")
        object.__setattr__(self, "probability", float(p))
        object.__setattr__(self, "kinds", tuple(kinds))
        object.__setattr__(self, "delay", (int(d[0]), int(d[1])))


def disturbance_config(raw: Any) -> DisturbanceConfig:
    """The `disturbance` env kwarg as a DisturbanceConfig: a mapping of its keys (or a DisturbanceConfig);
    FieldError("disturbance.<key>") naming the key that is wrong."""
    if isinstance(raw, DisturbanceConfig):
        return raw
    if not isinstance(raw, Mapping):
        raise FieldError("disturbance", f"expected a mapping (probability, kinds, delay), got {type(raw).__name__} {raw!r}")
    known = [f.name for f in dataclasses.fields(DisturbanceConfig)]
    unknown = [str(k) for k in raw if k not in known]
    if unknown:
        raise FieldError(f"disturbance.{unknown[0]}", f"unknown key; known keys: {', '.join(known)}")
    try:
        return DisturbanceConfig(**{str(k): v for k, v in raw.items()})
    except FieldError as exc:
        raise FieldError(f"disturbance.{exc.field}", exc.problem) from None


class TabletopDisturbance(gym.Wrapper):
    """Tabletop with disturbances (see the module docstring). env: a hirl/Tabletop-v0 env (gym.make's)."""

    def __init__(self, env: gym.Env, cfg: DisturbanceConfig) -> None:
        super().__init__(env)
        from hirl_envs.tabletop.env import TabletopEnv

        base = env.unwrapped
        if not isinstance(base, TabletopEnv):
            raise TypeError(f"TabletopDisturbance needs a hirl/Tabletop-v0 env, got {type(base).__name__}")
        self.base: TabletopEnv = base
        self.cfg = cfg
        self.rng = np.random.default_rng()
        self.plan: dict[str, Any] | None = None  # the chain's disturbance still to happen (None: none / done / lapsed)
        self.records: list[dict[str, Any]] = []
        self._steps = 0
        self._chain: list[str] = []  # the chain's subtask names (info["task_names"])
        self._eligible: set[int] = set()  # chain indices a disturbance may undo
        self._done = 0  # the chain's completed subtasks after the previous step
        self._completed_at: int | None = None  # env step at which the subtask to undo completed (None: none yet)

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> Any:
        """The env's reward of the goals (the goal-env contract, as hirl_envs.goal_api.GoalReward)."""
        return self.base.compute_reward(achieved_goal, desired_goal, info)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self.rng = np.random.default_rng([int(seed), SEED_SALT])
        self.records, self._steps, self._done, self._completed_at = [], 0, 0, None
        chain = list(info.get("task_names", ())) if info.get("goal_task") is None else []
        eligible = [j for j, n in enumerate(chain[:-1]) if _kind_of(n) in self.cfg.kinds]
        self._chain, self._eligible = chain, set(eligible)
        # three draws every reset, whatever is used: a chain's disturbance does not depend on the previous chain's
        fire, pick = self.rng.random() < self.cfg.probability, self.rng.random()
        delay = int(self.rng.integers(self.cfg.delay[0], self.cfg.delay[1] + 1))
        self.plan = None
        if fire and eligible:
            j = eligible[int(pick * len(eligible))]
            self.plan = {"after": info["task"][j], "index": j, "delay": delay}
        return obs, self._annotate(info, None)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        record = None
        if self.plan is not None and not (terminated or truncated) and "physics_error" not in info:
            record = self._maybe_fire(int(info["subtask_index"]))
            if record is not None:
                obs, info = self.base.current_obs(), self._rewound_info(info, record["index"])
        return obs, reward, terminated, truncated, self._annotate(info, record)

    # ------------------------------------------------------------------ internals
    def _annotate(self, info: dict[str, Any], record: dict[str, Any] | None) -> dict[str, Any]:
        info["disturbance"] = None if record is None else dict(record)
        info["disturbances"] = [dict(r) for r in self.records]
        info["disturbance_plan"] = None if self.plan is None else dict(self.plan)
        return info

    def _maybe_fire(self, index: int) -> dict[str, Any] | None:
        """The record of the disturbance that happens now (the world changed), or None (not yet). index: the chain's
        completed subtasks now."""
        assert self.plan is not None
        if index != self._done:  # a subtask completed: the wait starts from it, if it may be undone
            self._done = index
            j = index - 1
            self._completed_at = self._steps if j >= int(self.plan["index"]) and j in self._eligible else None
        if self._completed_at is None or self._steps - self._completed_at < int(self.plan["delay"]):
            return None
        j = index - 1
        name = self._chain[j]
        what = self._undo(name)
        if what is None:  # the world does not allow it yet: try again at the next step
            return None
        record = {"step": self._steps, "kind": _kind_of(name), "undid": self.base.instruction(name), "index": j,
                  "what": what}
        self.records.append(record)
        self.plan = None
        return record

    def _undo(self, name: str) -> str | None:
        """Undo completed subtask `name` in the MuJoCo state; what happened in words, or None when it may not now."""
        from hirl_envs.tabletop import tasks

        p = self.base.phys_state()
        s = tasks.symbolic(p)
        kind, cols = tasks.parse(name)
        family = _kind_of(name)
        if family == "block":
            c = cols[0]
            if (s.held is not None and not (kind == "pick" and s.held == c)) or not s.clear(c):
                return None
            if kind == "pick" and tasks.held(p, c):
                return self._to_table(c, p, f"the {c} block fell out of the gripper")
            if kind == "place" and s.loc[c] == "drawer":
                return self._to_table(c, p, f"the {c} block was taken out of the drawer")
            if kind == "stack" and s.loc[c] == f"on_{cols[1]}":
                return self._to_table(c, p, f"the {c} block was knocked off the {cols[1]} block")
            return None
        if s.held is not None:
            return None
        if family == "light":
            target = {"turn_on_light": 1, "turn_off_light": 0}.get(kind)
            if target is not None and s.light != target:
                return None
            self.base._set_light(1 - self.base._light)  # the light is a Python attribute of the env
            return f"the light went {'on' if self.base._light else 'off'}"
        opened = kind == "open_drawer"
        if s.drawer != ("open" if opened else "closed") or not self._clear_of_drawer(p.grip):
            return None
        new = float(self.rng.uniform(0.0, 0.005) if opened else self.rng.uniform(0.17, 0.2))
        in_tray = [c for c in tasks.COLOURS if s.loc[c] == "drawer"]
        d = self.base.data
        d.joint("drawer_slide").qpos[0], d.joint("drawer_slide").qvel[0] = new, 0.0
        for c in in_tray:  # the tray's contents move with it (the tray's centre is at x = DRAWER_HOME_X - opening)
            block = d.joint(f"{c}_free")
            block.qpos[0] -= new - p.drawer
            block.qvel[:] = 0.0
        mujoco.mj_forward(self.base.model, d)
        return "the drawer slid shut" if opened else "the drawer slid open"

    @staticmethod
    def _clear_of_drawer(grip: np.ndarray) -> bool:
        """The gripper (3,) is above, or beside, what the drawer sweeps: moving the drawer cannot hit it."""
        lo, hi = DRAWER_PATH
        return bool(grip[2] > GRIPPER_ABOVE or not np.all((lo <= grip[:2]) & (grip[:2] <= hi)))

    def _to_table(self, colour: str, p: Any, what: str) -> str | None:
        """Put block `colour` upright on a free spot of the table (FREE_RADIUS from the other blocks and the gripper);
        None when no free spot turned up."""
        from hirl_envs.tabletop import tasks

        others = [p.blocks[c][:2] for c in tasks.COLOURS if c != colour] + [p.grip[:2]]
        for _ in range(100):
            xy = self.rng.uniform(TABLE_LO, TABLE_HI)
            if all(np.linalg.norm(xy - o) > FREE_RADIUS for o in others):
                break
        else:
            return None
        yaw = float(self.rng.uniform(-0.4, 0.4))
        block = self.base.data.joint(f"{colour}_free")
        block.qpos[:] = (xy[0], xy[1], tasks.BLOCK_HALF, np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        block.qvel[:] = 0.0
        mujoco.mj_forward(self.base.model, self.base.data)
        return what

    def _rewound_info(self, info: dict[str, Any], index: int) -> dict[str, Any]:
        """The chain back at subtask `index` (undone: due again, with a fresh budget); the step's info with the chain
        fields of the env's info now, the rest (chain_reward, ...) kept."""
        base = self.base
        base._index = index  # no public rewind: the chain state lives here
        base._begin_subtask()
        return {**info, **base._info()}
