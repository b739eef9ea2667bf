"""PNG plots of routing results: strategies and threshold curves, and `llmswitch eval`'s per-router plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from llmswitch.training.metrics import StrategyResult, ThresholdCurve, apgr

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from llmswitch.training.report import SplitFigures


def matplotlib_pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def save_figure(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    matplotlib_pyplot().close(fig)
    return path


def plot_quality_vs_cost(
    path: Path, results: Sequence[StrategyResult], curves: Sequence[ThresholdCurve] = ()
) -> Path:
    """Strategies as points and threshold curves as lines, quality against total cost; PNG."""
    fig, ax = matplotlib_pyplot().subplots(figsize=(7, 5))
    for curve in curves:
        ax.plot(curve.total_cost, curve.quality, label=curve.name)
    for result in results:
        ax.scatter([result.total_cost], [result.quality], color="black", zorder=3)
        ax.annotate(result.name, (result.total_cost, result.quality), fontsize=8)
    ax.set_xlabel("total cost (US$)")
    ax.set_ylabel("mean quality")
    if curves:
        ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_quality_vs_strong_share(path: Path, curves: Sequence[ThresholdCurve]) -> Path:
    """Quality against the share of queries sent to the strong model; PNG."""
    fig, ax = matplotlib_pyplot().subplots(figsize=(7, 5))
    for curve in curves:
        ax.plot(
            100 * curve.strong_share, curve.quality, label=f"{curve.name} (APGR {apgr(curve):.3f})"
        )
    ax.set_xlabel("strong-model calls (%)")
    ax.set_ylabel("mean quality")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)



def plot_router_costs(path: Path, fig: SplitFigures) -> Path:
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


def plot_router_latency(path: Path, fig: SplitFigures) -> Path:
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
