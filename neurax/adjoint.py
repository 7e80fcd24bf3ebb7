"""Gradients of a simulation: the discrete adjoint of the backward-Euler steps, a chunk of steps at a time.

One step of :mod:`neurax.simulation`, with ``s`` all channel states and ``x = v_{n+1} - v_n``::

    d, r    = assemble(v_n, s_n)                  # diagonal and right-hand side, node by node
    v_{n+1} = v_n + A(d)^-1 (r + axial(v_n))      # the tree solve (cable_solve)
    s_{n+1} = advance(v_{n+1}, s_n)               # cnexp, node by node

Reverse-mode differentiation of the time loop step by step costs ~65 small kernels per step on a CPU,
most of them re-evaluating rate tables. This module runs the adjoint recursion of the step instead. With
``lv``, ``ls`` the cotangents of ``v_{n+1}``, ``s_{n+1}`` and ``lo`` that of the recorded sample::

    mu     = lv + lo + (ds_{n+1}/dv_{n+1})^T ls
    y      = A^-T mu                                            # one transposed tree solve
    lv_n   = mu + axial^T y + y (dr/dv - x dd/dv) = (D + dr/dv - x dd/dv) y
    ls_n   = (ds_{n+1}/ds_n)^T ls + y (dr/ds - x dd/ds)

The axial currents are ``-(A - D) v``, with ``D`` the diagonal of ``A`` less its axial part, so
``mu + axial^T y = mu - A^T y + D y = D y``: the new ``lv`` is one product per node (and free of the
cancellation between ``mu`` and the axial terms).

Because assemble and advance act on each node alone, their derivatives are per-node numbers (the
*coefficients* above). They depend only on the stored trajectory, so they are computed for a chunk of
steps at once, in large vectorised kernels; the recursion that remains is a few multiply-adds per node
and one tree solve per step. The parameters' cotangents are sums over the steps of per-node products
(``-y x`` for ``d``, ``y`` for ``r``, ``ls`` for the states), also taken a chunk at a time as the VJPs of
the chunk-vectorised assemble and advance.

Memory: the forward pass stores v at every step but the channel states only every
:data:`STATE_STRIDE` (k) steps; the backward pass recomputes the others. The stored v come in k *phases*
(phase p holds the v of steps k b + p), and the backward pass takes a chunk's steps phase by phase: the
states of phase p follow from those of phase p - 1 in one node-by-node kernel over all of the chunk's
blocks, every coefficient kernel reads one phase's contiguous arrays, and the recursion walks the k phases
of a block in turn. Interleaving the recomputed states back into step order cost a slow per-element
kernel (a third of the recomputation's time). Storing less is faster as well as smaller: XLA:CPU gives
every call fresh memory for what it stores, and the kernel zeroes it page by page. Measured on the
1,248-compartment bench cell (value_and_grad, the same process): stride 2 in step order 0.3203-0.3372 s,
stride 2 in phases 0.3178-0.3354 s, stride 4 in phases 0.3025-0.3188 s; stride 3 was as fast as 4, 8 slower
(its recursion, eight steps per iteration, no longer fits one kernel), and storing every step's states
slower still. A large state update (many state arrays) is not unrolled k times in the forward program: a block's
k steps run in a loop of their own inside the loop over blocks, which stores the states leaving each block (the
next block's start) and v in step order; the backward pass takes each chunk's v apart into phases. (One loop over
single steps with a conditional write of every k-th step's states into a preallocated store was slower: pyramidal
port model, 1 s, value_and_grad 33.49 s against 32.34 s for the nested loops with the barrier in the recursion's
gather, best of 2, alternating in one process.) One packed store (a row of all the states per stored step, one
write kernel instead of one per state array) took the pyramidal model's forward pass from 15.2 to 12.4 s at 1 s,
but the gradient as a whole was no faster (400 ms, 4 rounds in one process: 13.1-13.4 s with one array per state,
13.2-14.5 s packed; the backward pass lost what the forward gained), so each state keeps its own array.
The phases' coefficients are computed one phase after another, never joined into one array (see ``chunk``).

The recursion runs on one core while the other idles. XLA:CPU runs independent kernels concurrently where a
computation has more than 8 and they share no memory (a toy, a one-kernel loop beside split kernels: 0.458 ->
0.334 s), but computing the next chunk's coefficients alongside a chunk's recursion was slower (0.319 -> 0.365
s; again with the next chunk prepared into a carry that a barrier orders after the present chunk's use of it:
0.297 -> 0.328 s): XLA copies the carried coefficients every iteration and does not run the recursion beside
the other kernels. Two chunks per loop iteration, with nothing carried, was slower too (0.284 -> 0.300 s): in
the profile no kernel ever ran beside a recursion.

Where the state pass ends by recomputing values from the new states (``Step.split``: the calcium current
that a pool reads next step, from every calcium channel's new gates), the recursion takes that refresh ``R``
as a stage of its own: with ``u`` the updated states, ``lu = (dR/du)^T ls`` (a recomputed state's own
cotangent replaced) and ``mu`` gains ``(dR/dv')^T ls``; the update's coefficients then act on ``lu``. The
refresh's row of the Jacobian taken through the update instead re-evaluates every calcium channel's rates (a
VJP of both parts); here it is one VJP of the currents alone, at the updated states that the slope's JVP
gives as its primal. Pyramidal port model (100 ms, alternating in one process): value_and_grad 3.40 ->
3.26 s best, CPU time 6.01 -> 5.65 s.

The one requirement on mechanisms and stimuli: each node's outputs depend on that node's inputs only
(true of density mechanisms, capacitance and point current clamps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from jax.custom_derivatives import CustomVJPPrimal, SymbolicZero
from jax.extend.core import Var

from neurax._jax import jax, jnp, lax
from neurax.batching import knows_batch
from neurax.solver.hines import TreeStructure, _axial_bars, _matrix_bars, _solve, cable_solve

__all__ = ["Step", "adjoint_scan"]

#: The coefficients of one chunk take about this many bytes (sets the chunk length): small enough that the serial
#: recursion finds them in cache. The pyramidal model with the full channel library (~1 MB per step): chunks of 8
#: steps against 16, value_and_grad at 1 s 33.54/34.01 s against 35.85/38.49 s, at 100 ms 3.00-3.09 against
#: 3.19-3.52 s (alternating in one process); on the hh bench cell 8 and 16 MB were alike. Under ``jax.vmap`` they
#: are the whole batch's: a vmapped value_and_grad of 8 simulations (1,248 compartments) took 2.97 s with 16 MB
#: chunks per simulation and 2.58 s with 16 MB in all (8 MB in all: the same within the noise).
CHUNK_BYTES = 8 * 2**20
#: Chunks are at least and at most this many steps (4 steps: the per-chunk work dominates, 5.0 s at 100 ms).
CHUNK_STEPS = (8, 256)
#: The forward pass stores the channel states of every this-many-th step only (v of every step, in this many
#: phases); the backward pass recomputes the others, node by node.
STATE_STRIDE = 4
#: Where the state update is large (more than UNROLLED_STATES state arrays) the forward pass stores the states of
#: every step, if that takes at most this many bytes: the pyramidal model with the full channel library (23 state
#: arrays, 3,001 nodes, 100 ms) took 3.74 s for value_and_grad so (compiled in 11 s) and 3.90 s with states every
#: 4th step (compiled in 33 s: the backward program holds one copy of the coefficients per phase).
EVERY_STEP_BYTES = 2 * 2**30
#: Up to this many states, the forward pass writes the k steps of a block out one after another in the program
#: (their v go straight to their phases); with more, the step is large enough that k copies of it make the program
#: slow to compile (the full channel library: minutes), so the forward pass loops over single steps.
UNROLLED_STATES = 8
#: A new state that depends on at least this many other old states takes its derivatives from a VJP (see
#: ``adjoint_scan``): each such dependence would otherwise need a JVP of the whole state update of its own.
HUB_INPUTS = 3
#: Up to this many recorded nodes, the samples' cotangents are added node by node inside the recursion's
#: kernels; more are scattered into an array per chunk first.
SPARSE_RECORDS = 8


@dataclass(frozen=True, eq=False)
class Step:
    """One simulation step in its three parts (each taking the traced arrays ``args`` first).

    Attributes:
        structure: the tree.
        assemble: ``(args, v, states, stim_k) -> (d, rhs)``, node by node.
        advance: ``(args, v_new, states) -> states``, node by node.
        axial: ``args -> (a, b)``, the tree's coupling coefficients.
        record: the recorded nodes.
        state_nodes: the node of every element of each state array (a pytree like the states; ``None``
            where a state array holds one value per node of the tree).
        track: ``(extra, v_new) -> extra``, the bookkeeping of the carry's third part (peak voltages, the
            first step where v blew up), which nothing differentiable reads; ``None``: none.
        split: ``(update, refresh)`` with ``advance(args, v, s) == refresh(args, v, update(args, v, s))``, both
            node by node, where the state pass ends by recomputing values from the new states (the ion
            currents that a calcium pool reads): the gradient then differentiates each part alone; ``None``:
            no such split.
    """

    structure: TreeStructure
    assemble: Callable
    advance: Callable
    axial: Callable
    record: np.ndarray
    state_nodes: object = None
    track: Callable | None = None
    split: tuple[Callable, Callable] | None = None

    def __call__(self, args, v, states, stim_k):
        """``(v_new, states_new)`` after one step from ``(v, states)``."""
        d, rhs = self.assemble(args, v, states, stim_k)
        a, b = self.axial(args)
        v = cable_solve(self.structure, d, a, b, rhs, v)
        return v, self.advance(args, v, states)


def _dependencies(fn, *xs) -> list[set[int]]:
    """For each flat output of ``fn(*xs)``, the positions of the flat inputs it may depend on."""
    closed = jax.make_jaxpr(fn)(*xs)
    deps = {v: {k} for k, v in enumerate(closed.jaxpr.invars)}
    for eqn in closed.jaxpr.eqns:
        used = set().union(*(deps.get(x, set()) for x in eqn.invars if isinstance(x, Var)))
        for out in eqn.outvars:
            deps[out] = used
    return [deps.get(out, set()) if isinstance(out, Var) else set() for out in closed.jaxpr.outvars]


def _unchanged(fn, *xs) -> list[bool]:
    """For each flat output of ``fn(*xs)``, whether it is its flat input one place on (``xs[k + 1]``), unchanged."""
    closed = jax.make_jaxpr(fn)(*xs)
    ins, outs = closed.jaxpr.invars, closed.jaxpr.outvars
    return [k + 1 < len(ins) and out is ins[k + 1] for k, out in enumerate(outs)]


def _unique(where: np.ndarray | None) -> bool:
    """Whether a state's elements sit on distinct nodes (``None``: one per node)."""
    return where is None or np.unique(where).size == where.size


def _same_nodes(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Whether two states' elements sit on the same nodes (``None``: one per node of the tree)."""
    return a is b or (a is not None and b is not None and np.array_equal(a, b))


def _instance_at(where: np.ndarray | None, n: int) -> np.ndarray:
    """For each of the ``n`` nodes, the element of a state on nodes ``where`` that sits there (``where.size``,
    out of range, where none: not -1, which JAX would wrap).
    """
    if where is None:
        return np.arange(n)
    out = np.full(n, where.size, np.int64)
    out[where] = np.arange(where.size)
    return out


def node_sets(nodes: list, n: int) -> tuple[list, list]:
    """The states grouped by the nodes they sit on (``nodes[g]``: the node of each element of state g, ``None``
    for one per node of an ``n``-node tree). Returns the sets, ``(nodes, members, inverse)`` with ``inverse`` the
    element of the set at each node (out of range where none; ``None`` where several elements share a node, or
    for one per node), and for each state its ``(set, row)``.
    """
    sets: list[tuple] = []
    for g, where in enumerate(nodes):
        for other, members, _ in sets:
            if _same_nodes(other, where):
                members.append(g)
                break
        else:
            sets.append((where, [g], _instance_at(where, n) if where is not None and _unique(where) else None))
    row = [(0, 0)] * len(nodes)
    for j, (_, members, _) in enumerate(sets):
        for r, g in enumerate(members):
            row[g] = (j, r)
    return sets, row


def _flat_layout(sets: list, n: int, count: int) -> list[tuple[int, int]]:
    """For each of ``count`` states, ``(offset, length)`` in one flat array that holds the node sets of
    :func:`node_sets` one after another (each set's states in turn; length ``n`` for one per node of the tree).
    """
    flat_at, offset = [(0, 0)] * count, 0
    for where, members, _ in sets:
        for g in members:
            flat_at[g] = (offset, n if where is None else len(where))
            offset += flat_at[g][1]
    return flat_at


def _zero_cotangent(x):
    """A zero cotangent for ``x`` (``float0`` for integers)."""
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, jax.dtypes.float0)


def adjoint_scan(step: Step, primal: Callable, args, carry0, stim, recompute: int | None = None):
    """The recorded samples of every step (``primal(args, carry0, stim)``), differentiated by the adjoint.

    ``primal`` computes ``(samples, extra at the end)`` (it may be tiled under vmap); the carry is
    ``(v, states, extra)`` where ``extra`` (see :attr:`Step.track`) does not feed the samples. Returns the
    samples, ``(steps, len(record))``, and the final ``extra`` (not differentiated).

    ``recompute=k`` bounds the memory of long simulations: the forward pass then stores v and the states
    only at the start of every k steps, and the backward pass reruns each such chunk of steps before
    taking its adjoint (about one extra forward pass).
    """
    states0 = carry0[1]
    state_def = jax.tree_util.tree_structure(states0)
    n_states = state_def.num_leaves
    n = step.structure.n_nodes
    flat = jax.tree_util.tree_leaves

    def assemble(args, v, s, stim_k):  # with flat states
        return step.assemble(args, v, jax.tree_util.tree_unflatten(state_def, s), stim_k)

    def advance(args, v, s):
        return flat(step.advance(args, v, jax.tree_util.tree_unflatten(state_def, s)))

    def update(args, v, s):  # the state pass less its refresh (see Step.split)
        return flat(step.split[0](args, v, jax.tree_util.tree_unflatten(state_def, s)))

    def refresh(args, v, u):
        return flat(step.split[1](args, v, jax.tree_util.tree_unflatten(state_def, u)))

    # The node of each element of each state (None: one per node of the tree), and for coupled states of
    # different instances, where the other state's instance at the same node sits.
    nodes = (jax.tree_util.tree_leaves(step.state_nodes, is_leaf=lambda x: x is None or isinstance(x, np.ndarray))
             if step.state_nodes is not None else [None] * n_states)
    nodes = [None if k is None or (k.size == n and np.array_equal(k, np.arange(n))) else np.asarray(k)
             for k in nodes]

    # Which coefficients can be non-zero (from the step's jaxpr): worked out when a derivative is first asked
    # for, so that a simulation that is not differentiated does not pay for tracing the analysis.
    asm_inputs = couplings = slopes = transfer = colours = hubs = None
    # With the state pass split (Step.split), the states it recomputes from the new states: for each, the
    # (non-empty) set of states it reads and, per state read, the map from its instances to the recomputed
    # state's instance at their node (None: the same nodes).
    refreshed: dict = {}
    state_pass = advance  # what the states' coefficients differentiate: the update alone, where split
    sets, row = node_sets(nodes, n)
    flat_at = _flat_layout(sets, n, n_states)  # where each state sits in the recursion's flat array (``stack``)

    def analyse() -> None:
        nonlocal asm_inputs, couplings, slopes, transfer, colours, hubs, state_pass
        if colours is not None:
            return
        example = [jnp.zeros(n, carry0[0].dtype)] + [jnp.zeros(x.shape, x.dtype) for x in flat(states0)]
        stim_k = stim[0] if stim.shape[0] else jnp.zeros(stim.shape[1:], stim.dtype)
        asm_deps = _dependencies(lambda v, *s: assemble(args, v, list(s), stim_k), *example)
        adv_deps = _dependencies(lambda v, *s: advance(args, v, list(s)), *example)
        if step.split is not None:
            # The refresh recomputes a few states (the calcium current) from the updated ones. Its row of the
            # Jacobian, taken through the update, would re-evaluate every calcium channel's rates (a VJP of both
            # parts: the gradient's costliest coefficient); by the chain rule it is the refresh's own derivatives
            # (one VJP of the currents alone) times the update's, which the recursion applies in turn.
            unchanged = _unchanged(lambda v, *u: refresh(args, v, list(u)), *example)
            ref_deps = _dependencies(lambda v, *u: refresh(args, v, list(u)), *example)
            rows = [h for h in range(n_states) if not unchanged[h]]
            if all(_unique(nodes[h]) for h in rows):  # the refresh's cotangent 1 gives each row's own derivatives
                adv_deps = _dependencies(lambda v, *s: update(args, v, list(s)), *example)
                state_pass = update
                for h in rows:
                    refreshed[h] = {g: None if _same_nodes(nodes[h], nodes[g]) else
                                    _instance_at(nodes[h], n)[np.arange(n) if nodes[g] is None else nodes[g]]
                                    for g in sorted(d - 1 for d in ref_deps[h] if d > 0)}
        asm_inputs = sorted(set().union(*asm_deps))  # 0 is v, 1 + g state g
        couplings = [(h, g) for h in range(n_states) for g in range(n_states) if 1 + g in adv_deps[h]]
        slopes = [g for g in range(n_states) if 0 in adv_deps[g]]
        transfer = {}  # (h, g) -> for each instance of g, the instance of h at its node (out of range: none)
        for h, g in couplings:
            if h != g and not _same_nodes(nodes[h], nodes[g]):
                transfer[h, g] = _instance_at(nodes[h], n)[np.arange(n) if nodes[g] is None else nodes[g]]
        # A new state that depends on many old ones (a hub: the calcium current that a pool reads, which every
        # calcium channel's gates feed) takes its derivatives from one VJP; the others share JVPs: states that no
        # other new state depends on together share one derivative evaluation (hh's three gates each depend on
        # their own state only: one evaluation gives all three diagonal terms).
        inputs_of = [{d - 1 for d in adv_deps[h] if d > 0} for h in range(n_states)]
        hubs = {}
        for h in range(n_states):
            if len(inputs_of[h] - {h}) >= HUB_INPUTS:
                hubs[h] = {}
                for g in sorted(inputs_of[h]):  # for each instance of g, the instance of h at its node
                    hubs[h][g] = (None if _same_nodes(nodes[h], nodes[g])
                                  else _instance_at(nodes[h], n)[np.arange(n) if nodes[g] is None else nodes[g]])
        groups: list[list[int]] = []
        for g in sorted({g for h, g in couplings if h not in hubs}):
            free = [c for c in groups if not any({g, other} <= inputs_of[h] for h in range(n_states) if h not in hubs
                                                 for other in c)]
            if free:
                free[0].append(g)
            else:
                groups.append([g])
        colours = groups

    def coefficients(args, vn, sn, vnext, x, stim_c):
        """Per-node derivatives of each step of a chunk; ``x = vnext - vn``. Returns a dict of ``d``,
        ``(chunk, n)``; ``lvy`` (see the recursion); with states, for each state, ``sd``, complex: real part
        ds'/dv' and imaginary part ds'/ds (packed, both come from one evaluation of the rate tables, which
        XLA:CPU would otherwise repeat in a kernel of its own), and ``asm``, dr/ds - x dd/ds; and ``cross``,
        ``{(h, g): ds'_h/ds_g}`` for states coupled to others.
        """
        asm = jax.vmap(assemble, (None, 0, 0, 0))
        adv = jax.vmap(state_pass, (None, 0, 0))

        def derivative(fn, inputs, ks, primal=False):
            """The JVP of ``fn`` with tangent 1 on ``inputs[k]`` for k in ``ks``: symbolic zeros elsewhere
            (zero arrays would keep every other derivative term, and its table lookups, alive). With
            ``primal``, ``(fn(*inputs), the JVP)``.
            """
            def of(*varied):
                merged = list(inputs)
                for k, u in zip(ks, varied, strict=True):
                    merged[k] = u
                return fn(*merged)

            varied = [inputs[k] for k in ks]
            out = jax.jvp(of, varied, [jnp.ones_like(u) for u in varied])
            return out if primal else out[1]

        def own_copy(inputs, tag):
            # Derivatives that read their own copy of the inputs cannot have their rate-table lookups
            # merged by XLA into one shared (and then unfused, slow) gather kernel.
            return lax.optimization_barrier((inputs, jnp.int32(tag)))[0]

        asm_of = {}
        if 0 in asm_inputs:  # d, and dr/dv - x dd/dv: one JVP
            with jax.named_scope("coef_asm_v"):
                (d, _), (dd, dr) = derivative(lambda *u: asm(args, u[0], list(u[1:]), stim_c),
                                              own_copy([vn, *sn], 0), [0], primal=True)
                coef = {"d": d}
                asm_of[0] = dr - x * dd
        else:
            with jax.named_scope("coef_d"):
                coef = {"d": asm(args, vn, sn, stim_c)[0]}
        by_state = [k for k in asm_inputs if k > 0]
        if by_state:
            # dr/ds - x dd/ds for every state at once: one VJP of r - x d with cotangent 1 (each node's r and d
            # depend on the states there only, so the cotangent of each state element is its own derivative).
            # One JVP per state instead would repeat every mechanism's currents once per state.
            def residual(*s):
                d, r = asm(args, vn, list(s), stim_c)
                return r - x * d

            with jax.named_scope("coef_asm_s"):
                bars = jax.vjp(residual, *own_copy(list(sn), 1))[1](jnp.ones_like(x))
            for k in by_state:
                asm_of[k] = bars[k - 1]
        a, b = step.axial(args)
        # The cotangent of v_n is mu + axial^T y + (dr/dv - x dd/dv) y. The axial currents are -(A - D) v,
        # D the diagonal less its axial part; with A^T y = mu that makes it (D + dr/dv - x dd/dv) y.
        has_parent = jnp.asarray(step.structure.parent >= 0)
        d_axial = -jnp.where(has_parent, b, 0.0) - step.structure.sum_to_parents(jnp.where(has_parent, a, 0.0))
        coef["lvy"] = coef["d"] - d_axial + asm_of.get(0, 0.0)
        if not n_states:
            return coef
        # The slopes and the state derivatives read one copy of the inputs, so that XLA shares their table
        # lookups within the kernel that packs them into one complex number.
        inputs = own_copy([vnext, *sn], -1)
        fn = lambda *u: adv(args, u[0], list(u[1:]))  # noqa: E731
        zeros = [jnp.zeros_like(u) for u in sn]
        # One JVP per colour and one for the slope. Batching directions in one JVP (vmap over the tangents, the
        # primal once) was slower on the pyramidal model (3 colours): the slope with the largest colour,
        # value_and_grad at 200 ms 6.10-6.45 s against 5.84-5.92 s; all four, 6.93-8.05 s against 6.56-6.85 s.
        with jax.named_scope("coef_states"):
            if refreshed:  # the updated states too, which the refresh's derivatives are taken at
                updated, slope = derivative(fn, inputs, [0], primal=True)
            else:
                slope = derivative(fn, inputs, [0]) if slopes else list(zeros)
            jvps = [derivative(fn, inputs, [1 + g for g in colour]) for colour in colours]
        diag, coef["cross"], coef["hub"] = list(zeros), {}, {}
        for colour, ds in zip(colours, jvps, strict=True):
            for h, g in couplings:
                if g in colour and h not in hubs:
                    if h == g:
                        diag[g] = ds[h]
                    else:
                        coef["cross"][h, g] = ds[h]
        for h, row in hubs.items():  # a hub's row of the Jacobian: one VJP, each input's cotangent at its instances
            with jax.named_scope("coef_hub"):
                if _unique(nodes[h]):  # and its slope: v's cotangent at each node is the hub's derivative there
                    v_bar, *bars = jax.vjp(lambda v, *s, h=h: adv(args, v, list(s))[h], vnext, *sn)[1](
                        jnp.ones_like(sn[h]))
                    slope[h] = v_bar if nodes[h] is None else v_bar[..., nodes[h]]
                else:
                    bars = jax.vjp(lambda *s, h=h: adv(args, vnext, list(s))[h], *sn)[1](jnp.ones_like(sn[h]))
            for g in row:
                if g == h:
                    diag[h] = bars[h]
                else:
                    coef["hub"][h, g] = bars[g]
        coef["ref"], coef["ref_v"] = {}, {}
        ref = jax.vmap(refresh, (None, 0, 0))
        for h, inputs in refreshed.items():  # the refresh's row: dR_h/dv' at h's instances, dR_h/du_g at g's
            with jax.named_scope("coef_refresh"):
                v_bar, *bars = jax.vjp(lambda v, *u, h=h: ref(args, v, list(u))[h], vnext, *updated)[1](
                    jnp.ones_like(updated[h]))
            coef["ref_v"][h] = v_bar if nodes[h] is None else v_bar[..., nodes[h]]
            for g in inputs:
                coef["ref"][h, g] = bars[g]
        coef["sd"] = [lax.complex(s, t) for s, t in zip(slope, diag, strict=True)]
        coef["asm"] = [asm_of.get(1 + g, zeros[g]) for g in range(n_states)]
        return coef

    def recursion(args, lam, coefs, los, keep):
        """The adjoint recursion over one chunk (latest step first). The chunk's steps come in phases:
        step ``b * len(coefs) + p`` has the coefficients ``coefs[p]`` at row ``b`` and the cotangents
        ``los[p][b]`` of its samples. Returns lam and, for each phase, ``y`` of each step and the cotangents
        entering each step of the states numbered in ``keep`` (a list of ``(steps, size)``, one per state).

        The states' cotangents are carried as one flat array, node set after node set (:func:`node_sets`; a
        set's terms of ``mu`` are summed before one gather). Each state's new cotangent is a plain kernel of its
        own and one concatenation joins them. One array per node set (a row per state, one fused concatenation
        per set and fewer kernels) was slower: the pyramidal model with the full channel library (23 state arrays
        in 6 node sets), value_and_grad at 1 s, 33.53 and 34.28 s against 30.84 and 32.32 s flat (alternating
        in one process; CPU time 61.6 against 55.4 s). Per-state arrays carried apart took a scatter each into
        ``mu`` (55 kernels per step; at 100 ms 5.22-5.61 s against 4.76-5.19 s per set); carried apart with the
        sets' gathered terms of ``mu`` as here (no concatenation, a barrier on the list), slower still: 200 ms,
        9.13-9.19 s against 6.81-7.38 s (5 rounds in one process; a micro-benchmark had promised the opposite).
        Without the barrier on the new array, XLA fused each step's update into the next step's kernels,
        recomputing it in each.
        A chunk's rows written out one after another in the program instead of a loop (so that the scheduler
        could run the recursion beside the other kernels) was much slower: value_and_grad at 200 ms 10.18-11.25 s
        against 6.48-7.37 s. Each set's gathered term of ``mu`` in a kernel of its own (a vectorisable sum
        left) did not change the recursion's kernel time (341 and 325 ms against 347 and 344 ms, 40 ms profiles).
        """
        a, b = step.axial(args)
        sparse = len(step.record) <= SPARSE_RECORDS
        if not sparse:
            los = [jnp.zeros(lo.shape[:1] + lam[0].shape, lo.dtype).at[:, step.record].add(lo) for lo in los]

        def one(lam, c):
            lv, stacked = lam
            lvy_k, lo_k, d_k, sd_k, asm_k, cross_k, hub_k, ref_k, ref_v_k = c
            ls = unstack(stacked)  # the cotangents of the new states
            # through the refresh: lu, those of the updated states (a recomputed state's own is replaced)
            lu = [None if g in refreshed else ls[g] for g in range(n_states)]
            for (h, g), r_hg in ref_k.items():
                where = refreshed[h][g]
                term = r_hg * (ls[h] if where is None else ls[h].at[where].get(mode="fill", fill_value=0.0))
                lu[g] = term if lu[g] is None else lu[g] + term
            if sparse:  # lo_k: the cotangents of the recorded samples
                node = lax.iota(jnp.int32, lv.shape[0])
                mu = lv
                for j, r in enumerate(step.record):
                    mu = mu + jnp.where(node == int(r), lo_k[j], 0.0)
            else:  # lo_k: those cotangents on every node
                mu = lv + lo_k
            for where, members, inverse in sets:  # (ds'/dv')^T ls, set by set
                terms = ([sd_k[g].real * lu[g] for g in members if lu[g] is not None]
                         + [ref_v_k[h] * ls[h] for h in members if h in ref_v_k])
                if not terms:
                    continue
                term = sum(terms[1:], terms[0])
                if where is None:
                    mu = mu + term
                elif inverse is None:  # instances that share a node (point processes): scattered
                    mu = mu.at[where].add(term)
                else:  # the set's term in one kernel first: fused into the gather, each node would gather
                    # every coefficient of the set on its own (pyramidal port model, with the rolled block loop
                    # of ``record``: value_and_grad at 1 s 33.49 -> 32.34 s best of 2, alternating in one process)
                    mu = mu + lax.optimization_barrier(term).at[inverse].get(mode="fill", fill_value=0.0)
            y = _solve(step.structure, "auto", d_k, b, a, mu)  # A^T y = mu
            y_at = [y if where is None else y[where] for where, _, _ in sets]
            ls_new = []
            for g in range(n_states):
                acc = asm_k[g] * y_at[row[g][0]]
                if lu[g] is not None:
                    acc = acc + sd_k[g].imag * lu[g]
                for (h, g2), c_hg in cross_k.items():
                    if g2 == g and lu[h] is not None:
                        term = c_hg * lu[h]
                        if (h, g) in transfer:
                            term = term.at[transfer[h, g]].get(mode="fill", fill_value=0.0)
                        acc = acc + term
                for (h, g2), c_hg in hub_k.items():  # c_hg at g's instances; lu[h] taken there
                    if g2 == g and lu[h] is not None:
                        where = hubs[h][g]
                        ls_h = lu[h] if where is None else lu[h].at[where].get(mode="fill", fill_value=0.0)
                        acc = acc + c_hg * ls_h
                ls_new.append(acc)
            # materialised: fused into the next step's kernels, the update would be recomputed in each of them
            stacked_new = lax.optimization_barrier(stack(ls_new))
            return (lvy_k * y, stacked_new), (y, [stacked[..., o:o + m] for o, m in (flat_at[h] for h in keep)])

        def body(lam, cs):
            outs = [None] * len(cs)
            for p in reversed(range(len(cs))):
                lam, outs[p] = one(lam, cs[p])
            return lam, outs

        xs = [(coef["lvy"], lo, coef["d"], coef.get("sd", []), coef.get("asm", []), coef.get("cross", {}),
               coef.get("hub", {}), coef.get("ref", {}), coef.get("ref_v", {})) for coef, lo in zip(coefs, los,
                                                                                                   strict=True)]
        (lv, stacked), outs = lax.scan(body, (lam[0], stack(lam[1])), xs, reverse=True)
        return (lv, unstack(stacked)), outs

    def stack(ls):  # per-state arrays -> one flat array, node set after node set (empty without states)
        if not ls:
            return jnp.zeros((0,), carry0[0].dtype)
        return jnp.concatenate([ls[g] for _, members, _ in sets for g in members], axis=-1)

    def unstack(stacked):  # and back (the rows of a chunk's steps in front, where there are)
        return [stacked[..., o:o + m] for o, m in flat_at]

    perturbed = {}  # which inputs are differentiated, from the forward rule

    def chunk(args, lam, phases):
        """Cotangents through one chunk, whose steps come in phases (see ``recursion``): each phase is
        ``(vn, sn, vnext, stim_c, lo_c)`` with one row per step. Returns the new lam; for each differentiated
        leaf of ``args``, its cotangent from each row (arrays with the rows in front, summed over the phases
        here and over the rows by the caller: XLA:CPU's reductions are slow in a loop); and, for each phase,
        the stimuli's (``None`` if not differentiated).
        """
        leaves, tree = jax.tree_util.tree_flatten(args)
        where = [k for k, p in enumerate(perturbed["args"]) if p]

        def rebuilt(sub):  # args with its differentiated leaves replaced by ``sub``
            merged = list(leaves)
            for k, leaf in zip(where, sub, strict=True):
                merged[k] = leaf
            return jax.tree_util.tree_unflatten(tree, merged)

        # The states whose update depends on a differentiated input (hh's on celsius, not on the conductances;
        # with a calcium pool, the calcium current, through the channels' permeabilities): the recursion keeps
        # their cotangents at every step for the inputs' VJP, and only theirs (the pyramidal model: 1 of 23
        # state arrays; value_and_grad at 200 ms 7.87-8.26 s against 8.07-9.40 s keeping all 23, alternating in
        # one process, CPU time 13.9 against 14.4 s).
        sub0 = [leaves[k] for k in where]
        vn0, sn0, vnext0 = phases[0][:3]
        keep = [h for h, used in enumerate(_dependencies(
            lambda *sub: advance(rebuilt(sub), vnext0[0], [s[0] for s in sn0]), *sub0)) if used]
        # Coefficients and parameter cotangents phase by phase. Joining the phases into one coefficient pass
        # made XLA fuse the recomputed states into slow concatenation kernels: hh's value_and_grad on the
        # 1,248-compartment bench cell took 0.58 s joined, 0.29 s so; the pyramidal model with the full channel
        # library (300 ms) 15.7 s joined, 11.4 s so. Joined behind a barrier (the recursion indexing one array
        # per coefficient), 100 ms took 4.68-5.31 s against 3.76-3.98 s: XLA still fused the concatenations into
        # the recomputation, and the coefficients, in a quarter of the kernels, took as long (their time is
        # arithmetic, not kernel launches).
        coefs = [coefficients(args, vn, sn, vnext, vnext - vn, stim_c) for vn, sn, vnext, stim_c, _ in phases]
        with jax.named_scope("recursion"):
            lam, outs = recursion(args, lam, coefs, [ph[4] for ph in phases], keep)
        total, stim_bars = None, []
        for (vn, sn, vnext, stim_c, _), (y, ls1) in zip(phases, outs, strict=True):
            with jax.named_scope("parameter_bars"):
                bar, stim_bar = parameter_bars(rebuilt, sub0, keep, vn, sn, vnext, stim_c, y, ls1)
            total = bar if total is None else [u + v for u, v in zip(total, bar, strict=True)]
            stim_bars.append(stim_bar)
        return lam, total, stim_bars

    def parameter_bars(rebuilt, sub0, keep, vn, sn, vnext, stim_c, y, ls1):
        """The cotangents of the differentiated leaves from each step of a phase, and of its stimuli (``ls1``:
        the cotangents of the new states numbered in ``keep``).

        The currents' part is a VJP of the assembly with the steps' ``y``. Taking it instead, for per-node leaves
        (the conductances), from the states' VJP in ``coefficients`` (the same VJP with a copy of each leaf per
        step, then ``y`` times its cotangent) was slower: pyramidal model, 400 ms, value_and_grad best 14.60 and
        18.19 s against 13.49 and 15.26 s (alternating processes).
        """
        x = vnext - vn
        steps = vn.shape[0]
        sub = [jnp.broadcast_to(leaf, (steps,) + leaf.shape) for leaf in sub0]  # one copy per step
        # cable_solve's cotangent rules (hines.py), mapped over the chunk's steps
        d_bar, a_bar, b_bar = jax.vmap(partial(_matrix_bars, step.structure))(y, x)
        asm = jax.vmap(lambda sub, v, s, st: assemble(rebuilt(sub), v, s, st))
        if perturbed["stim"]:
            sub_bar, stim_bar = jax.vjp(lambda sub, st: asm(sub, vn, sn, st), sub, stim_c)[1]((d_bar, y))
        else:
            (sub_bar,), stim_bar = jax.vjp(lambda sub: asm(sub, vn, sn, stim_c), sub)[1]((d_bar, y)), None
        if not sub:
            return sub_bar, stim_bar
        a_axial, b_axial = jax.vmap(partial(_axial_bars, step.structure))(y, vn)
        ab = jax.vjp(lambda sub: jax.vmap(lambda sub: step.axial(rebuilt(sub)))(sub), sub)[1]
        sub_bar = [u + v for u, v in zip(sub_bar, ab((a_bar + a_axial, b_bar + b_axial))[0], strict=True)]
        if keep:
            kept = lambda sub, v, s: [advance(rebuilt(sub), v, s)[h] for h in keep]  # noqa: E731
            adv = jax.vjp(lambda sub: jax.vmap(kept)(sub, vnext, sn), sub)[1]
            sub_bar = [u + v for u, v in zip(sub_bar, adv(ls1)[0], strict=True)]
        return sub_bar, stim_bar

    def state_stride(batch: int, steps: int) -> int:
        """Store the states of every this-many-th step: every step where the state update is large (many state
        arrays: recomputing it costs more than storing it) and the stored states fit :data:`EVERY_STEP_BYTES`.
        """
        if recompute or n_states <= UNROLLED_STATES:
            return STATE_STRIDE
        stored = batch * steps * carry0[0].dtype.itemsize * sum(x.size for x in flat(carry0[1]))
        return 1 if stored <= EVERY_STEP_BYTES else STATE_STRIDE

    def chunk_steps(batch: int, k: int, steps: int) -> int:
        """The backward pass's chunk: ``recompute``, or a multiple of k, as even as the steps allow (the last
        chunk is padded to a whole one).
        """
        if recompute:
            return int(recompute)
        sizes = [x.size for x in flat(carry0[1])]
        per_step = batch * carry0[0].dtype.itemsize * (8 * n + 3 * sum(sizes) + sum(sizes[h] for h, _ in couplings))
        size = int(np.clip(CHUNK_BYTES // max(1, per_step), *CHUNK_STEPS))
        size = max(k, size - size % k)
        if steps > size:
            size = -(-steps // -(-steps // size))  # the fewest chunks of this size, evened out
        else:  # one chunk, no longer than the steps
            size = max(steps, 1)
        return -(-size // k) * k

    def one_step(args, carry, stim_k):  # the step, with the samples and what the adjoint needs of it
        v, s, extra = carry
        v1, s1 = step(args, v, s, stim_k)
        return (v1, s1, step.track(extra, v1) if step.track else extra), (v1[step.record], v, flat(s))

    def padded_step(args, steps, total, carry, xs):  # step j, or none where j is past the last real step
        j, stim_k = xs
        new, out = one_step(args, carry, stim_k)
        if total > steps:
            new = jax.tree_util.tree_map(lambda u, w: jnp.where(j < steps, u, w), new, carry)
        return new, out

    def forward(args, carry0, stim):
        primal_of = lambda tree: jax.tree_util.tree_map(  # noqa: E731
            lambda p: p.value, tree, is_leaf=lambda p: isinstance(p, CustomVJPPrimal))
        perturbed["args"] = [p.perturbed for p in jax.tree_util.tree_leaves(
            args, is_leaf=lambda p: isinstance(p, CustomVJPPrimal))]
        perturbed["stim"] = stim.perturbed
        args, carry0, stim = primal_of(args), primal_of(carry0), primal_of(stim)
        analyse()
        samples, extra, stored = record(args, carry0, stim)
        return (samples, extra), (args, carry0, stim, stored)

    @knows_batch
    def record(args, carry0, stim, batch):
        """The samples, and what the backward pass needs of the trajectory, in chunks sized for ``batch``
        simulations at once (the chunk length is passed on as the shape of an empty array).

        The steps are padded to a whole number of chunks. A padded step leaves the carry as it is (v, the
        states and the bookkeeping stay at their values after the last real step), and its samples are dropped:
        the backward pass then runs one loop over whole chunks (one copy of its code in the program; a separate
        program for the last few steps made the gradient's compilation up to 1.6 times slower).
        """
        steps = stim.shape[0]
        k = state_stride(batch, steps)
        size = chunk_steps(batch, k, steps)
        count = -(-steps // size)
        total = count * size
        if total > steps:
            stim = jnp.concatenate([stim, jnp.zeros((total - steps,) + stim.shape[1:], stim.dtype)])

        body = partial(padded_step, args, steps, total)

        def block(carry, xs):  # k steps: the v entering each (one output per phase), the states of the first
            states = flat(carry[1])
            samples, vs = [], []
            for p in range(k):
                carry, (sample, v, _) = body(carry, (xs[0][p], xs[1][p]))
                samples.append(sample)
                vs.append(v)
            return carry, (jnp.stack(samples), vs, states)

        def single(carry, xs):
            carry, (sample, v, _) = body(carry, xs)
            return carry, (sample, v)

        def rolled(carry, xs):  # a block's k steps in a loop of their own (see UNROLLED_STATES): v in step order,
            # and the states leaving the block (those entering it would be copied before the loop overwrites them:
            # pyramidal port model, 400 ms, value_and_grad 15.20-17.33 s against 16.32-18.25 s, CPU time 26.3-29.9
            # against 28.5-31.7 s, alternating in one process)
            carry, (part, v) = lax.scan(single, carry, xs)
            return carry, (part, v, flat(carry[1]))

        def start_only(carry, xs):  # a chunk to be rerun: only its start is stored
            start = (carry[0], flat(carry[1]))
            carry, (part, _, _) = lax.scan(body, carry, xs)
            return carry, (part, start)

        # Residuals: v of every step (in k phases) and the states of every k-th (or, with recompute, both at each
        # chunk's start only).
        index = jnp.arange(total)
        carry, vs, ss = carry0, None, None
        if not total:
            samples = jnp.zeros((0,) + carry0[0][step.record].shape, carry0[0].dtype)
        elif recompute:
            by_chunk = lambda x: x.reshape((count, size) + x.shape[1:])  # noqa: E731
            carry, (samples, (vs, ss)) = lax.scan(start_only, carry, (by_chunk(index), by_chunk(stim)))
        else:
            by_block = lambda x: x.reshape((total // k, k) + x.shape[1:])  # noqa: E731
            unrolled = n_states <= UNROLLED_STATES or k == 1
            carry, (samples, vs, ss) = lax.scan(block if unrolled else rolled, carry, (by_block(index), by_block(stim)))
        samples = samples.reshape((total,) + jnp.shape(carry0[0][step.record]))[:steps]
        # the chunk length and the stride travel as the shapes of empty arrays
        return samples, carry[2], (vs, ss, carry[0], jnp.zeros((size, k, 0), stim.dtype))

    def backward(residual, bars):
        analyse()
        args, carry0, stim, stored = residual
        samples_bar = bars[0]
        if isinstance(samples_bar, SymbolicZero):
            samples_bar = jnp.zeros(samples_bar.shape, samples_bar.dtype)
        return adjoint(args, carry0, stim, stored, samples_bar)

    def adjoint(args, carry0, stim, stored, samples_bar):
        """The cotangents of ``args``, ``carry0`` and ``stim`` (``None`` where not differentiated)."""
        vs, ss, v_end, sized = stored
        steps, (size, k) = stim.shape[0], sized.shape[:2]
        chunks = -(-steps // size)
        total = chunks * size
        lam = (jnp.zeros_like(v_end), [jnp.zeros_like(x) for x in flat(carry0[1])])
        leaves = jax.tree_util.tree_leaves(args)
        sub_bar = [jnp.zeros_like(x) for x, p in zip(leaves, perturbed["args"], strict=True) if p]
        stim_bar = jnp.zeros_like(stim) if perturbed["stim"] else None
        if chunks:
            # The steps past the last real one (see ``record``) keep v and the states; they have no samples and
            # come first in the backward pass, while lam is still zero, so their cotangents are exact zeros.
            padded = lambda x: jnp.concatenate([x, jnp.zeros((total - steps,) + x.shape[1:], x.dtype)])  # noqa: E731
            # Without recompute, the stored v come in k phases (v of steps k b + p, p < k), and a chunk's steps
            # are taken phase by phase: the states of phase p follow from those of phase p - 1 in one
            # node-by-node kernel, with no interleaving of phases in memory.
            ends = None
            if recompute:
                vs = [vs]
                after = vs[0][1:]
            elif not isinstance(vs, list):  # one array in step order: each chunk's phases are taken apart below
                vs = vs.reshape((chunks, size // k, k, n))
                ends, ss = ss, jnp.arange(chunks)  # the states leaving each block (see ``rolled``); chunk numbers
                after = vs[1:, 0, 0]
            else:
                vs = [x.reshape((chunks, size // k, n)) for x in vs]
                ss = [x.reshape((chunks, size // k) + x.shape[1:]) for x in ss]
                after = vs[0][1:, 0]
            # v just after each chunk: the next chunk's first (after the last, v at the end)
            v_after = jnp.concatenate([after, v_end[None]])
            by_chunk = lambda x: padded(x).reshape((chunks, size) + x.shape[1:])  # noqa: E731

            def outer(carry, c):
                lam, per_step = carry
                vps, starts, after, stim_c, lo_c, index_c = c
                if ends is not None:  # the states entering each block: those leaving the block before
                    rows = size // k  # (the first block's: the initial states); ``starts`` is the chunk's number
                    starts = [jnp.where(starts == 0, jnp.concatenate([s0[None], e[:rows - 1]]),
                                        lax.dynamic_slice_in_dim(e, starts * rows - 1, rows))
                              for s0, e in zip(flat(carry0[1]), ends, strict=True)]
                if recompute:  # rerun the chunk from its start: one phase
                    start = (vps[0], jax.tree_util.tree_unflatten(state_def, starts), carry0[2])
                    _, (_, vn, sn) = lax.scan(partial(padded_step, args, steps, total), start, (index_c, stim_c))
                    phases = [(vn, sn, jnp.concatenate([vn[1:], after[None]]), stim_c, lo_c)]
                else:  # the states of each phase from the previous phase's (all blocks at once)
                    phased = lambda x, p: x.reshape((size // k, k) + x.shape[1:])[:, p]  # noqa: E731
                    if not isinstance(vps, list):
                        vps = [vps[:, p] for p in range(k)]
                    sn, phases = starts, []
                    for p in range(k):
                        if p:
                            with jax.named_scope("recompute"):
                                # materialised: fused into each consumer, the rate lookups would be repeated
                                sn = lax.optimization_barrier(jax.vmap(advance, (None, 0, 0))(args, vps[p], sn))
                        vnext = vps[p + 1] if p + 1 < k else jnp.concatenate([vps[0][1:], after[None]])
                        phases.append((vps[p], sn, vnext, phased(stim_c, p), phased(lo_c, p)))
                lam, bar, stim_bar = chunk(args, lam, phases)
                if perturbed["stim"]:  # back in time order
                    stim_bar = jnp.stack(stim_bar, axis=1).reshape((size,) + stim.shape[1:])
                return (lam, [u + v for u, v in zip(per_step, bar, strict=True)]), stim_bar

            rows = size if recompute else size // k
            per_step = [jnp.zeros((rows,) + x.shape, x.dtype) for x in sub_bar]
            xs = (vs, ss, v_after, by_chunk(stim), by_chunk(samples_bar), jnp.arange(total).reshape((chunks, size)))
            (lam, per_step), stim_main = lax.scan(outer, (lam, per_step), xs, reverse=True)
            sub_bar = [u + v.sum(0) for u, v in zip(sub_bar, per_step, strict=True)]
            if perturbed["stim"]:
                stim_bar = stim_main.reshape((total,) + stim.shape[1:])[:steps]
        bars = iter(sub_bar)
        args_bar = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(args), [
            next(bars) if p else None for p in perturbed["args"]])
        lv, ls = lam
        carry_bar = (lv, jax.tree_util.tree_unflatten(state_def, ls),
                     jax.tree_util.tree_map(_zero_cotangent, carry0[2]))
        return args_bar, carry_bar, stim_bar

    @jax.custom_vjp
    def scan(args, carry0, stim):
        return primal(args, carry0, stim)

    scan.defvjp(forward, backward, symbolic_zeros=True)
    return scan(args, carry0, stim)

