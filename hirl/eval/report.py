"""What `hirl eval` writes besides report.json: the chain-success plot and summary.md (chain metrics, per-subtask
success, the instruction-map table)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_report(report: dict[str, Any], path: Path) -> Path:
    """Success rate at each chain length, one line per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, m in report["policies"].items():
        ks = sorted(m["success_at_length"], key=int)
        ax.plot([int(k) for k in ks], [m["success_at_length"][k] for k in ks], marker="o",
                label=f"{name} (avg len {m['avg_chain_length']:.2f})")
    ax.set_xlabel("subtasks completed in a row (chain length)")
    ax.set_ylabel("success rate (chains completing at least that many)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # chain lengths are whole numbers of subtasks
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{report['env']}: success vs chain length, {report['episodes']} chains per agent")
    ax.grid(alpha=0.3)
    legend_outside(ax)
    return save_figure(fig, path)


def legend_outside(ax: Any, fontsize: float = 8) -> None:
    """The axes' legend to the right of the plot, where it cannot cover the data (save_figure keeps it in the PNG)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=fontsize, borderaxespad=0.0)


def save_figure(fig: Any, path: Path) -> Path:
    """Write a matplotlib figure as PNG atomically (temp file + rename) and close it."""
    import matplotlib.pyplot as plt

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
    parts = [chain_markdown(report), per_subtask_markdown(report), instruction_map_markdown(report)]
    return "\n".join(p for p in parts if p)


def chain_markdown(report: dict[str, Any]) -> str:
    """A Markdown table comparing the chain metrics of the agents of a report."""
    lines = [f"# {report['env']}: {report['episodes']} chains of {report['chain_length']} subtasks", "",
             "| agent | success rate | avg chain length | " + " | ".join(f"len>={k}" for k in range(1, 6)) +
             " | high-level queries/ep | replans/ep | step ms p50/p99 | head-step ms p50/p99 | HL query ms p50/p99 |",
             "|---|---|---|" + "---|" * 5 + "---|---|---|---|---|"]
    for name, m in report["policies"].items():
        lat = m.get("latency") or {}
        lines.append(f"| {name} | {m['success_rate']:.3f} | {m['avg_chain_length']:.2f} | " + " | ".join(_at_length(m)) +
                     f" | {m['high_level_queries_per_episode']:.1f} | {m['replans_per_episode']:.1f} | "
                     f"{_p50_p99(lat.get('control_step_ms'))} | {_p50_p99(lat.get('inference_step_ms'))} | "
                     f"{_p50_p99(lat.get('high_level_query_ms'))} |")
    return "\n".join(lines) + "\n"


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


def instruction_map_markdown(report: dict[str, Any]) -> str:
    """The variants' chain metrics beside the canonical baseline, and the per-phrasing success table ("" when the
    report has no "instruction_map" section)."""
    sec = report.get("instruction_map")
    if not sec:
        return ""
    agent, base = sec["agent"], report["policies"][sec["agent"]]
    lines = [f"## Instruction map `{sec['file']}` ({agent}, {len(sec['variants'])} variants)", "",
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
