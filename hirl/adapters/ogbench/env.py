"""OGBench environments behind hirl's interfaces: one gym.Env around a state-based OGBench env (manipulation:
cube-*, scene, puzzle-*; locomotion: pointmaze-*), in either of two modes chosen at construction.

evaluation (collection=None)   OGBench's task mode: reset(seed=s) runs evaluation task (s % 5) + 1 (or
                               options={"task_id": k}); the episode ends at OGBench's success or step limit
collection="play" / "noisy"    manipulation, mode="data_collection": OGBench's oracles (plan / markov) pursue a
                               random target, a new target is set whenever the oracle is done (as OGBench's data
                               generation does); 1001-step episodes
collection="navigate"          point mazes: a random start cell, a random vertex-cell goal, a new goal each time the
                               goal is reached; the oracle action is the maze's BFS subgoal direction plus noise

Observations are Dicts of float64 (S,) vectors: observation (OGBench's state), achieved_goal (the same state:
goals in OGBench are full observations) and desired_goal (the evaluation task's goal observation, info["goal"];
in collection episodes the navigation goal's observation for mazes, zeros for manipulation, which has none).
info carries is_success (OGBench's success), goal, task = [task name] and completed_subtasks ([task name] once
successful); in collection episodes task / completed_subtasks list the oracle's target labels (hirl.data.ogbench.
labels), so the chain_progress detector starts a new segment at each new target. Needs the `ogbench` extra."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from hirl.adapters.ogbench.labels import cell_label, target_label
from hirl.errors import InputError

COLLECTIONS = ("play", "noisy", "navigate")  # dataset styles (OGBench's dataset types)
COLLECTION_STEPS = 1001  # steps per collection episode (OGBench's generation scripts)
MARKOV_MIN_NORM = 0.4  # MarkovOracle minimum action norm (OGBench's generation default)
PLAN_NOISE_SMOOTHING = 0.5  # PlanOracle noise smoothing (OGBench's generation default)
MANIPULATION = ("cube", "scene", "puzzle")  # OGBench manipulation env families (name prefixes)


def family(name: str) -> str:
    """'cube' | 'scene' | 'puzzle' | 'pointmaze' of an OGBench env name such as 'puzzle-3x3-v0'."""
    head = name.split("-")[0]
    if head in MANIPULATION or head == "pointmaze":
        return head
    raise InputError(f"OGBench env {name!r}: hirl supports the state-based manipulation envs (cube-*, scene-*, puzzle-*) "
                     "and point mazes (pointmaze-*); ant / humanoid mazes need pretrained experts, visual-* needs pixels")


def import_ogbench() -> Any:
    """The ogbench package (its import registers its gym ids); InputError naming the extra when missing."""
    try:
        import ogbench
    except ImportError:
        raise InputError("OGBench envs need the ogbench extra: pip install -e '.[ogbench]'") from None
    return ogbench


def stack_probability(name: str, rng: np.random.Generator) -> float:
    """P(stacking the target cube) for one collection episode, as OGBench's generation draws it per env."""
    ranges = {"single": (0.0, 0.0), "double": (0.0, 0.25), "triple": (0.05, 0.35), "quadruple": (0.1, 0.5),
              "octuple": (0.0, 0.35)}
    for key, (lo, hi) in ranges.items():
        if key in name:
            return float(rng.uniform(lo, hi)) if hi > lo else lo
    return 0.5


def maze_cells(maze_map: np.ndarray) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(free cells, vertex cells) of a maze map (H, W) of 0 (free) / 1 (wall): vertex cells are the free cells that
    are not the middle of a straight corridor (OGBench's navigate goals)."""
    free, vertex = [], []
    for i in range(1, maze_map.shape[0] - 1):
        for j in range(1, maze_map.shape[1] - 1):
            if maze_map[i, j] != 0:
                continue
            free.append((i, j))
            up, down, left, right = maze_map[i - 1, j], maze_map[i + 1, j], maze_map[i, j - 1], maze_map[i, j + 1]
            vertical = up == 0 and down == 0 and left == 1 and right == 1
            horizontal = left == 0 and right == 0 and up == 1 and down == 1
            if not (vertical or horizontal):
                vertex.append((i, j))
    return free, vertex


class OgbenchEnv(gym.Env):
    """An OGBench env with hirl's Dict observations and info keys (module docstring). noise: the oracle's noise
    (PlanOracle noise for play, MarkovOracle max noise for noisy, Gaussian std for navigate), set by the expert."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, name: str, collection: str | None = None, render_mode: str | None = None, width: int = 128,
                 height: int = 128, max_episode_steps: int | None = None, p_random_action: float = 0.0) -> None:
        ogbench = import_ogbench()
        self.name, self.family, self.collection = name, family(name), collection
        if collection is not None and collection not in COLLECTIONS:
            raise ValueError(f"collection must be one of {', '.join(COLLECTIONS)} or null, got {collection!r}")
        if not 0 <= p_random_action <= 1 or (p_random_action > 0 and collection not in ("play", "noisy")):
            raise ValueError(f"p_random_action must be in [0, 1] and is for collection play / noisy (OGBench's noisy "
                             f"datasets), got {p_random_action} with collection {collection!r}")
        self.p_random_action = float(p_random_action)  # P(a uniformly random action instead of the oracle's) per step
        if collection == "navigate" and self.family != "pointmaze":
            raise ValueError(f"collection 'navigate' is for point mazes; {name} takes 'play' or 'noisy'")
        if collection in ("play", "noisy") and self.family == "pointmaze":
            raise ValueError(f"{name} is a maze: its dataset style is collection 'navigate'")
        kwargs: dict[str, Any] = {}
        if collection is not None:
            kwargs.update(terminate_at_goal=False, max_episode_steps=max_episode_steps or COLLECTION_STEPS)
            if self.family != "pointmaze":
                kwargs["mode"] = "data_collection"
        elif max_episode_steps is not None:
            kwargs["max_episode_steps"] = max_episode_steps
        if render_mode is not None:
            if self.family == "pointmaze":
                kwargs.update(render_mode=render_mode, width=width, height=height)
            else:
                kwargs.update(width=width, height=height)
        self.render_mode = render_mode
        self._env = ogbench.make_env_and_datasets(self._dataset_name(), env_only=True, **kwargs)
        self.base: Any = self._env.unwrapped  # the OGBench env (untyped dependency)
        space = self._env.observation_space
        vec = gym.spaces.Box(-np.inf, np.inf, shape=space.shape, dtype=np.float64)
        self.observation_space = gym.spaces.Dict({"observation": vec, "achieved_goal": vec, "desired_goal": vec})
        self.action_space = self._env.action_space
        self.spec_steps = int(self._env.spec.max_episode_steps) if self._env.spec and self._env.spec.max_episode_steps else 0
        dt: Any = getattr(self.base, "_control_timestep", None) or getattr(self.base, "dt", 0.05)
        self.dt = float(dt)  # control period (s): 0.05 manipulation, 0.1 point mazes
        self.noise = 0.0
        self._goal = np.zeros(space.shape, np.float64)
        self._task: list[str] = []
        self._completed: list[str] = []
        self._info: dict[str, Any] = {}
        self._ob = np.zeros(space.shape, np.float64)
        self._oracles: dict[str, Any] = {}
        self._oracle_noise = 0.0
        self._oracle: Any = None
        self._label = ""
        self._p_stack, self._xi = 0.5, 0.0
        self._rng = np.random.default_rng(0)
        if self.family == "pointmaze":
            self._free, self._vertex = maze_cells(np.asarray(self.base.maze_map))

    def _dataset_name(self) -> str:
        """A dataset name make_env_and_datasets maps back to `name` (it drops the dataset-type word)."""
        parts = self.name.split("-")
        return "-".join([*parts[:-1], "play" if self.family != "pointmaze" else "navigate", parts[-1]])

    # ------------------------------------------------------------------ tasks
    @property
    def num_tasks(self) -> int:
        return int(self.base.num_tasks)

    def task_name(self, task_id: int) -> str:
        """OGBench's name of evaluation task task_id (1-based), e.g. 'task1_open'."""
        return str(self.base.task_infos[task_id - 1]["task_name"])

    def task_names(self) -> list[str]:
        return [self.task_name(k) for k in range(1, self.num_tasks + 1)]

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        options = dict(options or {})
        if seed is not None:
            np.random.seed(seed % 2**32)  # OGBench's oracles and mazes draw from numpy's global RNG
            self._rng = np.random.default_rng(seed)
        self._completed = []
        if self.collection is None:
            ob, info = self._reset_task(seed, options)
        elif self.collection == "navigate":
            ob, info = self._reset_navigate(seed)
        else:
            ob, info = self._reset_play(seed)
        return self._obs(ob), self._with_keys(info)

    def _reset_task(self, seed: int | None, options: dict[str, Any]) -> tuple[np.ndarray, dict]:
        task_id = options.pop("task_id", None)
        if task_id is None:
            task_id = (seed % self.num_tasks) + 1 if seed is not None else int(np.random.randint(1, self.num_tasks + 1))
        if not 1 <= int(task_id) <= self.num_tasks:
            raise ValueError(f"task_id must be in 1..{self.num_tasks}, got {task_id}")
        ob, info = self._env.reset(seed=seed, options=dict(options, task_id=int(task_id)))
        self._goal = np.asarray(info["goal"], np.float64).copy()
        self._task = [self.task_name(int(task_id))]
        self._ob, self._info = np.asarray(ob, np.float64), dict(info, task_id=int(task_id))
        return ob, self._info

    def _reset_navigate(self, seed: int | None) -> tuple[np.ndarray, dict]:
        init_ij = self._free[np.random.randint(len(self._free))]
        goal_ij = self._vertex[np.random.randint(len(self._vertex))]
        ob, info = self._env.reset(seed=seed, options=dict(task_info=dict(init_ij=init_ij, goal_ij=goal_ij)))
        self._set_maze_goal(goal_ij)
        self._ob, self._info = np.asarray(ob, np.float64), dict(info)
        return ob, self._info

    def _set_maze_goal(self, goal_ij: tuple[int, int]) -> None:
        self.base.set_goal(goal_ij)
        self._goal = np.asarray(self.base.cur_goal_xy, np.float64).copy()  # point-maze observations are (x, y)
        self._label = cell_label(goal_ij)
        self._task = [*self._completed, self._label]

    def _reset_play(self, seed: int | None) -> tuple[np.ndarray, dict]:
        if not self._oracles or self._oracle_noise != self.noise:
            self._oracles, self._oracle_noise = self._make_oracles(), self.noise
        ob, info = self._env.reset(seed=seed)
        self._p_stack = stack_probability(self.name, self._rng)
        self._xi = float(np.random.uniform(0, self.noise)) if self.collection == "noisy" else 0.0
        self._goal = np.zeros_like(self._goal)
        self._start_target(ob, info)
        self._ob, self._info = np.asarray(ob, np.float64), dict(info)
        return ob, self._info

    def _start_target(self, ob: np.ndarray, info: dict[str, Any]) -> None:
        """Hand the env's current target to its oracle and label it."""
        self._oracle = self._oracles[str(info["privileged/target_task"])]
        self._oracle.reset(ob, info)
        in_drawer = False
        if str(info["privileged/target_task"]) == "cube" and hasattr(self.base, "_is_in_drawer"):
            in_drawer = bool(self.base._is_in_drawer(np.asarray(info["privileged/target_block_pos"])))
        bounds = np.asarray(self.base._target_sampling_bounds)
        self._label = target_label(info, bounds, int(getattr(self.base, "_num_cubes", 1)), in_drawer)
        self._task = [*self._completed, self._label]

    def _make_oracles(self) -> dict[str, Any]:
        """OGBench's oracles for this env family: plan oracles for play, markov oracles for noisy."""
        from ogbench.manipspace.oracles.markov.button_markov import ButtonMarkovOracle
        from ogbench.manipspace.oracles.markov.cube_markov import CubeMarkovOracle
        from ogbench.manipspace.oracles.markov.drawer_markov import DrawerMarkovOracle
        from ogbench.manipspace.oracles.markov.window_markov import WindowMarkovOracle
        from ogbench.manipspace.oracles.plan.button_plan import ButtonPlanOracle
        from ogbench.manipspace.oracles.plan.cube_plan import CubePlanOracle
        from ogbench.manipspace.oracles.plan.drawer_plan import DrawerPlanOracle
        from ogbench.manipspace.oracles.plan.window_plan import WindowPlanOracle

        env, n = self._env, self.noise
        if self.collection == "play":
            plan = dict(env=env, noise=n, noise_smoothing=PLAN_NOISE_SMOOTHING)
            if self.family == "cube":
                return {"cube": CubePlanOracle(**plan)}
            if self.family == "puzzle":
                return {"button": ButtonPlanOracle(gripper_always_closed=True, **plan)}
            return {"cube": CubePlanOracle(**plan), "button": ButtonPlanOracle(**plan), "drawer": DrawerPlanOracle(**plan),
                    "window": WindowPlanOracle(**plan)}
        markov = dict(env=env, min_norm=MARKOV_MIN_NORM)
        if self.family == "cube":
            return {"cube": CubeMarkovOracle(**markov)}
        if self.family == "puzzle":
            return {"button": ButtonMarkovOracle(gripper_always_closed=True, **markov)}
        return {"cube": CubeMarkovOracle(max_step=100, **markov), "button": ButtonMarkovOracle(**markov),
                "drawer": DrawerMarkovOracle(**markov), "window": WindowMarkovOracle(**markov)}

    def step(self, action: np.ndarray) -> tuple[dict, SupportsFloat, bool, bool, dict]:
        ob, reward, terminated, truncated, info = self._env.step(np.asarray(action, dtype=np.float64))
        info = dict(info)
        if self.collection == "navigate" and bool(info.get("success")):
            self._completed.append(self._label)
            self._set_maze_goal(self._vertex[np.random.randint(len(self._vertex))])
        elif self.collection in ("play", "noisy") and self._oracle is not None and self._oracle.done:
            self._completed.append(self._label)
            new_ob, new_info = self.base.set_new_target(p_stack=self._p_stack)
            self._start_target(new_ob, dict(new_info))
        if self.collection is None and bool(info.get("success")):
            self._completed = list(self._task)
        self._ob, self._info = np.asarray(ob, np.float64), info
        return self._obs(ob), float(reward), bool(terminated), bool(truncated), self._with_keys(info)

    def _obs(self, ob: np.ndarray) -> dict[str, np.ndarray]:
        ob = np.asarray(ob, np.float64)
        return {"observation": ob.copy(), "achieved_goal": ob.copy(), "desired_goal": self._goal.copy()}

    def _with_keys(self, info: dict[str, Any]) -> dict[str, Any]:
        """info with hirl's keys (module docstring)."""
        success = bool(info.get("success", False)) if self.collection is None else bool(self._completed)
        return dict(info, is_success=success, goal=self._goal.copy(), task=list(self._task),
                    completed_subtasks=list(self._completed), target_label=self._label)

    def render(self) -> Any:
        return self.base.render()

    def close(self) -> None:
        self._env.close()

    # ------------------------------------------------------------------ the oracle, for hirl's scripted expert
    def target(self) -> str:
        """The label of what the oracle pursues now (collection) or the evaluation task's name."""
        return self._label if self.collection is not None else (self._task[0] if self._task else "")

    def oracle_action(self) -> np.ndarray:
        """(A,) the oracle's next action in [-1, 1] at the current state: OGBench's oracle of the current target
        (collection; with probability p_random_action a uniformly random action instead, as OGBench's noisy datasets
        draw), or, on mazes, the BFS subgoal direction toward the current goal plus Gaussian noise."""
        if self.family == "pointmaze":
            xy = np.asarray(self.base.get_xy(), np.float64)
            goal_xy = np.asarray(self.base.cur_goal_xy, np.float64)
            sub, _ = self.base.get_oracle_subgoal(xy, goal_xy)
            direction = (sub - xy) / (np.linalg.norm(sub - xy) + 1e-6)
            action = direction + np.random.normal(0.0, self.noise, size=direction.shape)
            return np.clip(action, -1.0, 1.0)
        if self._oracle is None:
            raise InputError(f"{self.name}: OGBench ships oracles for its data-collection targets only, not for the "
                             "evaluation tasks; the expert exists with env_kwargs collection: play | noisy")
        if self.p_random_action > 0 and np.random.rand() < self.p_random_action:  # OGBench's generate_manipspace.py
            space: Any = self.action_space
            return np.clip(np.random.uniform(space.low, space.high), -1.0, 1.0)
        action = np.asarray(self._oracle.select_action(self._ob, self._info), np.float64)
        if self.collection == "noisy":
            xi = self._xi
            action = action + np.random.normal(0.0, [xi, xi, xi, 3 * xi, 10 * xi], action.shape)
        return np.clip(action, -1.0, 1.0)


def ogbench_names(families: Sequence[str] = ("cube", "scene", "puzzle", "pointmaze")) -> list[str]:
    """Every state-based OGBench goal-conditioned env name of these families registered by the installed ogbench
    (e.g. 'cube-double-v0', 'puzzle-4x5-v0', 'pointmaze-giant-v0'); [] without ogbench."""
    try:
        import_ogbench()
    except InputError:
        return []
    out = []
    for env_id in gym.registry:
        head = env_id.split("-")[0]
        if head in families and "singletask" not in env_id and "oraclerep" not in env_id:
            out.append(env_id)
    return sorted(out)
