"""Where a low level fails: per-subtask success and, for every failed subtask, the phase of the scripted expert's
phase machine the task was in (Tabletop).

    python -m hirl.eval.diagnose RUN --agent oracle_high --episodes 100 --out DIR   # DIR/diagnosis.{json,md}
    hirl compare before=DIR1 after=DIR2                                            # a side-by-side table

An agent (default oracle_high: the expert's high level driving the run's language low level) runs chains through the
one rollout path (hirl.hierarchy.rollout.run_episode). A noise-free shadow TabletopExpert is stepped on the same
observations (its action is discarded), so at every step its phase machine says where the subtask stands (approach,
descend, grasp, lift, carry, lower, release, ...; hirl_envs.tabletop.expert.PHASES). For every attempted subtask the
diagnosis records success and, for a failure, the shadow's phase at the last step, the furthest phase reached, the
steps spent per phase, and geometric facts of the final state (block held, gripper-object and object-target
distances, finger gap, gripper speed, the policy's and the expert's grip commands over the last steps).
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hirl.errors import InputError
from hirl.fileio import atomic_write_json, atomic_write_text
from hirl.hierarchy.rollout import Agent, CommandFn, run_episode
from hirl.types import Observation

WINDOW = 20  # last control steps of a failed attempt averaged into its grip / speed facts
OPEN_GAP = 0.048  # finger gap (m) above which the gripper counts as open (the env's "released" test)


@dataclass
class Attempt:
    """One attempted subtask of one chain.

    episode, seed     chain number i and its env seed; position: index of the subtask in the chain
    subtask, kind     subtask name and its kind (pick, place, stack, open_drawer, ...); success; steps spent on it
    phase             the shadow expert's phase at the last step (failures only; None for successes)
    furthest          the furthest phase of the phase machine's order reached during the attempt
    phase_steps       control steps spent in each phase during the attempt
    facts             geometry of the final state (failures only): held (bool, block subtasks), gripper_object_m,
                      object_target_m, gap_m, gripper ("open" | "closed"), speed_m_s, policy_grip, expert_grip
                      (means over the last WINDOW steps), physics_error"""

    episode: int
    seed: int
    position: int
    subtask: str
    kind: str
    success: bool
    steps: int
    phase: str | None = None
    furthest: str | None = None
    phase_steps: dict[str, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


def _tabletop(env: Any) -> Any:
    from hirl_envs.tabletop.env import TabletopEnv

    base = env.unwrapped
    if not isinstance(base, TabletopEnv):
        raise InputError(f"diagnose: needs a hirl/Tabletop-v0 env (the shadow expert's phases), got {type(base).__name__}")
    return base


def final_facts(base: Any, name: str) -> dict[str, Any]:
    """Geometric facts of subtask `name` on the env's current state (base: the unwrapped TabletopEnv).

    gripper_object_m  gripper to the subtask's object (block, handle post or button; m)
    object_target_m   object to where the subtask wants it (block: slot / top of the base block / lift height;
                      drawer: opening still missing; button: press depth still missing; m)"""
    from hirl_envs.tabletop import tasks
    from hirl_envs.tabletop.env import BUTTON_PRESSED, BUTTON_XY

    p = base.phys_state()
    kind, cols = tasks.parse(name)
    out: dict[str, Any] = {"gap_m": round(p.gap, 4), "gripper": "open" if p.gap > OPEN_GAP else "closed"}
    if kind in ("open_drawer", "close_drawer"):
        out["gripper_object_m"] = float(np.linalg.norm(p.grip - base.handle_pos()))
        missing = tasks.DRAWER_OPEN - p.drawer if kind == "open_drawer" else p.drawer - tasks.DRAWER_CLOSED
        out["object_target_m"] = max(float(missing), 0.0)
    elif kind in ("push_button", "turn_on_light", "turn_off_light"):
        button = np.array([BUTTON_XY[0], BUTTON_XY[1], 0.0])
        out["gripper_object_m"] = float(np.linalg.norm(p.grip - button))
        depth = -float(base.data.qpos[base._q_button])  # press depth (m, >= 0)
        out["object_target_m"] = max(-BUTTON_PRESSED - depth, 0.0)
    else:
        b = p.blocks[cols[0]]
        out["held"] = tasks.held(p, cols[0])
        out["gripper_object_m"] = float(np.linalg.norm(p.grip - b))
        if kind == "pick":
            out["object_target_m"] = max(float(tasks.BLOCK_HALF + tasks.LIFT_HEIGHT - b[2]), 0.0)
        elif kind == "place":
            out["object_target_m"] = float(np.linalg.norm(b - base.slot_pos(cols[0])))
        else:
            top = p.blocks[cols[1]] + np.array([0.0, 0.0, 2 * tasks.BLOCK_HALF])
            out["object_target_m"] = float(np.linalg.norm(b - top))
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


class _Tracker:
    """The rollout hooks: steps the shadow expert before each action, keeps per-attempt phase counts and the last
    WINDOW steps' grip commands and gripper speeds."""

    def __init__(self, base: Any) -> None:
        from hirl_envs.tabletop.expert import TabletopExpert

        self.base = base
        self.shadow = TabletopExpert(base, noise=0.0)
        self.reset()

    def reset(self) -> None:
        self.shadow.reset()
        self.index = -1  # subtask_index of the attempt being tracked
        self.names: list[str] = []
        self.attempts: list[dict[str, Any]] = []  # per attempt: phase_steps Counter, furthest index, last phase
        self._windows()

    def _windows(self) -> None:
        """Empty last-WINDOW-steps buffers (a new attempt starts)."""
        self.policy_grip: deque[float] = deque(maxlen=WINDOW)
        self.expert_grip: deque[float] = deque(maxlen=WINDOW)
        self.speed: deque[float] = deque(maxlen=WINDOW)

    def on_step(self, t: int, agent: Agent, obs: Observation, info: Mapping[str, Any]) -> None:
        from hirl_envs.tabletop import tasks
        from hirl_envs.tabletop.expert import PHASES, family

        if t == 0:
            self.names = list(info["task_names"])
        cur = info.get("current_subtask")
        if cur is None:
            return
        if info["subtask_index"] != self.index:
            self.index = int(info["subtask_index"])
            self.attempts.append({"steps": Counter(), "furthest": 0, "phase": None})
            self._windows()
        action = self.shadow.act(obs, cur)
        phase = self.shadow.phase_name
        order = PHASES[family(tasks.parse(self.names[self.index])[0])]
        rec = self.attempts[-1]
        rec["steps"][phase] += 1
        rec["phase"] = phase
        rec["furthest"] = max(rec["furthest"], order.index(phase) if phase in order else 0)
        self.expert_grip.append(float(action[3]))
        vel = obs.get("velocity") if isinstance(obs, Mapping) else None
        if vel is not None:
            self.speed.append(float(np.linalg.norm(np.asarray(vel)[:3])))

    def on_transition(self, t: int, agent: Agent, obs: Observation, action: np.ndarray, reward: float,
                      next_obs: Observation, terminated: bool, truncated: bool, info: Mapping[str, Any]) -> None:
        self.policy_grip.append(float(np.asarray(action)[3]))


def diagnose_agent(agent: Agent, env: Any, command_fn: CommandFn, episodes: int = 100, seed: int = 100_000,
                   chain_length: int = 5) -> list[Attempt]:
    """Run `episodes` chains of `chain_length` subtasks (episode i: seed + i, the evaluation's seeds) and return every
    attempted subtask (a chain stops at its first failure, so each chain has at most one failed attempt)."""
    from hirl_envs.tabletop import tasks
    from hirl_envs.tabletop.expert import PHASES, family

    base = _tabletop(env)
    tracker = _Tracker(base)
    out: list[Attempt] = []
    for i in range(episodes):
        tracker.reset()
        r = run_episode(env, agent, command_fn, seed=seed + i, options={"chain_length": chain_length},
                        on_step=tracker.on_step, on_transition=tracker.on_transition)
        k = len(r.completed)
        for j, name in enumerate(tracker.names[: k + 1]):
            kind = tasks.parse(name)[0]
            rec = tracker.attempts[j] if j < len(tracker.attempts) else {"steps": Counter(), "furthest": 0, "phase": None}
            a = Attempt(episode=i, seed=seed + i, position=j, subtask=name, kind=kind, success=j < k,
                        steps=r.subtask_steps[j] if j < k else int(sum(rec["steps"].values())),
                        furthest=PHASES[family(kind)][rec["furthest"]], phase_steps=dict(rec["steps"]))
            if not a.success:
                a.phase = rec["phase"]
                a.facts = final_facts(base, name)
                a.facts["speed_m_s"] = round(float(np.mean(tracker.speed)), 4) if tracker.speed else None
                a.facts["policy_grip"] = round(float(np.mean(tracker.policy_grip)), 3) if tracker.policy_grip else None
                a.facts["expert_grip"] = round(float(np.mean(tracker.expert_grip)), 3) if tracker.expert_grip else None
                a.facts["physics_error"] = r.physics_error
            out.append(a)
    return out


# ---------------------------------------------------------------------------------------------- summary
def _rate(wins: int, n: int) -> float | None:
    return round(wins / n, 3) if n else None


def summarize(attempts: Sequence[Attempt], episodes: int) -> dict[str, Any]:
    """JSON-ready summary: avg chain length, per kind and per subtask success, failures by phase (per kind), and the
    medians of the failure facts per kind."""
    from hirl_envs.tabletop.expert import PHASES, family

    by_kind: dict[str, list[Attempt]] = defaultdict(list)
    by_name: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_kind[a.kind].append(a)
        by_name[a.subtask].append(a)
    kinds: dict[str, Any] = {}
    for kind, group in sorted(by_kind.items()):
        fails = [a for a in group if not a.success]
        order = PHASES[family(kind)]
        phases = Counter(a.phase for a in fails)
        order = (*order, *sorted(str(p) for p in phases if p not in order))  # (a phase no longer named: kept, last)
        wins = len(group) - len(fails)
        entry: dict[str, Any] = {
            "attempts": len(group), "successes": wins, "success_rate": _rate(wins, len(group)),
            "failures_by_phase": {p: phases[p] for p in order if phases[p]},
            "failures_by_furthest_phase": {p: n for p in order if (n := sum(a.furthest == p for a in fails))},
        }
        if fails:
            facts: dict[str, Any] = {}
            for key in ("gripper_object_m", "object_target_m", "gap_m", "speed_m_s", "policy_grip", "expert_grip"):
                vals = [a.facts[key] for a in fails if a.facts.get(key) is not None]
                facts[f"median_{key}"] = round(float(np.median(vals)), 4) if vals else None
            held = [a.facts["held"] for a in fails if "held" in a.facts]
            facts["held"] = sum(held) if held else None
            facts["open"] = sum(a.facts.get("gripper") == "open" for a in fails)
            facts["physics_errors"] = sum(bool(a.facts.get("physics_error")) for a in fails)
            entry["failure_facts"] = facts
        kinds[kind] = entry
    per_subtask = {n: {"attempts": len(g), "success_rate": _rate(sum(a.success for a in g), len(g))}
                   for n, g in sorted(by_name.items())}
    completed = sum(a.success for a in attempts)
    return {"episodes": episodes, "avg_chain_length": round(completed / max(episodes, 1), 3),
            "attempts": len(attempts), "successes": completed, "per_kind": kinds, "per_subtask": per_subtask}


def markdown(summary: Mapping[str, Any], title: str = "") -> str:
    """Two Markdown tables: per subtask kind (success, failures by phase at failure, failure facts) and per subtask."""
    lines = [f"### {title}", ""] if title else []
    lines += [f"{summary['episodes']} chains, avg chain length {summary['avg_chain_length']:.2f}, "
              f"{summary['successes']}/{summary['attempts']} attempted subtasks succeeded.", "",
              "| kind | attempts | success | failures by phase at failure | furthest phase of failures | held at failure "
              "| median gripper-object / object-target (cm) | median policy / expert grip |",
              "|---|---|---|---|---|---|---|---|"]
    for kind, e in summary["per_kind"].items():
        f = e.get("failure_facts", {})

        def cm(key: str, facts: Mapping[str, Any] = f) -> str:
            v = facts.get(key)
            return "-" if v is None else f"{100 * v:.1f}"

        def num(key: str, facts: Mapping[str, Any] = f) -> str:
            v = facts.get(key)
            return "-" if v is None else f"{v:+.2f}"

        phases = ", ".join(f"{p} {n}" for p, n in e["failures_by_phase"].items()) or "-"
        furthest = ", ".join(f"{p} {n}" for p, n in e["failures_by_furthest_phase"].items()) or "-"
        held = "-" if f.get("held") is None else f"{f['held']}/{e['attempts'] - e['successes']}"
        lines.append(f"| {kind} | {e['attempts']} | {e['success_rate']:.2f} | {phases} | {furthest} | {held} "
                     f"| {cm('median_gripper_object_m')} / {cm('median_object_target_m')} "
                     f"| {num('median_policy_grip')} / {num('median_expert_grip')} |")
    lines += ["", "| subtask | attempts | success |", "|---|---|---|"]
    lines += [f"| {n} | {e['attempts']} | {e['success_rate']:.2f} |" for n, e in summary["per_subtask"].items()]
    return "\n".join(lines) + "\n"


def side_by_side(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """One Markdown table comparing diagnoses (label -> summary, e.g. from diagnosis.json files; `hirl compare`
    prints it for diagnosis folders): per subtask kind
    the success rate (successes/attempts) and the failures by phase at failure of each, then the chain length."""
    labels = list(summaries)
    kinds = sorted({k for s in summaries.values() for k in s["per_kind"]})
    head = " | ".join(f"{label} success | {label} failures by phase" for label in labels)
    lines = [f"| kind | {head} |", "|---|" + "---|---|" * len(labels)]
    for kind in kinds:
        cells = []
        for label in labels:
            e = summaries[label]["per_kind"].get(kind)
            if e is None:
                cells += ["-", "-"]
                continue
            phases = ", ".join(f"{p} {n}" for p, n in e["failures_by_phase"].items()) or "-"
            cells += [f"{e['success_rate']:.2f} ({e['successes']}/{e['attempts']})", phases]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    chain = " | ".join(f"**{summaries[label]['avg_chain_length']:.2f}** | {summaries[label]['successes']}/"
                       f"{summaries[label]['attempts']} subtasks" for label in labels)
    lines.append(f"| avg chain length | {chain} |")
    return "\n".join(lines) + "\n"


def read_summary(path: str | Path) -> dict[str, Any]:
    """The summary in a diagnosis.json (path: the file or the --out directory holding it)."""
    p = Path(path)
    p = p / "diagnosis.json" if p.is_dir() else p
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{p}: not a readable diagnosis.json ({exc})") from None
    if not isinstance(data, dict) or "per_kind" not in data:
        raise InputError(f"{p}: not a diagnosis.json (no per_kind section)")
    return data


def diagnose_run(run: str | Path, agent: str = "oracle_high", episodes: int = 100, out: Path | None = None,
                 seed: int | None = None, chain_length: int | None = None) -> dict[str, Any]:
    """Diagnose agent `agent` of a trained run on `episodes` chains (default seeds and chain length: the run's eval
    protocol); writes out/diagnosis.json (summary + every attempt) and out/diagnosis.md when out is given."""
    from hirl.runs import load_agent, run_kind
    from hirl.runs.rundir import as_run_dir

    run_dir = as_run_dir(run).require()
    kind = run_kind(run_dir.kind())
    cfg = kind.load_config(run_dir)
    setup = kind.eval_setup(cfg)
    seed = setup.seed if seed is None else seed
    chain_length = setup.chain_length if chain_length is None else chain_length
    env = kind.make_env(cfg)
    _tabletop(env)
    policy = load_agent(run_dir, agent, env, cfg=cfg)
    t0 = time.perf_counter()
    attempts = diagnose_agent(policy, env, setup.command, episodes, seed, chain_length)
    env.close()
    summary = {"run": str(run_dir.path.resolve()), "agent": agent, "seed": seed, "chain_length": chain_length,
               **summarize(attempts, episodes), "wall_seconds": round(time.perf_counter() - t0, 1)}
    if out is not None:
        atomic_write_json(Path(out) / "diagnosis.json", {**summary, "attempt_records": [asdict(a) for a in attempts]})
        atomic_write_text(Path(out) / "diagnosis.md", markdown(summary, f"{agent} on {run_dir.path}"))
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m hirl.eval.diagnose", description=__doc__.splitlines()[0])
    p.add_argument("run", nargs="?", help="a trained imitation run directory (Tabletop)")
    p.add_argument("--agent", default="oracle_high", help="agent to diagnose (default: oracle_high)")
    p.add_argument("--episodes", type=int, default=100, help="evaluation chains (default 100)")
    p.add_argument("--seed", type=int, default=None, help="first chain's seed (default: the run's eval.seed)")
    p.add_argument("--chain-length", type=int, default=None, help="subtasks per chain (default: the run's eval.chain_length)")
    p.add_argument("--out", type=Path, default=None, help="directory for diagnosis.json and diagnosis.md (compare two "
                                                          "with: hirl compare before=DIR1 after=DIR2)")
    p.add_argument("--compare", nargs="+", default=None, help=argparse.SUPPRESS)  # moved to `hirl compare`
    a = p.parse_args(argv)
    if a.compare:
        raise SystemExit(f"error: diagnoses are compared by: hirl compare {' '.join(a.compare)}")
    if a.run is None:
        p.error("give a RUN to diagnose (compare diagnoses with: hirl compare LABEL=DIR ...)")
    try:
        summary = diagnose_run(a.run, a.agent, a.episodes, a.out, a.seed, a.chain_length)
    except InputError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(markdown(summary, f"{a.agent} on {a.run}"), end="")


if __name__ == "__main__":
    main()
