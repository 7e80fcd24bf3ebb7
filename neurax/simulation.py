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

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from neurax._jax import jax, jnp, lax
from neurax.adjoint import Step, adjoint_scan
from neurax.batching import cpu_batched, threads
from neurax.cell import Cell
from neurax.engine import Engine
from neurax.errors import NeuraxError
from neurax.events import EventPlan
from neurax.geometry import segment_geometry
from neurax.mechanisms.base import conductance_parameters
from neurax.network import Network
from neurax.solver.hines import TreeStructure
from neurax.stimuli import IClamp

__all__ = ["simulate", "Solution", "SimulationError", "BlowUpWarning", "BLOWUP_MV", "check_parameters"]

#: Up to this many current clamps are added to the node equations densely rather than by a scatter.
DENSE_STIMULI = 4


#: |v| above this (mV), or a value that is not finite, is a blow-up (NEURON would be as far off: the
#: step is unstable or the parameters make no physical sense).
BLOWUP_MV = 1e4


@dataclass(frozen=True)
class Solution:
    """Recorded traces, and whether the simulation stayed sane.

    Attributes:
        t: sample times (ms), ``t[0] = 0`` then one per step (NEURON's half-step sums).
        v: membrane potential (mV), shape ``(len(record), len(t))`` (batch axes in front under vmap).
        record: the recorded locations, as given.
        blowup: the first step at which some node's voltage was not finite or beyond
            :data:`BLOWUP_MV` in magnitude, -1 if none (an integer array; batch axes in front under vmap).
        blowup_node: the node where that happened first (-1 if none).
        invalid: whether parameters made no physical sense (a negative conductance, cm < 0, Ra <= 0, a
            diameter scale <= 0); set when they were traced and could not be refused before the run.
        where: names a node (``"dend[3](0.75)"``), for messages.
        spikes: for a network, per spike source and step, 1 where the source spiked at the start of that step
            (shape ``(len(spike_sources), steps)``; None for a cell); see :meth:`spike_times`. With
            ``surrogate=`` they carry the surrogate derivative, so a loss of spike counts can be differentiated.
        spike_sources: the sources' locations (``"cell[3].soma[0](0.5)"``).
    """

    t: object
    v: object
    record: tuple[str, ...]
    blowup: object = None
    blowup_node: object = None
    invalid: object = None
    where: object = None
    spikes: object = None
    spike_sources: tuple[str, ...] = ()

    def __getitem__(self, location: str):
        """The trace recorded at ``location`` (as given to ``record``)."""
        return self.v[..., self.record.index(location), :]

    def spike_times(self) -> dict[str, np.ndarray]:
        """Each spike source's spike times (ms), as NEURON's ``NetCon.record`` gives them: ``t_n + 1e-10`` for
        a crossing seen at the start of the step from ``t_n`` (one simulation: not under vmap).
        """
        if self.spikes is None:
            return {}
        from neurax.events import SPIKE_EPS

        spikes = np.asarray(self.spikes)
        if spikes.ndim != 2:
            raise NeuraxError("spike_times() reads one simulation; index the batch first (sol.spikes[k])")
        t = np.asarray(self.t)[: spikes.shape[1]] + SPIKE_EPS
        return {name: t[spikes[k] > 0.5] for k, name in enumerate(self.spike_sources)}

    @property
    def ok(self):
        """True where the run stayed finite and within :data:`BLOWUP_MV` with sane parameters (traceable)."""
        if self.blowup is None:
            return True
        return (jnp.asarray(self.blowup) < 0) & ~jnp.asarray(self.invalid)

    def check(self) -> Solution:
        """``self`` if the run is sane, else a :class:`SimulationError` naming the first bad step, its time,
        section and segment (or the parameters).

        Raises:
            SimulationError: see above.
        """
        message = self.problem()
        if message:
            raise SimulationError(message)
        return self

    def problem(self) -> str | None:
        """What went wrong (one line), or None."""
        if self.blowup is None:
            return None
        blowup = np.asarray(self.blowup)
        invalid = np.asarray(self.invalid)
        if invalid.any():
            return ("parameters make no physical sense (a negative conductance, cm < 0, Ra <= 0 or a diameter scale "
                    "<= 0); the traces are meaningless")
        if (blowup < 0).all():
            return None
        flat = blowup.reshape(-1)
        k = int(np.flatnonzero(flat >= 0)[0])
        step = int(flat[k])
        node = int(np.asarray(self.blowup_node).reshape(-1)[k])
        t = np.asarray(self.t)
        time = float(t[..., step + 1].reshape(-1)[0]) if t.shape[-1] > step + 1 else float("nan")
        place = self.where(node) if self.where is not None else f"node {node}"
        batch = f" (simulation {k} of the batch)" if flat.size > 1 else ""
        return (f"the simulation blew up at step {step + 1} (t = {time:g} ms) at {place}{batch}: v was not finite or "
                f"beyond {BLOWUP_MV:g} mV; reduce dt or the stimulus, or check the parameters")


class SimulationError(NeuraxError):
    """A simulation that blew up or ran with parameters that make no physical sense."""


class BlowUpWarning(UserWarning):
    """A simulation blew up (see :meth:`Solution.problem`); the traces from that step on are meaningless."""


jax.tree_util.register_pytree_node(
    Solution, lambda s: ((s.t, s.v, s.blowup, s.blowup_node, s.invalid, s.spikes), (s.record, s.where,
                                                                                      s.spike_sources)),
    lambda aux, leaves: Solution(leaves[0], leaves[1], aux[0], *leaves[2:5], where=aux[1], spikes=leaves[5],
                                 spike_sources=aux[2]))


#: Bytes that a run holds for each step however small the cell: the time points (two arrays of halves while they
#: are summed, then t) and one recorded trace, float64.
_BYTES_PER_STEP = 5 * 8


def _physical_memory() -> int | None:
    """The machine's memory in bytes (``None`` where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def _times(tstop: float, dt: float) -> tuple[int, np.ndarray, np.ndarray]:
    if not dt > 0 or not np.isfinite(dt):
        raise NeuraxError(f"dt must be a positive number of ms, got {dt}")
    if not tstop >= 0 or not np.isfinite(tstop):
        raise NeuraxError(f"tstop must be a non-negative number of ms, got {tstop}")
    ratio, memory = tstop / dt, _physical_memory()
    if not np.isfinite(ratio) or (memory and round(ratio) * _BYTES_PER_STEP > memory):
        raise NeuraxError(f"tstop {tstop:g} ms at dt {dt:g} ms is {ratio:.3g} steps, whose time points and one trace "
                          f"alone need {ratio * _BYTES_PER_STEP / 2**30:.3g} GiB, more than this machine's "
                          f"{(memory or 0) / 2**30:.3g} GiB of memory: shorten tstop or raise dt")
    steps = round(ratio)
    halves = np.cumsum(np.full(2 * steps, 0.5 * dt))  # NEURON adds dt/2 twice per step
    return steps, halves[0::2], np.concatenate([[0.0], halves[1::2]])


def simulate(cell: Cell | Network, stimuli: Sequence[IClamp] = (), record: Sequence[str] | None = None, *,
             tstop: float, dt: float = 0.025, v_init=-65.0, celsius=6.3, rates: str = "table",
             dtype=jnp.float64, progress: bool = False, checkpoint: int | bool | None = None,
             surrogate: float | None = None) -> Solution:
    """Simulate a cell or a network with NEURON's fixed-step method.

    The whole simulation, set-up included, is one compiled function, made once per kind of simulation: the
    same cell structure (morphology, nseg, where each mechanism is), clamp locations, recorded locations,
    ``tstop``, ``dt``, ``rates``, ``dtype`` and ``checkpoint``. Other parameter values, clamp timings and
    amplitudes, ``v_init`` and ``celsius`` reuse it; a different cell structure compiles anew.

    Args:
        cell: the cell (:class:`~neurax.cell.Cell`), or a :class:`~neurax.network.Network` of cells with
            their connections (the solution then has every spike source's spikes).
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
        surrogate: for networks: the slope (1/mV) of a sigmoid whose derivative stands in for the threshold
            crossing's in gradients (``None``: spikes carry no gradient to voltages). The forward run is the same.

    Returns:
        A :class:`Solution` with times and traces. A run that blows up (v not finite or beyond
        :data:`BLOWUP_MV`) is reported by a :class:`BlowUpWarning` outside ``jit``; inside, check
        ``solution.ok`` or call ``solution.check()``.

    Raises:
        NeuraxError: ``dt <= 0``, or parameters that make no physical sense (negative conductances,
            ``cm < 0``, ``Ra <= 0``), when they are known before the run.
    """
    network = cell if isinstance(cell, Network) else None
    plan = Plan.of(cell, stimuli, record, tstop=tstop, dt=dt, rates=rates, dtype=dtype, checkpoint=checkpoint,
                   surrogate=surrogate)
    cell = network.cell if network is not None else cell
    traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(
        (cell.params, [(s.delay, s.dur, s.amp) for s in stimuli], v_init, celsius, network)))
    if not traced:
        check_parameters(cell)
    dynamic = plan.arguments(network if network is not None else cell, stimuli, v_init, celsius)
    if progress and not traced and plan.steps > 0 and network is None:
        run = Run(cell, stimuli, record, tstop=tstop, dt=dt, v_init=v_init, celsius=celsius, rates=rates, dtype=dtype)
        solution = run.finish(*run.chunked(progress=True))
    else:
        solution = plan.solution(compiled(plan, *dynamic)[0], cell)
    if not traced:
        message = solution.problem()
        if message:
            warnings.warn(message, BlowUpWarning, stacklevel=2)
    return solution


@dataclass(frozen=True, eq=False)
class Plan:
    """What fixes a simulation's compiled function (see :func:`simulate`), compared by content."""

    structure: object
    stim_locations: tuple[str, ...]
    record: tuple[str, ...]
    tstop: float
    dt: float
    rates: str
    dtype: object
    checkpoint: object
    steps: int
    key: tuple
    peak: bool = False
    wiring: object = None
    surrogate: float | None = None

    @staticmethod
    def of(cell: Cell | Network, stimuli, record, *, tstop, dt, rates, dtype, checkpoint=None, peak: bool = False,
           surrogate: float | None = None) -> Plan:
        """The plan of a simulation of ``cell`` or a network (``peak``: also keep every node's highest voltage)."""
        wiring = cell.wiring if isinstance(cell, Network) else None
        cell = cell.cell if isinstance(cell, Network) else cell
        steps = _times(tstop, dt)[0]
        record = tuple(record) if record is not None else (_default_record(cell),)
        locations = tuple(s.location for s in stimuli)
        key = (cell.fingerprint(), locations, record, float(tstop), float(dt), rates, jnp.dtype(dtype).name,
               checkpoint, peak, threads(),  # threads: how vmapped batches are tiled (NEURAX_THREADS)
               wiring.key if wiring is not None else None, surrogate)
        return Plan(cell._structure, locations, record, float(tstop), float(dt), rates, dtype, checkpoint, steps, key,
                    peak, wiring, None if surrogate is None else float(surrogate))

    def solution(self, raw: tuple, cell: Cell) -> Solution:
        """The :class:`Solution` from the compiled function's first output (plain arrays)."""
        t, v, blowup, node, invalid, *spikes = raw
        sources = self.wiring.source_names if self.wiring is not None else ()
        return Solution(t=t, v=v, record=self.record, blowup=blowup, blowup_node=node, invalid=invalid,
                        where=cell.describe_node, spikes=spikes[0] if spikes else None, spike_sources=sources)

    def arguments(self, cell: Cell | Network, stimuli, v_init, celsius) -> tuple:
        """The values the compiled function takes (:func:`compiled`): parameters, clamp timings, v_init,
        celsius, the tables made before compiling and a network's weights, thresholds and graded synapses.
        """
        network = (cell.weight, cell.threshold, cell.graded) if isinstance(cell, Network) else None
        cell = cell.cell if isinstance(cell, Network) else cell
        return (cell.params, tuple((s.delay, s.dur, s.amp) for s in stimuli), v_init, celsius,
                prepare(cell, celsius=celsius, dt=self.dt, rates=self.rates, dtype=self.dtype), network)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, Plan) and self.key == other.key


def prepare(cell: Cell, *, celsius, dt, rates: str, dtype) -> dict | None:
    """The mechanisms' per-simulation precomputations (rate tables), made before compiling where their inputs are
    known numbers: they are then computed with numpy, whose exp and log are the C library's that NEURON uses (the
    tables agree with NEURON's bit for bit). None where an input is traced: they are made inside instead.
    """
    params = cell.params
    leaves = jax.tree_util.tree_leaves((params, celsius))
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return None
    ctx = {"dt": dt, "celsius": float(celsius), "rates": rates, "dtype": dtype}
    out: dict = {}
    for mech in dict.fromkeys(m for m, _ in cell.mechanisms):
        extra = mech().prepare(params[mech.name], {**ctx, **out})
        out.update(extra)
    return out


def _execute(plan: Plan, params, stim_values, v_init, celsius, prepared, network=None) -> tuple:
    """One whole simulation (set-up, time loop, samples) of ``plan`` with these values; see :func:`simulate`.

    Returns ``(t, v, blowup, blowup_node, invalid)`` (see :class:`Solution`; :meth:`Plan.solution` makes one)
    and every node's highest voltage (mV; None unless ``plan.peak``). Plain arrays, so that the compiled
    function can be saved to disk (the command line's cache).
    """
    cell = Cell._build(plan.structure, params)
    stimuli = [IClamp(loc, *values) for loc, values in zip(plan.stim_locations, stim_values, strict=True)]
    run = Run(cell, stimuli, plan.record, tstop=plan.tstop, dt=plan.dt, v_init=v_init, celsius=celsius,
              rates=plan.rates, dtype=plan.dtype, validate=True, prepared=prepared, peak=plan.peak,
              wiring=plan.wiring, network=network, surrogate=plan.surrogate)
    recompute = None
    if plan.checkpoint:
        recompute = max(1, round(run.steps ** 0.5)) if plan.checkpoint is True else int(plan.checkpoint)
    samples, extra = run.scan(recompute=recompute)
    if run.events is not None:
        samples, spikes = samples
        sol = run.finish(samples, extra)
        return (sol.t, sol.v, sol.blowup, sol.blowup_node, sol.invalid, spikes.T), extra.get("vmax")
    sol = run.finish(samples, extra)
    return (sol.t, sol.v, sol.blowup, sol.blowup_node, sol.invalid), extra.get("vmax")


#: The compiled simulation: ``compiled(plan, *plan.arguments(...))`` (compiled once per equal plan).
compiled = jax.jit(_execute, static_argnums=0)


def check_parameters(cell: Cell) -> None:
    """Refuse parameters that make no physical sense (see :meth:`neurax.cell.Cell.check`)."""
    cell.check()



class Run:
    """One simulation set up: the step function, the initial state and the stimulus currents.

    :func:`simulate` is the way to use it; the command line uses it directly to time compilation apart
    from running and to report progress.
    """

    def __init__(self, cell: Cell, stimuli: Sequence[IClamp], record: Sequence[str] | None, *, tstop: float, dt: float,
                 v_init, celsius, rates: str, dtype, peak: bool = False, validate: bool = False,
                 prepared: dict | None = None, wiring=None, network=None, surrogate: float | None = None) -> None:
        if rates not in ("table", "exact"):
            raise NeuraxError(f"rates must be 'table' or 'exact', got {rates!r}")
        self.steps, t_mid, self.t_out = _times(tstop, dt)
        self.record = tuple(record) if record is not None else (_default_record(cell),)
        self.dtype = dtype
        self.where = cell.describe_node
        self.end_nodes = np.ones(cell.tree.n_nodes + _padding(cell.tree.n_nodes, dtype), np.int32)
        self.end_nodes[cell.tree.seg_node] = 0
        tree = cell.tree
        _check_membrane(cell)
        rec_nodes = np.array([tree.node_of(r) for r in self.record], dtype=np.int32)
        stim_nodes = np.array([tree.node_of(s.location) for s in stimuli], dtype=np.int32)
        structure = _structure(cell)
        params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=dtype), cell.params)
        ctx = {"dt": jnp.asarray(dt, dtype), "celsius": jnp.asarray(celsius, dtype), "rates": rates,
               "dtype": dtype}
        engine = _engine(cell, _padding(cell.tree.n_nodes, dtype))
        if prepared is None:
            for mech in dict.fromkeys(b.mechanism for b in engine.blocks):
                ctx.update(mech().prepare(params[mech.name], ctx))
        else:  # made before compiling (see prepare())
            ctx.update(prepared)
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
        n_base = self.stim.shape[1]
        self.events = None
        graded_pre = graded_post = np.zeros(0, np.int64)
        if wiring is not None and (wiring.delay.size or wiring.source_nodes.size or wiring.graded_pre.size):
            self.events = EventPlan(wiring, engine, t_mid, self.t_out[:-1], dt, surrogate)
            weight, threshold, graded = (jnp.asarray(x, dtype) for x in network)
            graded_pre, graded_post = wiring.graded_pre, wiring.graded_post
            graded_args = (graded, 100.0 / area_eq[graded_post])
            # each step's clock t_n and its artificial events (connections, times), after the clamp columns
            t_start = jnp.asarray(self.t_out[:-1], dtype)[:, None]
            ext = [t_start, jnp.asarray(self.events.ext_conn, dtype), jnp.asarray(self.events.ext_time, dtype)]
            self.stim = jnp.concatenate([self.stim, *ext], axis=1)
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
            return rhs.at[stim_nodes].add(stim_k[: stim_nodes.size])

        # The step takes every traced array it uses as an argument (args), so that the whole scan can be
        # given its own batching rule (_scan).
        static_ctx = {k: ctx[k] for k in ("rates", "dtype")}

        def assemble(args, v, states, stim_k):
            d_fixed, _, _, mech_args, ctx_arrays = args[:5]
            ctx = {**static_ctx, **ctx_arrays}
            if timed:
                ctx["t"], stim_k = stim_k[-1], stim_k[:-1]
            d, rhs = engine.currents(mech_args, v, states, ctx, lambda rhs: inject(rhs, stim_k))
            if len(args) > 7 and graded_pre.size:  # a network's graded synapses: g(v_pre) (v_post - e), in nA
                (graded, scale) = args[7]
                gmax, e, v_half, slope = (graded[:, j] for j in range(4))
                g = gmax * jax.nn.sigmoid((v[graded_pre] - v_half) / slope)
                rhs = rhs.at[graded_post].add(-g * (v[graded_post] - e) * scale)
                d = d.at[graded_post].add(g * scale)
            return d_fixed + d, rhs

        def advance(args, v, states):
            return engine.advance(args[3], v, states, {**static_ctx, **args[4]})

        def update(args, v, states):
            return engine.update(args[3], v, states, {**static_ctx, **args[4]})

        def refresh(args, v, states):
            return engine.refresh(args[3], v, states, {**static_ctx, **args[4]})

        def track(extra, v):  # the first step at which each node blew up, and |v| then; the running peak
            bad = ~(jnp.abs(v) <= BLOWUP_MV)  # also where v is NaN
            new = (extra["bad"] < 0) & bad
            size = jnp.where(jnp.isnan(v), jnp.inf, jnp.abs(v))
            out = {"k": extra["k"] + 1, "bad": jnp.where(new, extra["k"], extra["bad"]),
                   "size": jnp.where(new, size, extra["size"])}
            if "vmax" in extra:
                out["vmax"] = jnp.maximum(extra["vmax"], v)
            return out

        # The axial currents at v are added inside the solve's loops (cable_solve).
        self.parts = Step(structure, assemble, advance, lambda args: (args[1], args[2]), rec_nodes,
                          engine.state_nodes, track, (update, refresh) if engine.refreshes else None)

        def step(args, carry, stim_k):
            v, states, extra = carry
            v, states = self.parts(args, v, states, stim_k)
            return (v, states, track(extra, v)), v[rec_nodes]

        if self.events is not None:
            events = self.events
            width = events.ext_width

            def step(args, carry, stim_k):  # noqa: F811 - the network's step: events first, as NEURON's
                v, states, extra = carry
                _, _, _, mech_args, ctx_arrays, weight, threshold, _ = args
                t_n = stim_k[n_base]
                ext = (stim_k[n_base + 1:n_base + 1 + width].astype(jnp.int32), stim_k[n_base + 1 + width:])
                states, ev, spikes = events.step(engine, mech_args, {**static_ctx, **ctx_arrays}, weight, threshold,
                                                 v, states, extra["ev"], extra["k"], t_n, ext)
                v, states = self.parts(args, v, states, stim_k[:n_base])
                return (v, states, {**track(extra, v), "ev": ev}), (v[rec_nodes], spikes)

        v0 = jnp.full(n, v_init, dtype=dtype)
        states0 = engine.init(mech_args, v0, ctx)
        ctx_arrays = {k: x for k, x in ctx.items() if k not in static_ctx}
        self.args = (d_fixed, a, b, mech_args, ctx_arrays)
        if self.events is not None:
            self.args = self.args + (self.events.weights(weight), threshold, graded_args)
        self.invalid = _invalid(cell, params) if validate else None
        # Where JAX differentiates the steps themselves (checkpointed(), the tests' reference), each step is
        # rematerialised in the backward pass: only the carry (v and the states) is stored per step,
        # instead of ~35 intermediate arrays (measured: 1.6 GB -> 0.2 GB and faster on 1,248 nodes).
        self._step = jax.checkpoint(step)
        self.step = partial(self._step, self.args)
        extra = {"k": jnp.zeros((), jnp.int32), "bad": jnp.full(n, -1, jnp.int32), "size": jnp.zeros(n, dtype)}
        if peak:
            extra["vmax"] = v0
        if self.events is not None:
            conn = self.events.connections(engine, mech_args, ctx, self.events.weights(weight), v0, states0)
            extra["ev"] = self.events.init(dtype, conn)
        self.carry0 = (v0, states0, extra)
        self.v0 = v0[rec_nodes]
        self.traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((v0, params, self.stim)))

    def scan(self, recompute: int | None = None):
        """``(samples of all steps, the carry's extra at the end)`` from one ``lax.scan`` (in tiles under
        ``jax.vmap`` on CPU: :mod:`neurax.batching`).

        ``recompute``: differentiate with the adjoint's checkpointing (see :func:`neurax.adjoint.adjoint_scan`).
        """
        if self.events is not None:  # events change states between the adjoint's parts: JAX's own reverse mode
            return _event_scan(self._step, self.args, self.carry0, self.stim, recompute)
        return _scan(self._step, self.parts, self.args, self.carry0, self.stim, recompute)

    def finish(self, trace, extra=None) -> Solution:
        """The :class:`Solution` from the recorded samples of every step (and the carry's ``extra`` at the end,
        which says whether and where the run blew up).
        """
        v = jnp.concatenate([self.v0[None, :], trace], axis=0).T
        t = jnp.asarray(self.t_out, self.dtype)
        if extra is None:
            return Solution(t=t, v=v, record=self.record)
        bad = extra["bad"]
        big = jnp.iinfo(jnp.int32).max
        # the first step, and among the nodes that blew up then the one furthest off (a segment's centre before
        # a zero-area end node)
        first = jnp.min(jnp.where(bad >= 0, bad, big), initial=big)
        then = (bad >= 0) & (bad == first)
        rank = jnp.where(then, jnp.where(jnp.asarray(self.end_nodes) == 0, 1.0, 0.0), -1.0)
        node = jnp.argmax(jnp.where(rank == jnp.max(rank), extra["size"], -1.0)) if bad.size else jnp.int32(0)
        blown = first < big
        invalid = self.invalid if self.invalid is not None else jnp.zeros((), bool)
        return Solution(t=t, v=v, record=self.record, blowup=jnp.where(blown, first, -1),
                        blowup_node=jnp.where(blown, node, -1).astype(jnp.int32), invalid=invalid, where=self.where)

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
        """Run in ``chunks`` jitted pieces (one compilation), printing progress; returns the samples and the
        carry's extra at the end (as :meth:`scan`).

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
        return jnp.concatenate(out, axis=0)[: self.steps], carry[2]


def _scan(step, parts: Step, args, carry0, stim, recompute: int | None = None):
    """``lax.scan`` of ``step(args, carry, stim_k)``; under vmap on CPU, in tiles side by side
    (:func:`neurax.batching.cpu_batched`).

    Derivatives are the adjoint's (:func:`neurax.adjoint.adjoint_scan`, from the ``parts`` of ``step``), so
    ``grad`` of a vmap and ``vmap`` of a grad are unchanged; other backends (GPU) always run the whole
    batch at once.
    """

    def plain(args, carry0, stim):
        carry, samples = lax.scan(partial(step, args), carry0, stim)
        return samples, carry[2]

    if jax.default_backend() == "cpu":
        plain = cpu_batched(plain, lambda args, carry0, stim: carry0)
    return adjoint_scan(parts, plain, args, carry0, stim, recompute)


def _event_scan(step, args, carry0, stim, recompute: int | None = None):
    """``lax.scan`` of a network's ``step``: derivatives by JAX's reverse mode, each step rematerialised (only
    the carry is stored per step), or with ``recompute`` only every ``recompute`` steps' carry.
    """
    if not recompute or recompute <= 1:
        carry, samples = lax.scan(partial(step, args), carry0, stim)
        return samples, carry[2]
    steps = stim.shape[0]
    chunks = -(-steps // recompute)
    pad = chunks * recompute - steps
    stim_p = jnp.concatenate([stim, jnp.zeros((pad,) + stim.shape[1:], stim.dtype)])
    stim_p = stim_p.reshape((chunks, recompute) + stim.shape[1:])

    @jax.checkpoint
    def chunk(carry, stim_chunk):
        return lax.scan(partial(step, args), carry, stim_chunk)

    carry, samples = lax.scan(chunk, carry0, stim_p)
    samples = jax.tree_util.tree_map(lambda x: x.reshape((chunks * recompute,) + x.shape[2:])[:steps], samples)
    return samples, carry[2]


def _invalid(cell: Cell, params: dict):
    """Whether traced parameters make no physical sense (see :meth:`Cell.check`): a traced flag."""
    flag = (jnp.any(params["cm"][cell.tree.seg_node] <= 0) | jnp.any(params["Ra"] <= 0)
            | jnp.any(params["radius_scale"] <= 0))
    for mech, _ in cell.mechanisms:
        for name in conductance_parameters(mech):
            flag = flag | jnp.any(params[mech.name][name] < 0)
    return flag


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
        cache[key] = Engine(cell.mechanisms, cell.tree.n_nodes + pad, cell.tree.n_segments)
    return cache[key]


def _structure(cell: Cell, pad: int = 0) -> TreeStructure:
    """The solver's tree, with ``pad`` extra leaves on the last node (uncoupled in a simulation)."""
    cache = cell._structure.__dict__.setdefault("_solver", {})
    key = f"tree+{pad}"
    if key not in cache:
        parent = cell.tree.parent
        cache[key] = TreeStructure.from_parents(np.concatenate([parent, np.full(pad, parent.size - 1)]))
    return cache[key]
