"""What `hirl eval` writes besides report.json: the chain-success plot and the Markdown comparison table."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_report(report: dict[str, Any], path: Path) -> Path:
    """Success rate at each chain length, one line per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, m in report["policies"].items():
        ks = sorted(m["success_at_length"], key=int)
        ax.plot([int(k) for k in ks], [m["success_at_length"][k] for k in ks], marker="o",
                label=f"{name} (avg len {m['avg_chain_length']:.2f})")
    ax.set_xlabel("subtasks completed in a row (chain length)")
    ax.set_ylabel("success rate")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{report['env']}: {report['episodes']} chains")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


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
    """A Markdown table comparing the agents of a report."""
    lines = [f"# {report['env']}: {report['episodes']} chains of {report['chain_length']} subtasks", "",
             "| agent | success rate | avg chain length | " + " | ".join(f"len>={k}" for k in range(1, 6)) +
             " | high-level queries/ep | replans/ep | step ms p50/p99 | HL query ms p50/p99 |",
             "|---|---|---|" + "---|" * 5 + "---|---|---|---|"]
    for name, m in report["policies"].items():
        at = [f"{m['success_at_length'].get(str(k), float('nan')):.2f}" for k in range(1, 6)]
        lat = m.get("latency") or {}
        lines.append(f"| {name} | {m['success_rate']:.3f} | {m['avg_chain_length']:.2f} | " + " | ".join(at) +
                     f" | {m['high_level_queries_per_episode']:.1f} | {m['replans_per_episode']:.1f} | "
                     f"{_p50_p99(lat.get('control_step_ms'))} | {_p50_p99(lat.get('high_level_query_ms'))} |")
    return "\n".join(lines) + "\n"
