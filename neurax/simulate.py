"""``simulate``: NEURON's fixed-step backward Euler (``secondorder = 0``) as one pure JAX function.

One step from ``t_n``, in NEURON's order (``fadvance.cpp``):

1. ``t += dt/2``; currents see ``t_n + dt/2`` (stimuli are on when ``delay <= t < delay + dur``);
2. each mechanism adds ``-i(v)`` to the right-hand side and ``g = (i(v + 0.001) - i(v)) / 0.001`` to the
   diagonal, stimuli add ``amp 100 / area``; capacitance adds ``cm 0.001 / dt``; axial terms couple each
   node to its parent;
3. the Hines solve gives ``dv`` and ``v += dv`` (zero-area nodes included);
4. ``t += dt/2``; the states advance with the new ``v`` (``cnexp``); one sample is recorded.

``finitialize``: ``v = v_init`` everywhere, states at their steady state for ``v_init``, one sample at
``t = 0``. float64 by default; ``dtype=jnp.float32`` trades accuracy for speed.

The function is pure: the same call works under ``jax.jit``, ``jax.vmap`` and ``jax.grad`` (the cell and
the stimuli are pytrees; ``tstop``, ``dt``, ``record`` and ``rates`` are static).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from neurax.cell import Cell
from neurax.errors import NeuraxError
from neurax.solver.hines import TreeStructure, tree_solve
from neurax.stimuli import IClamp

jax.config.update("jax_enable_x64", True)

__all__ = ["simulate", "Solution"]


@dataclass(frozen=True)
class Solution:
    """Recorded traces.

    Attributes:
        t: sample times (ms), ``t[0] = 0`` then one per step (NEURON's half-step sums).
        v: membrane potential (mV), shape ``(len(record), len(t))`` (batch axes in front under vmap).
        record: the recorded locations, as given.
    """

    t: object
    v: object
    record: tuple[str, ...]

    def __getitem__(self, location: str):
        """The trace recorded at ``location`` (as given to ``record``)."""
        return self.v[..., self.record.index(location), :]


jax.tree_util.register_pytree_node(Solution, lambda s: ((s.t, s.v), s.record),
                                   lambda rec, leaves: Solution(leaves[0], leaves[1], rec))


def _times(tstop: float, dt: float) -> tuple[int, np.ndarray, np.ndarray]:
    if not dt > 0 or not np.isfinite(dt):
        raise NeuraxError(f"dt must be a positive number of ms, got {dt}")
    if not tstop >= 0 or not np.isfinite(tstop):
        raise NeuraxError(f"tstop must be a non-negative number of ms, got {tstop}")
    steps = int(round(tstop / dt))
    halves = np.cumsum(np.full(2 * steps, 0.5 * dt))  # NEURON adds dt/2 twice per step
    return steps, halves[0::2], np.concatenate([[0.0], halves[1::2]])


def simulate(cell: Cell, stimuli: Sequence[IClamp] = (), record: Sequence[str] = ("soma[0](0.5)",), *,
             tstop: float, dt: float = 0.025, v_init=-65.0, celsius=6.3, rates: str = "table",
             dtype=jnp.float64, progress: bool = False) -> Solution:
    """Simulate a cell with NEURON's fixed-step method.

    Args:
        cell: the cell (:class:`~neurax.cell.Cell`).
        stimuli: current clamps.
        record: locations whose voltage to record, e.g. ``["soma[0](0.5)", "dend[3](1)"]``.
        tstop: simulated time (ms); ``round(tstop / dt)`` steps are taken.
        dt: time step (ms).
        v_init: initial membrane potential (mV).
        celsius: temperature (degC), NEURON's default 6.3.
        rates: ``"table"`` (NEURON's default rate tables) or ``"exact"`` (formulas).
        dtype: ``jnp.float64`` (default) or ``jnp.float32``.
        progress: print progress to stderr on long runs (ignored inside ``jit``).

    Returns:
        A :class:`Solution` with times and traces.
    """
    if rates not in ("table", "exact"):
        raise NeuraxError(f"rates must be 'table' or 'exact', got {rates!r}")
    steps, t_mid, t_out = _times(tstop, dt)
    record = tuple(record)
    tree = cell.tree
    rec_nodes = np.array([tree.node_of(r) for r in record], dtype=np.int32)
    stim_nodes = np.array([tree.node_of(s.location) for s in stimuli], dtype=np.int32)
    structure = _structure(cell)
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=dtype), cell.params)
    ctx = {"dt": jnp.asarray(dt, dtype), "celsius": jnp.asarray(celsius, dtype), "rates": rates, "dtype": dtype}
    placements = cell.mechanisms
    for mech, _ in placements:
        ctx.update(mech().prepare(ctx))
    # Stimulus currents per step (steps, n_stim) in the node equations' units.
    area_eq = jnp.where(params["area"] > 0, params["area"], 100.0)
    if len(stimuli):
        t = jnp.asarray(t_mid, dtype)[:, None]
        delay = jnp.stack([jnp.asarray(s.delay, dtype) for s in stimuli])
        dur = jnp.stack([jnp.asarray(s.dur, dtype) for s in stimuli])
        amp = jnp.stack([jnp.asarray(s.amp, dtype) for s in stimuli])
        on = (t >= delay) & (t < delay + dur)
        stim = jnp.where(on, amp * (100.0 / area_eq[stim_nodes]), 0.0)
    else:
        stim = jnp.zeros((steps, 0), dtype)
    # Axial coefficients (NEURON's connection_coef) and the constant part of the diagonal.
    parent = structure.parent
    child = np.flatnonzero(parent >= 0)
    par = parent[child]
    g = params["g_axial"]
    b = jnp.zeros_like(g).at[child].set(-100.0 * g[child] / area_eq[child])
    a = jnp.zeros_like(g).at[child].set(-100.0 * g[child] / area_eq[par])
    d_fixed = params["cm"] * (0.001 / ctx["dt"])
    d_fixed = d_fixed.at[child].add(-b[child]).at[par].add(-a[child])
    n = parent.size
    mech_params = [(mech(), jnp.asarray(nodes), params[mech.name]) for mech, nodes in placements]

    def step(carry, stim_k):
        v, states = carry
        rhs = jnp.zeros(n, dtype)
        d = d_fixed
        for (mech, nodes, p), s in zip(mech_params, states, strict=True):
            vm = v[nodes]
            i_hi = mech.current(vm + 0.001, s, p, ctx)
            i_v = mech.current(vm, s, p, ctx)
            rhs = rhs.at[nodes].add(-i_v)
            d = d.at[nodes].add((i_hi - i_v) / 0.001)
        if stim_nodes.size:
            rhs = rhs.at[stim_nodes].add(stim_k)
        dv = v[par] - v[child]
        rhs = rhs.at[child].add(-b[child] * dv).at[par].add(a[child] * dv)
        v = v + tree_solve(structure, d, a, b, rhs)
        states = tuple(mech.advance(v[nodes], s, p, ctx) for (mech, nodes, p), s in zip(mech_params, states,
                                                                                          strict=True))
        return (v, states), v[rec_nodes]

    v0 = jnp.full(n, v_init, dtype=dtype)
    states0 = tuple(mech.init(v0[nodes], p, ctx) for mech, nodes, p in mech_params)
    carry = (v0, states0)
    traced = isinstance(v0, jax.core.Tracer) or any(isinstance(x, jax.core.Tracer)
                                                     for x in jax.tree_util.tree_leaves((params, stimuli)))
    if progress and not traced and steps > 0:
        trace = _run_with_progress(step, carry, stim, steps)
    else:
        _, trace = lax.scan(step, carry, stim)
    v = jnp.concatenate([v0[rec_nodes][None, :], trace], axis=0).T
    return Solution(t=jnp.asarray(t_out, dtype), v=v, record=record)


def _structure(cell: Cell) -> TreeStructure:
    cache = cell._structure.__dict__.setdefault("_solver", {})
    if "tree" not in cache:
        cache["tree"] = TreeStructure.from_parents(cell.tree.parent)
    return cache["tree"]


def _run_with_progress(step, carry, stim, steps: int, chunks: int = 20):
    import sys
    import time

    size = max(1, -(-steps // chunks))
    run = jax.jit(lambda c, s: lax.scan(step, c, s))
    out = []
    start = time.perf_counter()
    for k in range(0, steps, size):
        carry, trace = run(carry, stim[k:k + size])
        out.append(trace)
        done = min(k + size, steps)
        print(f"\r  simulating: {100 * done / steps:5.1f}% ({done}/{steps} steps, "
              f"{time.perf_counter() - start:.1f} s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return jnp.concatenate(out, axis=0)
