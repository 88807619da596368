"""PNG plots of the diagnostics (Matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402


def plot_gradient_norms(curves: dict[str, np.ndarray], path, title: str, ylabel: str) -> Path:
    """One line per cell, ``grad_norm`` against distance on a log-scale y axis.

    ``curves[name][d]`` is the value at distance ``d``; zeros (below float64's
    range) and NaNs (no data at that distance) are left out of the line.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (name, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=np.float64)
        distance = np.arange(len(values))
        keep = np.isfinite(values) & (values > 0)
        # Later lines thinner, so a curve another one covers exactly still shows.
        width = max(0.8, 2.8 - 0.25 * i)
        ax.plot(distance[keep], values[keep], label=name, linewidth=width)
    ax.set_yscale("log")
    ax.set_xlabel("distance T − k (steps)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def plot_long_range(rows: list[dict], path, metric: str, chance: float | None = None,
                    distances=None) -> Path:
    """Final ``metric`` against distance, one line per cell (the long-range benchmark)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    cells = list(dict.fromkeys(row["cell"] for row in rows))
    for cell in cells:
        points = sorted((r["distance"], r[metric]) for r in rows if r["cell"] == cell)
        ax.plot([d for d, _ in points], [v for _, v in points], marker="o", label=cell)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xscale("log", base=2)
    distances = sorted(distances or {r["distance"] for r in rows})
    ax.set_xlim(distances[0] / 1.2, distances[-1] * 1.2)
    ax.set_xticks(distances, [str(d) for d in distances])
    ax.set_xlabel("distance (steps between the cue and the answer)")
    ax.set_ylabel(f"test {metric}")
    ax.set_ylim(0, 1.02)
    ax.set_title("Long-range recall after a fixed training budget")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def _save(fig, path) -> Path:
    """Lays out, writes and closes ``fig``; returns the PNG path."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
