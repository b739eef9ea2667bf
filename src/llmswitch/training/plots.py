"""Per-router plots of `llmswitch eval`: quality against cost and against latency (PNG)."""

from __future__ import annotations

from pathlib import Path

from llmswitch.training.metrics import matplotlib_pyplot, save_figure
from llmswitch.training.report import SplitFigures


def plot_quality_vs_cost(path: Path, fig: SplitFigures) -> Path:
    """Each router's operating curve (line) and operating point (± spread); baselines as points."""
    figure, ax = matplotlib_pyplot().subplots(figsize=(8, 5.5))
    for name, curve in fig.curves.items():
        (line,) = ax.plot(curve.cost / len(fig.table.query_ids) * 1000, curve.quality, alpha=0.6, label=name)
        row, s = fig.rows[name], fig.spread[name]
        ax.errorbar([row["cost_per_1k"]], [row["quality"]], xerr=[s.get("cost_per_1k", 0)], yerr=[s.get("quality", 0)],
                    fmt="o", color=line.get_color(), capsize=3)
    for name, row in fig.rows.items():
        if name not in fig.curves:
            ax.scatter([row["cost_per_1k"]], [row["quality"]], color="black", zorder=3)
            ax.annotate(name, (row["cost_per_1k"], row["quality"]), fontsize=8)
    ax.set_xlabel("cost per 1,000 queries (US$)")
    ax.set_ylabel("mean quality")
    if fig.curves:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(figure, path)


def plot_quality_vs_latency(path: Path, fig: SplitFigures) -> Path:
    """Each strategy's mean latency and quality, with their spread."""
    figure, ax = matplotlib_pyplot().subplots(figsize=(8, 5.5))
    for name, row in fig.rows.items():
        s = fig.spread[name]
        ax.errorbar([row["latency"]], [row["quality"]], xerr=[s.get("latency", 0)], yerr=[s.get("quality", 0)],
                    fmt="o", capsize=3, label=name)
    ax.set_xlabel("mean latency (s)")
    ax.set_ylabel("mean quality")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(figure, path)
