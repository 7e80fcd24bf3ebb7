"""``simulate``: NEURON's fixed-step backward Euler (``secondorder = 0``) as one pure JAX function.

One step from ``t_n``, in NEURON's order (``fadvance.cpp``):

1. ``t += dt/2``; currents see ``t_n + dt/2`` (stimuli are on when ``delay <= t < delay + dur``);
2. each mechanism adds ``-i(v)`` to the right-hand side and its conductance ``g`` to the diagonal
   (NEURON's ``(i(v + 0.001) - i(v)) / 0.001``; hh and pas give the equal analytic slope); stimuli add
   ``amp 100 / area``; capacitance adds ``cm 0.001 / dt``; axial terms couple each node to its parent;
3. the Hines solve gives ``dv`` and ``v += dv`` (zero-area nodes included);
4. ``t += dt/2``; the states advance with the new ``v`` (``cnexp``); one sample is recorded.

``finitialize``: ``v = v_init`` everywhere, states at their steady state for ``v_init``, one sample at
``t = 0``. float64 by default; ``dtype=jnp.float32`` trades accuracy for half the memory and some speed
(0.086 s against 0.110 s for 100 ms of the 1,248-compartment bench cell on the 2-core Xeon).

The function is pure: the same call works under ``jax.jit``, ``jax.vmap`` and ``jax.grad`` (the cell and
the stimuli are pytrees; ``tstop``, ``dt``, ``record`` and ``rates`` are static).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from neurax._jax import jax, jnp, lax
from neurax.adjoint import Step, adjoint_scan
from neurax.batching import cpu_batched
from neurax.cell import Cell
from neurax.engine import Engine
from neurax.errors import NeuraxError
from neurax.geometry import segment_geometry
from neurax.solver.hines import TreeStructure
from neurax.stimuli import IClamp

__all__ = ["simulate", "Solution"]

#: Up to this many current clamps are added to the node equations densely rather than by a scatter.
DENSE_STIMULI = 4


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


def simulate(cell: Cell, stimuli: Sequence[IClamp] = (), record: Sequence[str] | None = None, *,
             tstop: float, dt: float = 0.025, v_init=-65.0, celsius=6.3, rates: str = "table",
             dtype=jnp.float64, progress: bool = False, checkpoint: int | bool | None = None) -> Solution:
    """Simulate a cell with NEURON's fixed-step method.

    Args:
        cell: the cell (:class:`~neurax.cell.Cell`).
        stimuli: current clamps.
        record: locations whose voltage to record, e.g. ``["soma[0](0.5)", "dend[3](1)"]``; by default
            ``soma[0](0.5)``, or the middle of the first section of a cell without a ``soma[0]``.
        tstop: simulated time (ms); ``round(tstop / dt)`` steps are taken.
        dt: time step (ms).
        v_init: initial membrane potential (mV).
        celsius: temperature (degC), NEURON's default 6.3.
        rates: ``"table"`` (NEURON's default rate tables) or ``"exact"`` (formulas).
        dtype: ``jnp.float64`` (default) or ``jnp.float32`` (less exact; half the memory, ~20% faster).
        progress: print progress to stderr on long runs (ignored inside ``jit``).
        checkpoint: for gradients of long simulations: store the state only every ``checkpoint`` steps
            and rerun the steps in between during the backward pass (``True``: about sqrt(steps)).
            Memory then grows with sqrt(steps) instead of steps, for about one extra forward pass.

    Returns:
        A :class:`Solution` with times and traces.
    """
    run = Run(cell, stimuli, record, tstop=tstop, dt=dt, v_init=v_init, celsius=celsius, rates=rates, dtype=dtype)
    if progress and not run.traced and run.steps > 0:
        return run.finish(run.chunked(progress=True))
    if checkpoint:
        size = max(1, round(run.steps ** 0.5)) if checkpoint is True else int(checkpoint)
        return run.finish(run.scan(recompute=size))
    return run.finish(run.scan())


class Run:
    """One simulation set up: the step function, the initial state and the stimulus currents.

    :func:`simulate` is the way to use it; the command line uses it directly to time compilation apart
    from running and to report progress.
    """

    def __init__(self, cell: Cell, stimuli: Sequence[IClamp], record: Sequence[str] | None, *, tstop: float, dt: float,
                 v_init, celsius, rates: str, dtype, peak: bool = False) -> None:
        if rates not in ("table", "exact"):
            raise NeuraxError(f"rates must be 'table' or 'exact', got {rates!r}")
        self.steps, t_mid, self.t_out = _times(tstop, dt)
        self.record = tuple(record) if record is not None else (_default_record(cell),)
        self.dtype = dtype
        tree = cell.tree
        _check_membrane(cell)
        rec_nodes = np.array([tree.node_of(r) for r in self.record], dtype=np.int32)
        stim_nodes = np.array([tree.node_of(s.location) for s in stimuli], dtype=np.int32)
        structure = _structure(cell)
        params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=dtype), cell.params)
        ctx = {"dt": jnp.asarray(dt, dtype), "celsius": jnp.asarray(celsius, dtype), "rates": rates,
               "dtype": dtype}
        engine = _engine(cell, _padding(cell.tree.n_nodes, dtype))
        for mech in {b.mechanism for b in engine.blocks}:
            ctx.update(mech().prepare(params[mech.name], ctx))
        # Segment area and axial conductance from the (scaled) diameters and Ra, with NEURON's formulas,
        # inside the traced function so that gradients reach geometry.
        area, g, diam = node_geometry(cell, params, dtype)
        area_eq = jnp.where(area > 0, area, 100.0)
        # Stimulus currents per step (steps, n_stim), in the node equations' units; a last column holds the
        # time of each step's current pass where a mechanism reads t.
        timed = any(b.mechanism.reads_time for b in engine.blocks)
        if len(stimuli):
            t = jnp.asarray(t_mid, dtype)[:, None]
            delay = jnp.stack([jnp.asarray(s.delay, dtype) for s in stimuli])
            dur = jnp.stack([jnp.asarray(s.dur, dtype) for s in stimuli])
            amp = jnp.stack([jnp.asarray(s.amp, dtype) for s in stimuli])
            on = (t >= delay) & (t < delay + dur)
            self.stim = jnp.where(on, amp * (100.0 / area_eq[stim_nodes]), 0.0)
        else:
            self.stim = jnp.zeros((self.steps, 0), dtype)
        if timed:
            self.stim = jnp.concatenate([self.stim, jnp.asarray(t_mid, dtype)[:, None]], axis=1)
        # Axial coefficients (NEURON's connection_coef) and the constant part of the diagonal.
        parent = structure.parent
        child = np.flatnonzero(parent >= 0)
        par = parent[child]
        b = jnp.zeros_like(g).at[child].set(-100.0 * g[child] / area_eq[child])
        a = jnp.zeros_like(g).at[child].set(-100.0 * g[child] / area_eq[par])
        d_fixed = params["cm"] * (0.001 / ctx["dt"])
        d_fixed = d_fixed.at[child].add(-b[child]).at[par].add(-a[child])
        n = parent.size
        pad = _padding(n, dtype)
        if pad:  # uncoupled extra leaves (a = b = 0, no mechanism, no current): their v stays v_init
            structure = _structure(cell, pad)
            a, b = (jnp.concatenate([x, jnp.zeros(pad, dtype)]) for x in (a, b))
            d_fixed = jnp.concatenate([d_fixed, jnp.ones(pad, dtype)])
            n += pad
        mech_args = engine.arguments(params, area, diam, dtype)

        def inject(rhs, stim_k):
            # A few clamps are added densely (fused with the other terms: a scatter is a kernel launch
            # of its own, which costs more per step than comparing every node with a few indices).
            if stim_nodes.size <= DENSE_STIMULI:
                node = lax.iota(jnp.int32, n)
                return sum((jnp.where(node == k, stim_k[j], 0.0) for j, k in enumerate(stim_nodes)), rhs)
            return rhs.at[stim_nodes].add(stim_k)

        # The step takes every traced array it uses as an argument (args), so that the whole scan can be
        # given its own batching rule (_scan).
        static_ctx = {k: ctx[k] for k in ("rates", "dtype")}

        def assemble(args, v, states, stim_k):
            d_fixed, _, _, mech_args, ctx_arrays = args
            ctx = {**static_ctx, **ctx_arrays}
            if timed:
                ctx["t"], stim_k = stim_k[-1], stim_k[:-1]
            d, rhs = engine.currents(mech_args, v, states, ctx, lambda rhs: inject(rhs, stim_k))
            return d_fixed + d, rhs

        def advance(args, v, states):
            return engine.advance(args[3], v, states, {**static_ctx, **args[4]})

        # The axial currents at v are added inside the solve's loops (cable_solve).
        self.parts = Step(structure, assemble, advance, lambda args: (args[1], args[2]), rec_nodes,
                          engine.state_nodes)

        def step(args, carry, stim_k):
            v, states, vmax = carry
            v, states = self.parts(args, v, states, stim_k)
            if peak:
                vmax = jnp.maximum(vmax, v)
            return (v, states, vmax), v[rec_nodes]

        v0 = jnp.full(n, v_init, dtype=dtype)
        states0 = engine.init(mech_args, v0, ctx)
        ctx_arrays = {k: x for k, x in ctx.items() if k not in static_ctx}
        self.args = (d_fixed, a, b, mech_args, ctx_arrays)
        # Where JAX differentiates the steps themselves (checkpointed(), the tests' reference), each step is
        # rematerialised in the backward pass: only the carry (v and the states) is stored per step,
        # instead of ~35 intermediate arrays (measured: 1.6 GB -> 0.2 GB and faster on 1,248 nodes).
        self._step = jax.checkpoint(step)
        self.step = partial(self._step, self.args)
        self.carry0 = (v0, states0, v0 if peak else jnp.zeros((), dtype))
        self.v0 = v0[rec_nodes]
        self.traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((v0, params, self.stim)))

    def scan(self, recompute: int | None = None):
        """The samples of all steps, from one ``lax.scan`` (in tiles under ``jax.vmap`` on CPU: :mod:`neurax.batching`).

        ``recompute``: differentiate with the adjoint's checkpointing (see :func:`neurax.adjoint.adjoint_scan`).
        """
        return _scan(self._step, self.parts, self.args, self.carry0, self.stim, recompute)

    def finish(self, trace) -> Solution:
        """The :class:`Solution` from the recorded samples of every step."""
        v = jnp.concatenate([self.v0[None, :], trace], axis=0).T
        return Solution(t=jnp.asarray(self.t_out, self.dtype), v=v, record=self.record)

    def checkpointed(self, size: int):
        """All steps as an outer scan over chunks of ``size`` steps whose insides are rematerialised.

        This is JAX's own reverse mode through the time loop, step by step (no adjoint): slower, and kept as
        the independent reference that the adjoint's gradients are tested against.
        """
        chunks = -(-self.steps // size)
        pad = chunks * size - self.steps
        stim = jnp.concatenate([self.stim, jnp.zeros((pad,) + self.stim.shape[1:], self.dtype)])
        stim = stim.reshape((chunks, size) + self.stim.shape[1:])

        @jax.checkpoint
        def chunk(carry, stim_chunk):
            return lax.scan(self.step, carry, stim_chunk)

        _, trace = lax.scan(chunk, self.carry0, stim)
        return trace.reshape((chunks * size,) + trace.shape[2:])[: self.steps]

    def chunked(self, progress: bool = False, chunks: int = 20, timings: dict | None = None):
        """Run in ``chunks`` jitted pieces (one compilation), printing progress; returns the samples.

        ``timings`` (if given) receives ``compile`` and ``run`` seconds and the final ``carry``.
        """
        import sys
        import time

        size = max(1, -(-self.steps // chunks))
        padded = -(-self.steps // size) * size
        stim = jnp.concatenate([self.stim, jnp.zeros((padded - self.steps,) + self.stim.shape[1:], self.dtype)])
        t0 = time.perf_counter()
        run = jax.jit(lambda c, s: lax.scan(self.step, c, s)).lower(self.carry0, stim[:size]).compile()
        t1 = time.perf_counter()
        carry, out = self.carry0, []
        for k in range(0, padded, size):
            carry, trace = run(carry, stim[k:k + size])
            out.append(trace)
            if progress:
                done = min(k + size, self.steps)
                print(f"\r  simulating: {100 * done / self.steps:5.1f}% ({done}/{self.steps} steps, "
                      f"{time.perf_counter() - t1:.1f} s)", end="", file=sys.stderr, flush=True)
        jax.block_until_ready(carry)
        if progress:
            print(file=sys.stderr)
        if timings is not None:
            timings.update(compile=t1 - t0, run=time.perf_counter() - t1, carry=carry)
        return jnp.concatenate(out, axis=0)[: self.steps]


def _scan(step, parts: Step, args, carry0, stim, recompute: int | None = None):
    """``lax.scan`` of ``step(args, carry, stim_k)``; under vmap on CPU, in tiles side by side
    (:func:`neurax.batching.cpu_batched`).

    Derivatives are the adjoint's (:func:`neurax.adjoint.adjoint_scan`, from the ``parts`` of ``step``), so
    ``grad`` of a vmap and ``vmap`` of a grad are unchanged; other backends (GPU) always run the whole
    batch at once.
    """

    def plain(args, carry0, stim):
        return lax.scan(partial(step, args), carry0, stim)[1]

    if jax.default_backend() == "cpu":
        plain = cpu_batched(plain, lambda args, carry0, stim: carry0[0])
    return adjoint_scan(parts, plain, args, carry0, stim, recompute)


def node_geometry(cell: Cell, params: dict, dtype) -> tuple:
    """Per-node membrane area (um^2; 0 at zero-area nodes), axial conductance to the parent (uS) and
    diameter (um; 0 at zero-area nodes).

    Computed from the reconstructed diameters times ``params["radius_scale"]`` and ``params["Ra"]`` with
    NEURON's integration (:func:`neurax.geometry.segment_geometry`), traceable and differentiable.
    """
    tree = cell.tree
    diam = jnp.asarray(cell.morphology.points[:, 3], dtype) * params["radius_scale"]
    geo = segment_geometry(diam, cell.pieces, params["Ra"])
    n = tree.n_nodes
    area = jnp.zeros(n, dtype).at[tree.seg_node].set(geo.area.astype(dtype))
    last = tree.seg_offsets[1:] - 1
    g = (jnp.zeros(n, dtype).at[tree.seg_node].set(geo.g.astype(dtype))
         .at[tree.end_node].set((1.0 / geo.r_right[last]).astype(dtype)))
    diam = jnp.zeros(n, dtype).at[tree.seg_node].set(geo.diam.astype(dtype))
    return area, g, diam


def _default_record(cell: Cell) -> str:
    """``soma[0](0.5)``, or the middle of the first section of a cell without a ``soma[0]``."""
    names = [sec.name for sec in cell.morphology]
    return "soma[0](0.5)" if "soma[0]" in names else f"{names[0]}(0.5)"


def _check_membrane(cell: Cell) -> None:
    """Refuse a cell with segments of zero membrane area (sections of diameter 0).

    NEURON divides by each segment's area when it sets up the node equations, so one such segment makes
    every voltage of the cell NaN from the first step on; an error that names the section is more use.
    """
    tree = cell.tree
    zero = np.flatnonzero(tree.seg_area == 0)
    if zero.size == 0:
        return
    sections = np.unique(np.searchsorted(tree.seg_offsets, zero, side="right") - 1)
    morph = cell.morphology
    others = f" (as do {sections.size - 1} other sections)" if sections.size > 1 else ""
    raise NeuraxError(f"{morph.label(int(sections[0]))} has diameter 0{others}, so its segments have no membrane "
                      "area and NEURON's simulation of this cell is NaN everywhere; give those samples a positive "
                      "radius (or remove them)")


#: float32 node arrays are padded to a multiple of this many nodes (see :func:`_padding`).
PAD_FLOAT32 = 16


def _padding(n: int, dtype) -> int:
    """Extra nodes for a simulation of ``n`` nodes in ``dtype``.

    Where XLA:CPU splits float32 node-wise kernels (the channel updates) over threads, a length that does
    not divide evenly leaves each part's loop with a bounds check, which LLVM leaves scalar: 6.8 ns per
    node and gate at 1,405 nodes, 4.0 ns at 1,406, with the time loop as separate kernels. Since the whole
    loop of one simulation is one kernel (:mod:`neurax._jax`), padding only matters for vmapped batches,
    whose kernels are still split: 1-3% at batch 8 and 32 (0.455-0.465 against 0.474-0.475 s, 1.625-1.639
    against 1.647-1.699 s). float64 kernels of this size are not split, so they are not padded.
    """
    return (-n) % PAD_FLOAT32 if jnp.dtype(dtype) == jnp.float32 else 0


def _engine(cell: Cell, pad: int = 0) -> Engine:
    """The cell's :class:`~neurax.engine.Engine` for ``pad`` extra nodes (made once per cell structure)."""
    cache = cell._structure.__dict__.setdefault("_solver", {})
    key = f"engine+{pad}"
    if key not in cache:
        cache[key] = Engine(cell.mechanisms, cell.tree.n_nodes + pad)
    return cache[key]


def _structure(cell: Cell, pad: int = 0) -> TreeStructure:
    """The solver's tree, with ``pad`` extra leaves on the last node (uncoupled in a simulation)."""
    cache = cell._structure.__dict__.setdefault("_solver", {})
    key = f"tree+{pad}"
    if key not in cache:
        parent = cell.tree.parent
        cache[key] = TreeStructure.from_parents(np.concatenate([parent, np.full(pad, parent.size - 1)]))
    return cache[key]
