"""Figures (matplotlib, an optional dependency: ``pip install neurax[plot]``).

:func:`plot_simulation` draws the recorded voltage traces beside the morphology (x-y projection) coloured
by each compartment's peak voltage; :func:`plot_raster` draws a network's spikes (one row per source) above
its recorded traces.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_simulation", "plot_raster", "morphology_segments"]


def morphology_segments(cell) -> tuple[np.ndarray, np.ndarray]:
    """Line pieces of the morphology in the x-y plane and the node each belongs to.

    Returns:
        ``(lines, nodes)``: ``lines`` of shape ``(m, 2, 2)`` (um) between consecutive 3-D points, and the
        segment node whose span contains each piece's midpoint.
    """
    morph, tree = cell.morphology, cell.tree
    lines, nodes = [], []
    for sec in morph:
        pts = sec.points
        if len(pts) < 2:
            continue
        arc = sec.arc
        mid = 0.5 * (arc[1:] + arc[:-1]) / max(sec.L, 1e-12)
        n = int(tree.nseg[sec.index])
        k = np.minimum((mid * n).astype(int), n - 1)
        lines.append(np.stack([pts[:-1, :2], pts[1:, :2]], axis=1))
        nodes.append(tree.seg_node[tree.seg_offsets[sec.index] + k])
    return np.concatenate(lines), np.concatenate(nodes)


def plot_simulation(solution, cell, path: str, peak: np.ndarray | None = None, title: str = "") -> None:
    """Write a PNG: voltage traces (left) and the morphology coloured by peak voltage (right).

    Args:
        solution: the :class:`~neurax.simulation.Solution`.
        cell: the simulated cell.
        path: output file (PNG).
        peak: peak voltage of every node (mV); without it the morphology is drawn in one colour.
        title: figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    fig, (ax_v, ax_m) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 2]})
    t = np.asarray(solution.t)
    for name, trace in zip(solution.record, np.asarray(solution.v), strict=True):
        ax_v.plot(t, trace, lw=1, label=name)
    ax_v.set_xlabel("t (ms)")
    ax_v.set_ylabel("v (mV)")
    ax_v.legend(loc="upper right", fontsize=8)
    lines, nodes = morphology_segments(cell)
    if peak is not None:
        values = np.asarray(peak)[nodes]
        collection = LineCollection(lines, array=values, cmap="viridis", linewidths=1.0)
        fig.colorbar(collection, ax=ax_m, label="peak v (mV)")
    else:
        collection = LineCollection(lines, colors="k", linewidths=1.0)
    ax_m.add_collection(collection)
    ax_m.autoscale()
    ax_m.set_aspect("equal")
    ax_m.set_xlabel("x (um)")
    ax_m.set_ylabel("y (um)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_raster(spikes: dict, t, solution, path: str, title: str = "") -> None:
    """Write a PNG: a raster of spike times (ms; one row per source, as :meth:`Solution.spike_times` gives
    them) above the recorded voltage traces of ``solution``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_r, ax_v) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    names = list(spikes)
    for row, name in enumerate(names):
        times = np.asarray(spikes[name])
        ax_r.plot(times, np.full(times.size, row), "|", color="k", markersize=6)
    ax_r.set_ylabel("spike source")
    if len(names) <= 30:
        ax_r.set_yticks(range(len(names)), names, fontsize=7)
    ax_r.set_ylim(-0.5, len(names) - 0.5)
    for name, trace in zip(solution.record, np.asarray(solution.v), strict=True):
        ax_v.plot(np.asarray(t), trace, lw=0.8, label=name)
    ax_v.set_xlabel("t (ms)")
    ax_v.set_ylabel("v (mV)")
    if len(solution.record) <= 8:
        ax_v.legend(loc="upper right", fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
