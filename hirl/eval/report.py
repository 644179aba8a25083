"""What `hirl eval` writes besides report.json: the chain-success and per-subtask plots and summary.md (chain
metrics, per-subtask success, the instruction-map table)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval (low, high) of a success rate of successes / trials (scipy's binomtest)."""
    from scipy.stats import binomtest

    ci = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Mean of a - b over paired items (the same evaluation chains) and its 95 % normal interval: {"mean", "ci95":
    [low, high], "n"}; a and b of equal length n (ci95 is [mean, mean] for n = 1)."""
    if len(a) != len(b) or not len(a):
        raise ValueError(f"paired_difference: {len(a)} vs {len(b)} items, need the same number (> 0)")
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    half = 1.96 * float(d.std(ddof=1)) / np.sqrt(len(d)) if len(d) > 1 else 0.0
    mean = float(d.mean())
    return {"mean": round(mean, 4), "ci95": [round(mean - half, 4), round(mean + half, 4)], "n": len(d)}


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _agents(reports: Sequence[dict[str, Any]]) -> list[str]:
    """The agents of the reports, in order of first appearance."""
    return list(dict.fromkeys(name for r in reports for name in r["policies"]))


def plot_chain_success(reports: Sequence[dict[str, Any]], path: Path) -> Path:
    """Success rate at each chain length, one line per agent. One report: the band is the 95 % Wilson interval over
    its chains; several (one per seed, same protocol): the line is the mean over seeds, the band their min-max."""
    from matplotlib.ticker import MaxNLocator

    if not reports:
        raise ValueError(f"{path}: no reports to plot")
    plt, first = _pyplot(), reports[0]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in _agents(reports):
        runs = [r["policies"][name] for r in reports if name in r["policies"]]
        ks = sorted({int(k) for m in runs for k in m["success_at_length"]})
        if not ks:  # no chain lengths (an env without chains): nothing to draw for this agent
            continue
        rates = np.array([[m["success_at_length"].get(str(k), np.nan) for k in ks] for m in runs])  # (seeds, K)
        mean = np.nanmean(rates, axis=0)
        if len(runs) > 1:
            low, high = np.nanmin(rates, axis=0), np.nanmax(rates, axis=0)
        else:
            n = first["episodes"]  # every chain is eligible at every length up to the chain length
            low, high = np.array([wilson(round(r * n), n) for r in mean]).T
        line, = ax.plot(ks, mean, marker="o",
                        label=f"{name} (avg len {np.mean([m['avg_chain_length'] for m in runs]):.2f})")
        ax.fill_between(ks, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel("subtasks completed in a row (chain length)")
    ax.set_ylabel("success rate (chains completing at least that many)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # chain lengths are whole numbers of subtasks
    ax.set_ylim(0, 1.05)
    band = (f"mean of {len(reports)} seeds, band: min-max over seeds" if len(reports) > 1
            else "band: 95 % Wilson interval")
    ax.set_title(f"{first['env']}: success vs chain length, {first['episodes']} chains per agent\n({band})", fontsize=10)
    ax.grid(alpha=0.3)
    legend_outside(ax)
    return save_figure(fig, path)


def plot_subtask_success(reports: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """Per-subtask success rate (completed / attempted, summed over the reports: seeds) as horizontal bars, one per
    agent in each subtask's group, with the 95 % Wilson interval of the pooled counts; None (nothing written) when no
    agent attempted any subtask (envs without chains)."""
    counts: dict[str, dict[str, list[int]]] = {}  # agent -> subtask -> [completed, attempted]
    for r in reports:
        for name, m in r["policies"].items():
            for subtask, c in (m.get("per_subtask") or {}).items():
                pair = counts.setdefault(name, {}).setdefault(subtask, [0, 0])
                pair[0] += c["completed"]
                pair[1] += c["attempted"]
    subtasks = sorted({s for per in counts.values() for s in per})
    if not subtasks:
        return None
    plt, names = _pyplot(), [a for a in _agents(reports) if a in counts]
    height = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(7, 0.5 + len(subtasks) * (0.25 + 0.2 * len(names))))
    for j, name in enumerate(names):
        y = np.arange(len(subtasks)) + (j - (len(names) - 1) / 2) * height
        done, tried = (np.array([counts[name].get(s, [0, 0])[i] for s in subtasks]) for i in (0, 1))
        rate = np.where(tried > 0, done / np.maximum(tried, 1), 0.0)
        ci = np.array([wilson(int(d), int(t)) if t else (0.0, 0.0) for d, t in zip(done, tried, strict=True)])
        ax.barh(y, rate, height, xerr=np.abs(ci.T - rate), capsize=2, label=name)
        for yi, d, t in zip(y, done, tried, strict=True):
            ax.text(1.02, yi, f"{d}/{t}" if t else "-", va="center", fontsize=6)
    ax.set_yticks(np.arange(len(subtasks)), subtasks, fontsize=8)
    ax.invert_yaxis()  # first subtask on top
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("success rate (completed / attempted; bars: 95 % Wilson interval)")
    seeds = f" x {len(reports)} seeds" if len(reports) > 1 else ""
    ax.set_title(f"{reports[0]['env']}: per-subtask success, {reports[0]['episodes']} chains per agent{seeds}",
                 fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    legend_outside(ax)
    return save_figure(fig, path)


def legend_outside(ax: Any, fontsize: float = 8) -> None:
    """The axes' legend to the right of the plot, where it cannot cover the data (save_figure keeps it in the PNG)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=fontsize, borderaxespad=0.0)


def save_figure(fig: Any, path: Path) -> Path:
    """Write a matplotlib figure as PNG atomically (temp file + rename) and close it."""
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def _p50_p99(d: dict[str, float] | None) -> str:
    """A latency entry {"p50", "p99", ...} in ms as "p50 / p99" ("-" when there is none)."""
    return f"{d['p50']:.2f} / {d['p99']:.2f}" if d else "-"


def summary_markdown(report: dict[str, Any]) -> str:
    """The Markdown summary of a report: the chain metrics of every agent, their per-subtask success and, when the
    report has one, the instruction-map table."""
    parts = [chain_markdown(report), per_subtask_markdown(report), instruction_map_markdown(report),
             instruction_map_markdown(report, "instruction_map_grounded")]
    return "\n".join(p for p in parts if p)


def chain_markdown(report: dict[str, Any]) -> str:
    """A Markdown table comparing the chain metrics of the agents of a report."""
    lines = [f"# {report['env']}: {report['episodes']} chains of {report['chain_length']} subtasks", "",
             "| agent | success rate | avg chain length | " + " | ".join(f"len>={k}" for k in range(1, 6)) +
             " | high-level queries/ep | replans/ep | step ms p50/p99 | head-step ms p50/p99 | HL query ms p50/p99 "
             "| warm-up ms |",
             "|---|---|---|" + "---|" * 5 + "---|---|---|---|---|---|"]
    for name, m in report["policies"].items():
        lat = m.get("latency") or {}
        lines.append(f"| {name} | {m['success_rate']:.3f} | {m['avg_chain_length']:.2f} | " + " | ".join(_at_length(m)) +
                     f" | {m['high_level_queries_per_episode']:.1f} | {m['replans_per_episode']:.1f} | "
                     f"{_p50_p99(lat.get('control_step_ms'))} | {_p50_p99(lat.get('inference_step_ms'))} | "
                     f"{_p50_p99(lat.get('high_level_query_ms'))} | {_warmup(lat.get('warmup_ms'))} |")
    return "\n".join(lines) + "\n"


def _warmup(d: dict[str, float] | None) -> str:
    """warmup_ms {"control_step", "high_level_query"?} as "step" or "step (query)" in ms; "-" without one."""
    if not d:
        return "-"
    query = d.get("high_level_query")
    return f"{d['control_step']:.0f}" + (f" (HL {query:.0f})" if query is not None else "")


def _at_length(m: dict[str, Any]) -> list[str]:
    """success_at_length[1..5] of an agent's metrics, two decimals (nan where no chain was that long)."""
    return [f"{m['success_at_length'].get(str(k), float('nan')):.2f}" for k in range(1, 6)]


def _rate_cell(s: dict[str, Any] | None) -> str:
    """{"attempted", "completed", "success"} as "0.75 (6/8)"; "-" when nothing was attempted."""
    if not s or not s["attempted"]:
        return "-"
    return f"{s['success']:.2f} ({s['completed']}/{s['attempted']})"


def per_subtask_markdown(report: dict[str, Any]) -> str:
    """Subtask x agent table of per-subtask success "rate (completed/attempted)"; "" when no agent attempted any
    subtask (envs without chains, or reports written before per_subtask existed)."""
    tables = {name: m["per_subtask"] for name, m in report["policies"].items() if m.get("per_subtask")}
    subtasks = sorted({s for t in tables.values() for s in t})
    if not subtasks:
        return ""
    names = list(tables)
    lines = ["## Per-subtask success", "",
             "completed / attempted; an attempt is each completed subtask plus the one a chain stopped at; "
             "\"-\": never attempted.", "",
             "| subtask | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {s} | " + " | ".join(_rate_cell(tables[a].get(s)) for a in names) + " |" for s in subtasks]
    return "\n".join(lines) + "\n"


def instruction_map_markdown(report: dict[str, Any], key: str = "instruction_map") -> str:
    """The variants' chain metrics beside the canonical baseline, and the per-phrasing success table ("" when the
    report has no such section; key "instruction_map_grounded": the phrasings grounded to known skills first)."""
    sec = report.get(key)
    if not sec:
        return ""
    agent, base = sec["agent"], report["policies"][sec["agent"]]
    grounded = ", each phrasing grounded to a known skill first" if key == "instruction_map_grounded" else ""
    lines = [f"## Instruction map `{sec['file']}` ({agent}, {len(sec['variants'])} variants{grounded})", "",
             f"Every variant runs the same chains as {agent}; {sec['cycling']}; unmapped instructions keep their "
             "canonical text.", "",
             "| variant | success rate | avg chain length | " + " | ".join(f"len>={k}" for k in range(1, 6)) + " |",
             "|---|---|---|" + "---|" * 5,
             _variant_row("canonical", base)]
    lines += [_variant_row(str(j), v) for j, v in enumerate(sec["variants"])]
    lines += ["", "| instruction | phrasing | success (completed/attempted) | vs canonical |", "|---|---|---|---|"]
    for canonical, phrasings in sec["per_phrasing"].items():
        baseline = sec["baseline"].get(canonical)
        lines.append(f"| {canonical} | *canonical* | {_rate_cell(baseline)} | |")
        for phrasing, s in phrasings.items():
            lines.append(f"| | {phrasing} | {_rate_cell(s)} | {_difference(s, baseline)} |")
    return "\n".join(lines) + "\n"


def _variant_row(label: str, m: dict[str, Any]) -> str:
    """One row of the variants table: success rate, average chain length, success at length 1..5."""
    return f"| {label} | {m['success_rate']:.3f} | {m['avg_chain_length']:.2f} | " + " | ".join(_at_length(m)) + " |"


def _difference(s: dict[str, Any] | None, baseline: dict[str, Any] | None) -> str:
    """success(s) - success(baseline) as "+0.10"; "" when either was never attempted."""
    if not s or not baseline or not s["attempted"] or not baseline["attempted"]:
        return ""
    return f"{s['success'] - baseline['success']:+.2f}"
