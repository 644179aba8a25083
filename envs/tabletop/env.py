"""hirl/Tabletop-v0: a Cartesian parallel gripper, three blocks, a drawer, a button and a light,
with CALVIN-style chains of 1-5 language-labelled subtasks (see tasks.py).

Control: 50 Hz (timestep 0.002 s x frame_skip 10). Action (4,) in [-1, 1]: dx, dy, dz (scaled to
`max_speed` metres per step, applied to the gripper's position target) and a grip command
(+1 fully closed ... -1 fully open, linear in between).

Reward (reward_type="chain", default): sparse, 1.0 on the step where a subtask of the chain
completes, else 0.0; it is not a function of the goals, so the step's info carries it ("chain_reward")
and compute_reward reads it from there. reward_type="goal": the HER convention, goal_reward(achieved,
desired) in {0, -1}, which compute_reward returns. Either way compute_reward(achieved, desired, info)
of a step is that step's reward (SB3's checker and HER rely on it); use reward_type="goal" for
goal-reaching HER (relabelled goals leave the chain reward unchanged).

Goal space (14,): [gripper xyz(3), red xyz(3), green xyz(3), blue xyz(3), drawer opening(1), light(1)].
desired_goal is goal_for(current subtask) taken when the subtask started: the components the
subtask changes are set to their target (see goal_for), all others keep their values at subtask start.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from hirl_envs.goal_api import CHAIN_REWARD_KEY
from hirl_envs.mujoco_base import (
    CONTROL_DT, OffscreenRenderer, SnapshotMixin, asset_path, check_control_rate, clipped_action, step_physics,
)
from hirl_envs.tabletop import tasks
from hirl_envs.tabletop.tasks import COLOURS, SUBTASK_NAMES, SUBTASKS

ENV_NAME = "Tabletop"
HOME = np.array([0.45, 0.0, 0.2])  # gripper body position at zero joint displacement (MJCF)
WORK_LO = np.array([0.10, -0.50, 0.015])  # gripper target lower bound (m)
WORK_HI = np.array([0.85, 0.50, 0.34])  # gripper target upper bound (m)
DRAWER_HOME_X, DRAWER_Y = 0.75, 0.26  # tray centre when closed (m)
HANDLE_DX, HANDLE_Z = -0.155, 0.135  # handle post offset from the tray centre / its centre height (m)
BUTTON_XY = np.array([0.6, -0.3])  # button centre (m)
BUTTON_PRESSED, BUTTON_RELEASED = -0.010, -0.004  # button joint hysteresis thresholds (m)
FINGER_MAX = 0.04  # per-finger opening range (m)
HELD_GAP = 0.052  # finger gap (m) below which a block between the fingers counts as held by obs["touch"] (4 cm blocks)
GOAL_TOL = np.array([0.05] * 3 + [0.03] * 9 + [0.03, 0.5])  # per-component tolerance of goal_reward (14,)
LIGHT_ON_RGBA = np.array([1.0, 0.9, 0.2, 1.0])
LIGHT_OFF_RGBA = np.array([0.25, 0.25, 0.2, 1.0])

OBS_LAYOUT: dict[str, slice] = {
    "gripper_pos": slice(0, 3),
    "finger_opening": slice(3, 4),
    "red_pos": slice(4, 7), "red_quat": slice(7, 11),
    "green_pos": slice(11, 14), "green_quat": slice(14, 18),
    "blue_pos": slice(18, 21), "blue_quat": slice(21, 25),
    "drawer_opening": slice(25, 26),
    "button_depth": slice(26, 27),
    "light": slice(27, 28),
    # Fetch-style relative positions (object - gripper, block - block): what a reaching/stacking controller acts on
    "red_rel_gripper": slice(28, 31), "green_rel_gripper": slice(31, 34), "blue_rel_gripper": slice(34, 37),
    "handle_rel_gripper": slice(37, 40), "button_rel_gripper": slice(40, 43),
    "green_rel_red": slice(43, 46), "blue_rel_red": slice(46, 49), "blue_rel_green": slice(49, 52),
}
OBS_DIM = 52
VELOCITY_LAYOUT: dict[str, slice] = {"gripper_vel": slice(0, 3), "drawer_vel": slice(3, 4)}
VELOCITY_DIM = 4
# touch sensing (0/1 flags): a finger pad touches anything; a block held between the fingers touches something else
TOUCH_LAYOUT: dict[str, slice] = {"finger_l_contact": slice(0, 1), "finger_r_contact": slice(1, 2),
                                  "load_supported": slice(2, 3)}
TOUCH_DIM = 3
GOAL_DIM = 14


class TabletopEnv(SnapshotMixin, gym.Env):
    """Tabletop chains env.

    observation (Dict):
      "observation" (52,) float64 -- layout in OBS_LAYOUT / self.obs_layout: gripper_pos(3),
        finger_opening(1, total gap m), {red,green,blue}_pos(3)+quat(4, wxyz), drawer_opening(1, m,
        0 closed..0.2), button_depth(1, m, >=0), light(1, 0/1), then relative positions (3 each):
        {red,green,blue,handle,button} - gripper, green - red, blue - red, blue - green (Fetch's
        object_rel_pos idea: a policy need not learn subtraction from absolute positions)
      "velocity" (4,) float64 -- gripper_vel(3), drawer_vel(1) (VELOCITY_LAYOUT). A separate entry on purpose:
        with 50 Hz actions the velocity is nearly the previous action, and a cloned policy that sees it
        learns to copy it ("copycat" causal confusion: it stalls once it slows down). Policies read it only
        when their obs_keys name "velocity".
      "touch" (3,) float64 -- 0/1 flags (TOUCH_LAYOUT): finger_l_contact, finger_r_contact (the finger pad touches
        any geom), load_supported (a block held between the closed fingers touches the table, the tray or another
        block: it has been set down). With "observation" it is all the scripted expert decides on.
      "achieved_goal" (14,), "desired_goal" (14,) -- see the module docstring.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": round(1 / CONTROL_DT)}  # 50
    SUBTASKS = SUBTASKS

    def __init__(
        self,
        render_mode: str | None = None,  # None or "rgb_array"
        width: int = 128,  # render width (px)
        height: int = 128,  # render height (px)
        chain_length: int | None = None,  # subtasks per episode; None = uniform in 1..5 at each reset
        subtask_budget: int = 250,  # steps allowed per subtask before the episode fails (5 s)
        max_speed: float = 0.025,  # metres per step for a full-scale dx/dy/dz action
        frame_skip: int = 10,  # physics substeps per control step (timestep x frame_skip must be 0.02 s)
        timestep: float | None = None,  # override the MJCF timestep (None = 0.002 s from the file)
        reward_type: str = "chain",  # "chain": 1.0 when a subtask completes; "goal": goal_reward (0/-1)
        goal_task: str | None = None,  # a whole-scene task of tasks.GOAL_TASKS instead of chains (None: chains)
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"{ENV_NAME}: render_mode must be None or 'rgb_array', got {render_mode!r}")
        if reward_type not in ("chain", "goal"):
            raise ValueError(f"{ENV_NAME}: reward_type must be 'chain' or 'goal', got {reward_type!r}")
        if goal_task is not None and goal_task not in tasks.GOAL_TASKS:
            raise ValueError(f"{ENV_NAME}: unknown goal_task {goal_task!r}; known: {sorted(tasks.GOAL_TASKS)}")
        self.goal_task = goal_task
        self._goal: tasks.GoalTask | None = None
        self._goal_done = False
        if chain_length is not None and not 1 <= int(chain_length) <= 5:
            raise ValueError(f"{ENV_NAME}: chain_length must be in 1..5 or None, got {chain_length}")
        self.model = mujoco.MjModel.from_xml_path(str(asset_path("tabletop.xml")))
        if timestep is not None:
            self.model.opt.timestep = float(timestep)
        check_control_rate(self.model, frame_skip, ENV_NAME)
        self.data = mujoco.MjData(self.model)
        self.frame_skip, self.render_mode = int(frame_skip), render_mode
        self.chain_length, self.subtask_budget = chain_length, int(subtask_budget)
        self.max_speed, self.reward_type = float(max_speed), reward_type
        self.width, self.height = int(width), int(height)
        self.obs_layout = dict(OBS_LAYOUT)
        self.velocity_layout = dict(VELOCITY_LAYOUT)

        m = self.model

        def jadr(n: str) -> int:  # qpos address of joint n
            return int(m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n)])

        def vadr(n: str) -> int:  # qvel address of joint n
            return int(m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n)])

        self._q_grip, self._v_grip = jadr("gx"), vadr("gx")  # gx, gy, gz are consecutive
        self._q_fl, self._q_fr = jadr("finger_l"), jadr("finger_r")
        self._q_block = {c: jadr(f"{c}_free") for c in COLOURS}
        self._q_drawer, self._v_drawer = jadr("drawer_slide"), vadr("drawer_slide")
        self._q_button = jadr("button_press")
        self._bulb = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "light_bulb")
        self._g_fingers = tuple(mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, n) for n in ("finger_l", "finger_r"))
        self._block_of = {mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, c): c for c in COLOURS}  # geom id -> colour
        self.touch_layout = dict(TOUCH_LAYOUT)

        self.action_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        goal_box = spaces.Box(-np.inf, np.inf, shape=(GOAL_DIM,), dtype=np.float64)
        self.observation_space = spaces.Dict({
            "observation": spaces.Box(-np.inf, np.inf, shape=(OBS_DIM,), dtype=np.float64),
            "velocity": spaces.Box(-np.inf, np.inf, shape=(VELOCITY_DIM,), dtype=np.float64),
            "touch": spaces.Box(0.0, 1.0, shape=(TOUCH_DIM,), dtype=np.float64),
            "achieved_goal": goal_box,
            "desired_goal": spaces.Box(-np.inf, np.inf, shape=(GOAL_DIM,), dtype=np.float64),
        })
        self._renderer: OffscreenRenderer | None = None
        self._target = HOME.copy()
        self._light, self._latched = 0, False
        self._chain: list[str] = []
        self._chain_instr: list[str] = []
        self._index, self._steps_in_subtask = 0, 0
        self._start_light = 0
        self._desired = np.zeros(GOAL_DIM)

    # ------------------------------------------------------------------ helpers (public)
    @property
    def current_subtask(self) -> str | None:
        """Canonical instruction of the chain's current subtask (None once the chain is complete)."""
        return None if self._index >= len(self._chain) else self._chain_instr[self._index]

    @property
    def dt(self) -> float:
        """Control period (s): 0.02."""
        return self.model.opt.timestep * self.frame_skip

    @staticmethod
    def subtask_names() -> list[str]:
        """All subtask names of the vocabulary."""
        return list(SUBTASK_NAMES)

    @staticmethod
    def instruction(name: str) -> str:
        """Canonical instruction of a subtask name."""
        return SUBTASKS[name].instruction

    @staticmethod
    def paraphrases(name: str) -> list[str]:
        """Training paraphrases of a subtask name."""
        return list(SUBTASKS[name].paraphrases)

    @staticmethod
    def canonical(text: str) -> str | None:
        """Name for a name / canonical instruction / shipped paraphrase; unknown -> None."""
        return tasks.canonical(text)

    def phys_state(self) -> tasks.PhysState:
        """Snapshot of the physical quantities the predicates use (read from qpos only: cheap)."""
        q = self.data.qpos
        opening = float(q[self._q_drawer])
        return tasks.PhysState(
            grip=HOME + q[self._q_grip:self._q_grip + 3],
            gap=float(q[self._q_fl] + q[self._q_fr]),
            blocks={c: q[a:a + 3].copy() for c, a in self._q_block.items()},
            drawer=opening,
            tray_center=np.array([DRAWER_HOME_X - opening, DRAWER_Y, tasks.TRAY_FLOOR_Z]),
            light=self._light,
        )

    def touch(self) -> np.ndarray:
        """(3,) float64 0/1 flags of obs["touch"] on the current state (TOUCH_LAYOUT): each finger pad touches any
        geom; a block held between the closed fingers (tasks.held's box, gap below HELD_GAP) touches anything else."""
        out = np.zeros(TOUCH_DIM)
        n = int(self.data.ncon)
        if n == 0:
            return out
        fl, fr, blocks = self._g_fingers[0], self._g_fingers[1], self._block_of
        q = self.data.qpos
        closed = q[self._q_fl] + q[self._q_fr] < HELD_GAP
        left = right = False
        resting: set[int] = set()  # block geoms touching something other than a finger (only looked for when closed)
        for a, b in self.data.contact.geom[:n].tolist():  # geom id pairs of the active contacts (a few rows)
            if a == fl or b == fl:
                left = True
            elif a == fr or b == fr:
                right = True
            elif closed:
                if a in blocks:
                    resting.add(a)
                if b in blocks:
                    resting.add(b)
        out[0], out[1] = float(left), float(right)
        if resting:
            gx, gy, gz = (HOME + q[self._q_grip:self._q_grip + 3]).tolist()
            for g in resting:  # is one of them the block between the fingers?
                i = self._q_block[blocks[g]]
                bx, by, bz = q[i:i + 3].tolist()
                if abs(bx - gx) < 0.02 and abs(by - gy) < 0.025 and abs(bz - gz) < 0.03:
                    out[2] = 1.0
                    break
        return out

    def current_obs(self) -> dict[str, np.ndarray]:
        """The observation of the current state (what reset/step returned last, recomputed)."""
        return self._obs()

    def handle_pos(self, opening: float | None = None) -> np.ndarray:
        """(3,) world position of the handle post centre at the given (default: current) drawer opening."""
        o = float(self.data.qpos[self._q_drawer]) if opening is None else opening
        return np.array([DRAWER_HOME_X - o + HANDLE_DX, DRAWER_Y, HANDLE_Z])

    def slot_pos(self, colour: str, opening: float | None = None) -> np.ndarray:
        """(3,) world position a block of `colour` should have when placed in the drawer."""
        o = float(self.data.qpos[self._q_drawer]) if opening is None else opening
        sx, sy = tasks.SLOTS[colour]
        return np.array([DRAWER_HOME_X - o + sx, DRAWER_Y + sy, tasks.TRAY_FLOOR_Z + tasks.BLOCK_HALF])

    def subtask_done(self, name: str) -> bool:
        """Completion predicate of `name` on the current state (push_button: relative to the current subtask's start light)."""
        return tasks.predicate(name, self.phys_state(), self._start_light)

    def goal_for(self, name: str) -> np.ndarray:
        """(14,) goal state subtask `name` aims for, from the current state: changed components set to the
        target (gripper where the expert ends the subtask), everything else left at its current value."""
        g = self._achieved_goal()
        kind, cols = tasks.parse(name)
        if kind == "open_drawer":
            g[12], g[0:3] = tasks.DRAWER_MAX, self.handle_pos(tasks.DRAWER_MAX)
        elif kind == "close_drawer":
            g[12], g[0:3] = 0.0, self.handle_pos(0.0)
        elif kind in ("push_button", "turn_on_light", "turn_off_light"):
            g[13] = {"push_button": 1 - self._light, "turn_on_light": 1, "turn_off_light": 0}[kind]
            g[0:3] = (BUTTON_XY[0], BUTTON_XY[1], 0.035)
        else:
            i = 3 + 3 * COLOURS.index(cols[0])
            if kind == "pick":
                g[i + 2] = tasks.BLOCK_HALF + 0.10
            elif kind == "place":
                g[i:i + 3] = self.slot_pos(cols[0])
            else:
                j = 3 + 3 * COLOURS.index(cols[1])
                g[i:i + 3] = g[j:j + 3] + np.array([0.0, 0.0, 2 * tasks.BLOCK_HALF])
            g[0:3] = g[i:i + 3]
        return g

    @staticmethod
    def goal_distance(achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
        """Euclidean distance over the last axis: (14,) -> scalar, (B, 14) -> (B,)."""
        return np.linalg.norm(np.asarray(achieved) - np.asarray(desired), axis=-1)

    @property
    def reward_depends_on_goals(self) -> bool:
        """Whether the step reward is a function of (achieved, desired) goals: the goal reward is, the chain reward
        is not (HER then keeps each transition's own reward: hirl.rl.sb3.StoredRewardHerReplayBuffer)."""
        return self.reward_type == "goal"

    @staticmethod
    def goal_reward(achieved_goal: np.ndarray, desired_goal: np.ndarray) -> np.ndarray | float:
        """The goal-reaching reward (reward_type="goal"): 0.0 where every component is within GOAL_TOL of the goal,
        else -1.0. (14,) -> float, (B, 14) -> (B,)."""
        ok = np.all(np.abs(np.asarray(achieved_goal) - np.asarray(desired_goal)) <= GOAL_TOL, axis=-1)
        r = ok.astype(np.float64) - 1.0
        return float(r) if r.ndim == 0 else r

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray | float:
        """The step reward recomputed (the goal-env contract of SB3's checker and HER). reward_type="goal":
        goal_reward of the goals, info unused; (14,) -> float, (B, 14) -> (B,). reward_type="chain": the chain reward
        does not depend on the goals, so it is the step's info["chain_reward"] (info one step's dict -> float; a
        sequence of B dicts -> (B,)); an info without it raises ValueError."""
        if self.reward_type == "goal":
            return self.goal_reward(achieved_goal, desired_goal)
        if isinstance(info, Mapping):
            return _chain_reward_of(info)
        if info is None:
            raise ValueError(f"{ENV_NAME}: the chain reward is read from a step's info, got info=None "
                             "(use goal_reward, or reward_type='goal', for a reward of the goals)")
        return np.array([_chain_reward_of(i) for i in np.asarray(info, dtype=object).reshape(-1)])

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        rng, m, d = self.np_random, self.model, self.data
        mujoco.mj_resetData(m, d)
        self._target = np.array([rng.uniform(0.38, 0.48), rng.uniform(-0.05, 0.05), rng.uniform(0.17, 0.22)])
        d.qpos[self._q_grip:self._q_grip + 3] = self._target - HOME
        d.qpos[self._q_fl] = d.qpos[self._q_fr] = FINGER_MAX
        pts: list[np.ndarray] = []
        while len(pts) < 3:
            p = np.array([rng.uniform(0.28, 0.50), rng.uniform(-0.20, 0.06)])
            if all(np.linalg.norm(p - o) > 0.08 for o in pts):
                pts.append(p)
        for c, p in zip(COLOURS, pts, strict=True):
            yaw = rng.uniform(-0.4, 0.4)
            a = self._q_block[c]
            d.qpos[a:a + 7] = (p[0], p[1], tasks.BLOCK_HALF, np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        d.qpos[self._q_drawer] = rng.uniform(0.17, 0.2) if rng.random() < 0.5 else rng.uniform(0.0, 0.005)
        self._set_light(int(rng.random() < 0.5))
        self._latched = False
        d.ctrl[:] = (*(self._target - HOME), FINGER_MAX)
        mujoco.mj_forward(m, d)

        goal_name = options.get("goal_task", self.goal_task)
        self._goal, self._goal_done = None, False
        if goal_name is not None:  # a whole-scene task: no chain, one success predicate (tasks.GOAL_TASKS)
            if goal_name not in tasks.GOAL_TASKS:
                raise ValueError(f"{ENV_NAME}: unknown goal_task {goal_name!r}; known: {sorted(tasks.GOAL_TASKS)}")
            self._goal = tasks.GOAL_TASKS[goal_name]
            if self._goal.drawer == "closed":
                d.qpos[self._q_drawer] = rng.uniform(0.0, 0.005)
                mujoco.mj_forward(m, d)
            self._chain, self._chain_instr, self._index = [], [], 0
            self._steps_in_subtask, self._start_light = 0, self._light
            self._desired = self._achieved_goal()
            return self._obs(), self._info()
        sym = tasks.symbolic(self.phys_state())
        if options.get("task") is not None:
            raw = options["task"]
            raw = [raw] if isinstance(raw, str) else list(raw)
            names = []
            for t in raw:
                n = tasks.canonical(t)
                if n is None:
                    raise ValueError(f"{ENV_NAME}: unknown subtask {t!r}; known names: {list(SUBTASK_NAMES)}")
                names.append(n)
            if not 1 <= len(names) <= 5:
                raise ValueError(f"{ENV_NAME}: a task chain has 1..5 subtasks, got {len(names)}")
            tasks.check_chain(names, sym)
            self._chain = names
        else:
            k = options.get("chain_length", self.chain_length)
            k = int(rng.integers(1, 6)) if k is None else int(k)
            if not 1 <= k <= 5:
                raise ValueError(f"{ENV_NAME}: chain_length must be in 1..5, got {k}")
            self._chain = tasks.sample_chain(sym, k, rng)
        self._chain_instr = [SUBTASKS[n].instruction for n in self._chain]
        self._index = 0
        self._begin_subtask()
        return self._obs(), self._info()

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        a = clipped_action(action, (4,), ENV_NAME)
        d = self.data
        grip = HOME + d.qpos[self._q_grip:self._q_grip + 3]
        self._target = np.clip(self._target + a[:3] * self.max_speed, WORK_LO, WORK_HI)
        self._target = grip + np.clip(self._target - grip, -0.05, 0.05)  # anti-windup when blocked
        finger = (1.0 - a[3]) * 0.5 * FINGER_MAX
        d.ctrl[:3] = self._target - HOME
        d.ctrl[3] = finger
        err = step_physics(self.model, d, self.frame_skip)
        if err is not None:
            obs = self._obs()
            for v in obs.values():
                np.nan_to_num(v, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            info = self._info()
            info["physics_error"] = err
            if self.reward_type == "chain":
                info[CHAIN_REWARD_KEY] = 0.0
            return obs, 0.0 if self.reward_type == "chain" else -1.0, True, False, info

        bq = float(d.qpos[self._q_button])
        if not self._latched and bq < BUTTON_PRESSED:
            self._latched = True
            self._set_light(1 - self._light)
        elif self._latched and bq > BUTTON_RELEASED:
            self._latched = False

        reward, terminated = 0.0, False
        preds: dict[str, bool] | None  # None: recompute for info
        preds = tasks.all_predicates(self.phys_state(), self._start_light)
        if self._goal is not None:
            self._steps_in_subtask += 1
            if self._goal.success(self.phys_state()):
                reward, terminated, self._goal_done = 1.0, True, True
            elif self._steps_in_subtask >= self._goal.budget:
                terminated = True
        elif self._index < len(self._chain):
            self._steps_in_subtask += 1
            if preds[self._chain[self._index]]:
                reward = 1.0
                self._index += 1
                if self._index < len(self._chain):
                    self._begin_subtask()
                    preds = None  # start light changed: recompute for info
                else:
                    terminated = True
            elif self._steps_in_subtask >= self.subtask_budget:
                terminated = True
        obs = self._obs()
        info = self._info(preds)
        if self.reward_type == "goal":
            reward = float(self.goal_reward(obs["achieved_goal"], obs["desired_goal"]))
        else:
            info[CHAIN_REWARD_KEY] = float(reward)
        return obs, float(reward), terminated, False, info

    def render(self) -> np.ndarray | None:
        """uint8 (height, width, 3) frame from the fixed "front" camera (render_mode="rgb_array"), else None."""
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = OffscreenRenderer(self.model, self.width, self.height, camera="front")
        mujoco.mj_forward(self.model, self.data)
        return self._renderer.render(self.data)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ------------------------------------------------------------------ internals
    def _set_light(self, on: int) -> None:
        self._light = int(on)
        self.model.geom_rgba[self._bulb] = LIGHT_ON_RGBA if on else LIGHT_OFF_RGBA

    def _after_restore(self) -> None:
        self._set_light(self._light)  # the bulb's colour lives in the model

    def _begin_subtask(self) -> None:
        self._steps_in_subtask = 0
        self._start_light = self._light
        self._desired = self.goal_for(self._chain[self._index])

    def _achieved_goal(self) -> np.ndarray:
        q = self.data.qpos
        g = np.empty(GOAL_DIM)
        g[0:3] = HOME + q[self._q_grip:self._q_grip + 3]
        for i, c in enumerate(COLOURS):
            a = self._q_block[c]
            g[3 + 3 * i:6 + 3 * i] = q[a:a + 3]
        g[12] = q[self._q_drawer]
        g[13] = self._light
        return g

    def _obs(self) -> dict[str, np.ndarray]:
        q, v = self.data.qpos, self.data.qvel
        o = np.empty(OBS_DIM)
        grip = HOME + q[self._q_grip:self._q_grip + 3]
        o[0:3] = grip
        o[3] = q[self._q_fl] + q[self._q_fr]
        for i, c in enumerate(COLOURS):
            a = self._q_block[c]
            o[4 + 7 * i:11 + 7 * i] = q[a:a + 7]
        o[25] = q[self._q_drawer]
        o[26] = -q[self._q_button]
        o[27] = self._light
        red, green, blue = o[4:7], o[11:14], o[18:21]
        button = np.array([BUTTON_XY[0], BUTTON_XY[1], 0.0])
        for i, target in enumerate((red, green, blue, self.handle_pos(), button)):
            o[28 + 3 * i:31 + 3 * i] = target - grip
        o[43:46], o[46:49], o[49:52] = green - red, blue - red, blue - green
        vel = np.empty(VELOCITY_DIM)
        vel[0:3] = v[self._v_grip:self._v_grip + 3]
        vel[3] = v[self._v_drawer]
        return {"observation": o, "velocity": vel, "touch": self.touch(), "achieved_goal": self._achieved_goal(),
                "desired_goal": self._desired.copy()}

    def _info(self, preds: dict[str, bool] | None = None) -> dict[str, Any]:
        if preds is None:
            preds = tasks.all_predicates(self.phys_state(), self._start_light)
        if self._goal is not None:
            instr, names = [self._goal.instruction], [self._goal.name]
            return {
                "task": instr, "task_names": names, "goal_task": self._goal.name,
                "subtask_index": int(self._goal_done),
                "current_subtask": None if self._goal_done else instr[0],
                "completed_subtasks": instr if self._goal_done else [],
                "subtask_success": {s.instruction: preds[s.name] for s in SUBTASKS.values()},
                "is_success": self._goal_done,
                "steps_in_subtask": int(self._steps_in_subtask),
            }
        done = self._index >= len(self._chain)
        instr = self._chain_instr
        return {
            "task": list(instr),
            "task_names": list(self._chain),
            "subtask_index": int(self._index),
            "current_subtask": None if done else instr[self._index],
            "completed_subtasks": instr[:self._index],
            "subtask_success": {s.instruction: preds[s.name] for s in SUBTASKS.values()},
            "is_success": bool(done and len(self._chain) > 0),
            "steps_in_subtask": int(self._steps_in_subtask),
        }


def _chain_reward_of(info: Any) -> float:
    """info["chain_reward"] of one step's info dict; ValueError naming the keys when it is not there."""
    if not isinstance(info, Mapping) or CHAIN_REWARD_KEY not in info:
        keys = sorted(info) if isinstance(info, Mapping) else type(info).__name__
        raise ValueError(f"{ENV_NAME}: compute_reward of the chain reward needs a step's info with {CHAIN_REWARD_KEY!r}, "
                         f"got {keys}")
    return float(info[CHAIN_REWARD_KEY])
