"""The environment benchmark of `hirl bench envs`: environment step rate against raw mj_step on the same model (same
run), render cost per frame, and scripted-expert success (per subtask and chain length on Tabletop, per layout on
Maze), as a Markdown table that says how each number was measured."""
from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import mujoco
import numpy as np

from hirl.errors import InputError


@runtime_checkable
class _MujocoEnv(Protocol):
    """What step_rate needs of an unwrapped env: its MuJoCo model and data, and physics steps per control step."""

    model: mujoco.MjModel
    data: mujoco.MjData
    frame_skip: int


def step_rate(env_id: str, steps: int = 4000, seed: int = 0, unwrapped: bool = True, **kwargs: Any) -> dict[str, float]:
    """Control steps/s of env.step (random actions, resets at episode end) vs mj_step(nstep=frame_skip) on a copy of
    the same model/data, interleaved in blocks so machine noise hits both alike. unwrapped=False measures the
    gym.make stack (TimeLimit, OrderEnforcing, PassiveEnvChecker) too."""
    import hirl_envs  # noqa: F401  (registers the envs with gymnasium)

    wrapped = gym.make(env_id, **kwargs)
    env = wrapped.unwrapped if unwrapped else wrapped
    base = wrapped.unwrapped
    if not isinstance(base, _MujocoEnv):
        raise InputError(f"{env_id}: not a MuJoCo env (step_rate needs its model, data and frame_skip)")
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(200)]  # sampled up front: not part of the step cost
    raw_data = mujoco.MjData(base.model)
    mujoco.mj_copyData(raw_data, base.model, base.data)
    env_time = raw_time = 0.0
    block = 200
    for _ in range(steps // block):
        t0 = time.perf_counter()
        for i in range(block):
            _, _, terminated, truncated, _ = env.step(actions[i % len(actions)])
            if terminated or truncated:
                env.reset()
        env_time += time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(block):
            mujoco.mj_step(base.model, raw_data, nstep=base.frame_skip)
        raw_time += time.perf_counter() - t0
    wrapped.close()
    n = steps // block * block
    return {"env_steps_per_s": n / env_time, "raw_steps_per_s": n / raw_time, "ratio": raw_time / env_time}


def render_ms(env_id: str, size: int, frames: int = 30, **kwargs: Any) -> float:
    import hirl_envs  # noqa: F401  (registers the envs with gymnasium)

    env = gym.make(env_id, render_mode="rgb_array", width=size, height=size, **kwargs)
    env.reset(seed=0)
    env.render()  # first frame creates the GL context
    t0 = time.perf_counter()
    for _ in range(frames):
        env.step(env.action_space.sample())
        env.render()
    elapsed = time.perf_counter() - t0
    env.close()
    return 1000.0 * elapsed / frames


def bench_envs(episodes: int, seed: int) -> str:
    from hirl.eval.expert import maze_expert_success as maze_success
    from hirl.eval.expert import tabletop_expert_success as tabletop_success

    lines = ["## Environment benchmark", "", f"Command: `hirl bench envs --episodes {episodes} --seed {seed}`", ""]
    lines += ["### Step rate (control steps/s; env.step vs raw mj_step x frame_skip on the same model, "
              "interleaved in one run)", "",
              "| env | stack | env steps/s | raw steps/s | ratio env/raw |", "|---|---|---|---|---|"]
    stepped: tuple[tuple[str, dict[str, Any]], ...] = (("hirl/Tabletop-v0", {}), ("hirl/Maze-v0", {"layout": "large"}))
    for env_id, kwargs in stepped:
        for unwrapped in (True, False):
            r = step_rate(env_id, seed=seed, unwrapped=unwrapped, **kwargs)
            stack = "env.unwrapped" if unwrapped else "gym.make"
            lines.append(f"| {env_id} {kwargs or ''} | {stack} | {r['env_steps_per_s']:.0f} | {r['raw_steps_per_s']:.0f} "
                         f"| {r['ratio']:.2f} |")
    lines += ["", "### Render cost (ms per frame, EGL on CPU, mean of 30 frames)", "", "| env | 64x64 | 128x128 |",
              "|---|---|---|"]
    for env_id in ("hirl/Tabletop-v0", "hirl/Maze-v0"):
        lines.append(f"| {env_id} | {render_ms(env_id, 64):.1f} | {render_ms(env_id, 128):.1f} |")
    lines += ["", f"### Scripted expert success ({episodes} episodes each, noise 0.05)", ""]
    lines += ["| Tabletop chain length | episodes | chain success | avg subtasks completed |", "|---|---|---|---|"]
    per_subtask: dict[str, list[float]] = {}
    for length in range(1, 6):
        res = tabletop_success(n_episodes=episodes, chain_length=length, noise=0.05, seed=seed + length)
        lines.append(f"| {length} | {episodes} | {res['success_rate']:.3f} | {res['avg_chain_length']:.2f} |")
        for name, rate in res["per_subtask"].items():
            per_subtask.setdefault(name, []).append(rate)
    lines += ["", "| Tabletop subtask | success (mean over the chain lengths it appeared in) |", "|---|---|"]
    for name, rates in sorted(per_subtask.items()):
        lines.append(f"| {name} | {np.mean(rates):.3f} |")
    lines += ["", "| Maze layout | episodes | success | mean steps |", "|---|---|---|---|"]
    for layout in ("u", "medium", "large"):
        res = maze_success(layout=layout, n_episodes=episodes, noise=0.05, seed=seed)
        lines.append(f"| {layout} | {episodes} | {res['success_rate']:.3f} | {res['mean_steps']:.0f} |")
    return "\n".join(lines) + "\n"
