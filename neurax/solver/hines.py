"""The Hines solve: Gaussian elimination on a tree matrix in O(n), with its own derivative and batching rules.

NEURON's tree matrix has, for every non-root node ``i`` with parent ``p = parent[i] < i``, the diagonal
``d[i]``, the entry ``b[i]`` at row ``i`` / column ``p`` (the parent's effect on node i) and the entry
``a[i]`` at row ``p`` / column ``i`` (node i's effect on its parent). Elimination runs from the last node
to the first (``triang``), then back substitution from the roots outwards (``bksub``), in NEURON's order.

The structure (parents, order) is static and lives in numpy (:class:`TreeStructure`); the values are
traced JAX arrays. One entry point, :func:`tree_solve`, has three implementations:

* **sequential** (the default for one system): one node per loop iteration, exactly NEURON's order of
  operations. Its speed is bound by the latency of the dependency chain (divide, multiply, subtract,
  store, load): about 7-8 ns per node for both passes on a 2.6 GHz Xeon.
* **lanes** (:class:`LanePlan`, opt-in): the tree is split, once, into a small *root region* and ``K``
  lanes, each a group of whole subtrees in its own array. One loop eliminates one node of every lane per
  iteration (independent dependency chains that the CPU overlaps), the lanes' top nodes are folded into
  the root region, the root region is solved sequentially, and one loop back-substitutes all lanes. The
  children of a root-region node are summed in another order than NEURON's, so ``x`` agrees with the
  sequential solve to rounding (about 1e-16 relative), not bit for bit. Measured in isolation: 1.1x on a
  2,653-node cell, 1.3-1.4x on 10,000 nodes, nothing below ~2,000; inside a simulation step its gathers
  cost more than that (the step was 15% slower), hence opt-in.
* **batched** (:func:`_columns`): under ``jax.vmap`` the solve works on ``(batch, nodes)`` arrays as vmap
  lays them out, and each iteration moves one column: node ``i`` of up to :data:`COLUMN_ROWS` systems.
  No transposes are needed (in a batch-32 simulation step, transposing to and from a batch-minor layout
  cost as much as the solve itself). This is a :func:`jax.custom_batching.custom_vmap` rule, so it
  applies to any vmapped code that calls :func:`tree_solve` (a whole ``lax.scan`` simulation, its
  gradient, nested vmaps); results match the unbatched solve's to rounding. Called directly with
  trailing batch axes, ``(nodes, batch...)``, the sequential loop moves rows of :data:`ROW_BYTES`.

:func:`cable_solve` is the solve of a simulation step: it adds the axial currents at the present
voltages to the right-hand side inside the elimination loops, where they cost two extra loads per node,
instead of several passes over memory as array operations.

The derivative is a second solve with the transposed matrix, which is the same tree with ``a`` and ``b``
exchanged, so gradients never differentiate through the elimination loops; it goes through the same
implementations and batching rule.

How the loops are written for XLA:CPU (measured; each point is worth a factor of 2 to 40):

* A while loop whose iteration touches less than about 1 kB and has no scatter is compiled into one
  native kernel (``SmallWhileLoopHoistingPass``); otherwise every operation of the body is a separate
  kernel launch, and a body of many independent kernels is even handed to the thread pool (microseconds
  per iteration). So the loops read and write rows with ``dynamic_slice`` / ``dynamic_update_slice`` (no
  ``.at[]`` scatter, no negative-index wrapping), and a batched row is at most :data:`ROW_BYTES` wide.
  neurax raises that limit to 4 MB (:mod:`neurax._jax`); the columns of the batched solve need 64 kB.
* Each carried array is updated once per iteration: unrolling, or several lanes in one array, makes XLA
  copy the whole array every iteration. Hence one array per lane.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np

from neurax._jax import jax, jnp, lax

__all__ = ["LanePlan", "TreeStructure", "cable_solve", "tree_solve"]

#: Measured time (ns, XLA:CPU, float64, 2.6 GHz Xeon, 2,653-node tree) of one loop iteration of triang
#: + bksub together, by number of lanes eliminated per iteration (1 = the sequential loop, per node).
#: Lanes overlap independent dependency chains until the instructions per iteration dominate (4 lanes
#: are slower than 3). Larger trees cost more per node (10,141 nodes: 10 ns sequential).
LANE_COST_NS = {1: 7.3, 2: 12.9, 3: 14.7, 4: 25.5}
#: Measured time (ns) of the lane solve's gathers, fold and final gather: fixed, and per node.
LANE_OVERHEAD_NS = 1500.0
LANE_OVERHEAD_PER_NODE_NS = 1.1
#: ``lanes="auto"`` picks a lane plan when predicted to take at most this fraction of the sequential
#: loop's time (the prediction is good to about 5%).
LANE_MIN_GAIN = 0.87
#: Widest row (bytes) of a loop iteration with trailing batch axes: XLA:CPU compiles a while loop into one kernel
#: only while one iteration touches less than about 1 kB (``SmallWhileLoopHoistingPass``), which rows of
#: 64 bytes (8 systems in float64, 16 in float32) keep and rows of 128 bytes do not (then 6x slower per
#: row). Wider batches are laid out as consecutive trees of such rows.
ROW_BYTES = 64
#: Systems per column of the batched solve (under ``jax.vmap``); wider batches go in slices of this many.
COLUMN_ROWS = 32


@dataclass(frozen=True, eq=False)
class TreeStructure:
    """Static structure of a tree matrix in Hines order.

    Attributes:
        parent: parent of every node, ``-1`` for roots; every parent precedes its children.
        n_roots: the roots are nodes ``0 .. n_roots - 1``.
        lanes: the lane plan for solving one system, or ``None`` for the sequential loop.
    """

    parent: np.ndarray
    n_roots: int
    lanes: LanePlan | None = None

    @staticmethod
    def from_parents(parent: np.ndarray, lanes: int | str | None = None) -> TreeStructure:
        """Check a parent array (Hines order, roots first) and wrap it.

        Args:
            parent: parent of every node, ``-1`` for roots.
            lanes: ``None`` (default) or ``1``: one system is solved with the sequential loop, exactly in
                NEURON's order; ``"auto"``: with the lane plan the cost model predicts to be fastest, if
                any (:meth:`LanePlan.best`); ``2`` .. ``4``: with that many lanes. Inside a simulation
                step the lane solve has measured slower than the sequential loop (its gathers cost more
                there than in isolation), hence the default.
        """
        parent = np.asarray(parent, dtype=np.int32)
        n = parent.size
        roots = np.flatnonzero(parent < 0)
        if roots.size == 0 or not np.array_equal(roots, np.arange(roots.size)):
            raise ValueError("roots must be the first nodes")
        if np.any(parent[roots.size:] >= np.arange(roots.size, n)) or np.any(parent[roots.size:] < 0):
            raise ValueError("every parent must precede its child")
        if lanes == "auto":
            plan = LanePlan.best(parent)
        elif lanes is None or lanes == 1:
            plan = None
        elif lanes in LANE_COST_NS:
            plan = LanePlan.build(parent, lanes)
        else:
            raise ValueError(f"lanes must be None, 'auto' or one of {sorted(LANE_COST_NS)}, got {lanes!r}")
        return TreeStructure(parent=parent, n_roots=int(roots.size), lanes=plan)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.parent.size)

    @cached_property
    def _jumps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Most nodes' parent is the node just before them (section interiors): summing to them is a
        # shift; only the first node of each section (a "jump") needs a scatter.
        node = np.arange(self.parent.size)
        chain = (self.parent >= 0) & (self.parent == node - 1)
        jump = np.flatnonzero((self.parent >= 0) & ~chain)
        return chain, jump.astype(np.int32), self.parent[jump]

    def parent_values(self, x):
        """``x[parent]`` along the leading (node) axis; at roots, arbitrary values (mask them)."""
        return x[jnp.asarray(np.maximum(self.parent, 0))]

    def sum_to_parents(self, g):
        """For each node, the sum of ``g`` over its children (leading axis; ``g`` is ignored at roots)."""
        chain, jump, jump_parent = self._jumps
        up = jnp.where(_trailing(jnp.asarray(chain), g.ndim), g, 0.0)
        out = jnp.concatenate([up[1:], jnp.zeros_like(up[:1])])
        return out.at[jump_parent].add(g[jump])

    def __hash__(self) -> int:
        return id(self)


# -- lane plan -----------------------------------------------------------------------------------------


def _subtree_sizes(parent: np.ndarray) -> np.ndarray:
    size = np.ones(parent.size, dtype=np.int64)
    for i in range(parent.size - 1, -1, -1):
        if parent[i] >= 0:
            size[parent[i]] += size[i]
    return size


def _pack(sizes: list[int], n_lanes: int) -> tuple[int, list[int]]:
    """Longest-processing-time packing of subtrees into lanes: (longest lane, lane of each subtree)."""
    lanes = [(0, k) for k in range(n_lanes)]
    owner = [0] * len(sizes)
    for t in sorted(range(len(sizes)), key=lambda t: -sizes[t]):
        load, k = heapq.heappop(lanes)
        owner[t] = k
        heapq.heappush(lanes, (load + sizes[t], k))
    return max(load for load, _ in lanes), owner


def _predicted_ns(n_region: int, length: int, n_lanes: int, n: int) -> float:
    return (LANE_COST_NS[1] * n_region + LANE_COST_NS[n_lanes] * length + LANE_OVERHEAD_NS
            + LANE_OVERHEAD_PER_NODE_NS * n)


@dataclass(frozen=True, eq=False)
class LanePlan:
    """A split of a tree into a root region solved sequentially and ``K`` lanes of whole subtrees.

    Each lane is a compact array of ``length + 1`` slots: its nodes in Hines order, then padding
    (``d = 1``, ``a = b = rhs = 0``), then one *ghost* slot. A slot whose parent is outside its lane (a
    lane *top*, whose parent is in the root region or which is a root, and the padding) points at the
    ghost, whose ``x`` is 0; a top's coupling to its root-region parent is applied between the loops
    (the *fold*).

    Attributes:
        n_lanes: ``K``.
        length: slots per lane before the ghost (the longest lane).
        slot_node: ``(K, length + 1)`` node held by each slot; ``n`` (out of range) where none.
        slot_coef: like ``slot_node`` but ``n`` also for the tops, whose ``a`` and ``b`` belong to the fold.
        slot_parent: ``(K, length)`` slot of each slot's parent within its lane, or the ghost (``length``).
        region: root-region nodes (ascending: Hines order, roots first).
        region_parent: parent of each root-region node as an index into ``region`` (-1 for roots).
        region_roots: number of roots in the region (its first nodes).
        top_lane, top_slot, top_node, top_parent: the tops with a parent in the root region: their lane,
            slot, node and parent (index into ``region``).
        order: position of every node in ``concat([x_region, x_lane_0, ..., x_lane_K-1])``.
        predicted_ns: predicted time of one solve (ns) from :data:`LANE_COST_NS`.
    """

    n_lanes: int
    length: int
    slot_node: np.ndarray
    slot_coef: np.ndarray
    slot_parent: np.ndarray
    region: np.ndarray
    region_parent: np.ndarray
    region_roots: int
    top_lane: np.ndarray
    top_slot: np.ndarray
    top_node: np.ndarray
    top_parent: np.ndarray
    order: np.ndarray
    predicted_ns: float

    @staticmethod
    def search(parent: np.ndarray, n_lanes: int) -> tuple[float, np.ndarray]:
        """Best root region for ``n_lanes`` lanes: (predicted ns, region nodes).

        Greedy: starting from the roots' subtrees, repeatedly move the root of the largest subtree into
        the root region (its children's subtrees become candidates) and pack the candidates into lanes;
        keep the cheapest split by :func:`_predicted_ns`.
        """
        parent = np.asarray(parent)
        n = parent.size
        size = _subtree_sizes(parent)
        children: list[list[int]] = [[] for _ in range(n)]
        for i in np.flatnonzero(parent >= 0):
            children[parent[i]].append(int(i))
        heap = [(-int(size[i]), int(i)) for i in np.flatnonzero(parent < 0)]
        heapq.heapify(heap)
        moved: list[int] = []
        best = (np.inf, 0)
        while heap:
            length, _ = _pack([-s for s, _ in heap], n_lanes)
            cost = _predicted_ns(len(moved), length, n_lanes, n)
            if cost < best[0]:
                best = (cost, len(moved))
            if LANE_COST_NS[1] * len(moved) > best[0] or -heap[0][0] <= 1:
                break
            _, i = heapq.heappop(heap)
            moved.append(i)
            for c in children[i]:
                heapq.heappush(heap, (-int(size[c]), c))
        return best[0], np.sort(np.asarray(moved[:best[1]], dtype=np.int64))

    @staticmethod
    def build(parent: np.ndarray, n_lanes: int, region: np.ndarray | None = None) -> LanePlan:
        """The plan for ``n_lanes`` lanes around the root region ``region`` (default: :meth:`search`'s)."""
        parent = np.asarray(parent, dtype=np.int64)
        n = parent.size
        predicted = np.nan
        if region is None:
            predicted, region = LanePlan.search(parent, n_lanes)
        region = np.sort(np.asarray(region, dtype=np.int64))
        in_region = np.zeros(n, bool)
        in_region[region] = True
        if np.any(in_region[region] & (parent[region] >= 0) & ~in_region[np.maximum(parent[region], 0)]):
            raise ValueError("the root region must contain the parent of each of its nodes")
        # Each node outside the region belongs to the subtree of its top (first node below the region).
        top_of = np.full(n, -1, dtype=np.int64)
        for i in range(n):
            if not in_region[i]:
                p = parent[i]
                top_of[i] = i if p < 0 or in_region[p] else top_of[p]
        tops = np.flatnonzero(top_of == np.arange(n))
        size = np.bincount(top_of[top_of >= 0], minlength=n)[tops]
        length, owner = _pack(size.tolist(), n_lanes)
        lane_of = np.full(n, -1, dtype=np.int64)
        lane_of[tops] = owner
        lane_of[~in_region] = lane_of[top_of[~in_region]]

        slot_node = np.full((n_lanes, length + 1), n, dtype=np.int64)
        slot_parent = np.full((n_lanes, length), length, dtype=np.int64)
        slot_of = np.full(n, -1, dtype=np.int64)
        for k in range(n_lanes):
            nodes = np.flatnonzero(lane_of == k)  # ascending: Hines order within the lane
            slot_node[k, :nodes.size] = nodes
            slot_of[nodes] = np.arange(nodes.size)
            inner = nodes[top_of[nodes] != nodes]
            slot_parent[k, slot_of[inner]] = slot_of[parent[inner]]
        is_top = np.zeros(n + 1, bool)
        is_top[tops] = True
        slot_coef = np.where(is_top[slot_node], n, slot_node)

        local = np.full(n, -1, dtype=np.int64)
        local[region] = np.arange(region.size)
        hanging = tops[parent[tops] >= 0]
        order = np.empty(n, dtype=np.int64)
        order[region] = np.arange(region.size)
        outside = np.flatnonzero(~in_region)
        order[outside] = region.size + lane_of[outside] * (length + 1) + slot_of[outside]
        if np.isnan(predicted):
            predicted = _predicted_ns(region.size, length, n_lanes, n)
        i32 = partial(np.asarray, dtype=np.int32)
        return LanePlan(
            n_lanes=n_lanes, length=int(length), slot_node=i32(slot_node), slot_coef=i32(slot_coef),
            slot_parent=i32(slot_parent), region=i32(region),
            region_parent=i32(np.where(parent[region] >= 0, local[np.maximum(parent[region], 0)], -1)),
            region_roots=int(np.sum(parent[region] < 0)), top_lane=i32(lane_of[hanging]),
            top_slot=i32(slot_of[hanging]), top_node=i32(hanging), top_parent=i32(local[parent[hanging]]),
            order=i32(order), predicted_ns=float(predicted))

    @staticmethod
    def best(parent: np.ndarray, lanes: tuple[int, ...] = (2, 3, 4)) -> LanePlan | None:
        """The fastest plan by :data:`LANE_COST_NS`, or ``None`` if the sequential loop is predicted faster."""
        parent = np.asarray(parent)
        sequential = LANE_COST_NS[1] * parent.size
        costs = {k: LanePlan.search(parent, k) for k in lanes}
        k = min(costs, key=lambda k: costs[k][0])
        if not costs[k][0] < LANE_MIN_GAIN * sequential:
            return None
        return LanePlan.build(parent, k, costs[k][1])


# -- the solves ----------------------------------------------------------------------------------------


def _row(x, i):
    """Row ``i`` of a ``(rows, width)`` array, shape ``(1, width)``.

    A dynamic slice: ``x[i]`` would add index wrapping, and ``x.at[i]`` updates would be scatters, which
    keep XLA:CPU from compiling the loop into one kernel.
    """
    return lax.dynamic_slice_in_dim(x, i, 1)


def _put(x, i, row):
    """``x`` with row ``i`` replaced (in place: a dynamic update slice, not a scatter)."""
    return lax.dynamic_update_slice_in_dim(x, row, i, 0)


def _index(table, i):
    return lax.dynamic_index_in_dim(table, i, keepdims=False)


def _sequential(parent: np.ndarray, n_roots: int, d, a, b, rhs, v=None):
    """NEURON's triang + bksub, one node per iteration; arrays have the nodes on their leading axis.

    Trailing (batch) axes are flattened into rows, node ``i`` being row ``i``, and each loop iteration
    moves whole rows with dynamic slices: XLA:CPU then compiles each loop into one native kernel. That
    needs rows of at most ``ROW_BYTES``: a wider batch is laid out as ``groups`` trees of narrower rows,
    one after the other, which the same loops run through in turn.

    With ``v`` (laid out like ``rhs``), the axial terms at ``v`` are added to the right-hand side in the
    same loops (see :func:`cable_solve`).
    """
    n = parent.size
    if n == 0:
        return rhs
    shape = jnp.broadcast_shapes(d.shape, rhs.shape)
    width = int(np.prod(shape[1:], dtype=np.int64))
    seg = max(1, ROW_BYTES // jnp.dtype(rhs.dtype).itemsize)
    groups = -(-width // seg) if width > seg else 1
    w = width if groups == 1 else seg

    def layout(x, fill):  # (groups * n, w): the trees one after the other
        x = jnp.broadcast_to(x, shape).reshape(n, width)
        if groups > 1:
            x = jnp.pad(x, ((0, 0), (0, groups * w - width)), constant_values=fill)
            x = x.reshape(n, groups, w).transpose(1, 0, 2).reshape(groups * n, w)
        return x

    d, rhs = layout(d, 1.0), layout(rhs, 0.0)
    v = None if v is None else layout(v, 0.0)
    # a and b shared by the whole batch stay one value per node.
    shared = [x.size == n for x in (a, b)]
    a, b = (x.reshape(n, 1) if same else layout(x, 0.0) for x, same in zip((a, b), shared, strict=True))
    parent = jnp.asarray(parent, dtype=jnp.int32)

    def node(t, count, first):
        """Loop step ``t`` of ``count`` per tree: (first row of its tree, node index)."""
        if groups == 1:
            return 0, first + t
        g = t // count
        return g * n, first + t - g * count

    def coefficient(k, x, base, i):
        return _row(x, i if shared[k] else base + i)

    def triang(t, carry):
        d, rhs = carry
        base, k = node(t, n - n_roots, 0)
        i = n - 1 - k
        p = base + _index(parent, i)
        a_i, b_i = coefficient(0, a, base, i), coefficient(1, b, base, i)
        rhs_i, rhs_p = _row(rhs, base + i), _row(rhs, p)
        if v is not None:
            w = _row(v, p) - _row(v, base + i)
            rhs_i, rhs_p = rhs_i - b_i * w, rhs_p + a_i * w
        f = a_i / _row(d, base + i)
        return _put(d, p, _row(d, p) - f * b_i), _put(rhs, p, rhs_p - f * rhs_i)

    def roots(t, x):
        base, i = node(t, n_roots, 0)
        return _put(x, base + i, _row(x, base + i) / _row(d, base + i))

    def bksub(t, x):
        base, i = node(t, n - n_roots, n_roots)
        p = base + _index(parent, i)
        b_i, x_i = coefficient(1, b, base, i), _row(x, base + i)
        if v is not None:  # node i's own axial term, which triang used but did not store
            x_i = x_i - b_i * (_row(v, p) - _row(v, base + i))
        return _put(x, base + i, (x_i - b_i * _row(x, p)) / _row(d, base + i))

    # No unrolling: XLA:CPU then copies the carried arrays each iteration (measured 40x slower).
    d, rhs = lax.fori_loop(0, groups * (n - n_roots), triang, (d, rhs))
    rhs = lax.fori_loop(0, groups * n_roots, roots, rhs)
    x = lax.fori_loop(0, groups * (n - n_roots), bksub, rhs)
    if groups > 1:
        x = x.reshape(groups, n, w).transpose(1, 0, 2).reshape(n, groups * w)[:, :width]
    return x.reshape(shape)


def _columns(parent: np.ndarray, n_roots: int, d, a, b, rhs, v=None):
    """NEURON's triang + bksub on a batch of systems laid out ``(batch, n)``: the nodes on the last axis.

    This is how arrays arrive under ``jax.vmap`` (the batch in front), so no transposes are needed: each
    loop iteration reads and writes one *column* (node ``i`` of every system). ``a`` and ``b`` are
    ``(batch, n)`` or ``(1, n)`` (shared). Batches wider than :data:`COLUMN_ROWS` are solved in
    consecutive slices of that many systems. ``v`` as in :func:`_sequential`.
    """
    n = parent.size
    rows = rhs.shape[0]
    if rows > COLUMN_ROWS:
        args = (d, a, b, rhs) if v is None else (d, a, b, rhs, v)
        parts = [_columns(parent, n_roots, *(x if x.shape[0] == 1 else x[k:k + COLUMN_ROWS] for x in args))
                 for k in range(0, rows, COLUMN_ROWS)]
        return jnp.concatenate(parts)
    parent = jnp.asarray(parent, dtype=jnp.int32)

    def col(x, i):
        return lax.dynamic_slice_in_dim(x, i, 1, axis=1)

    def put(x, i, column):
        return lax.dynamic_update_slice_in_dim(x, column, i, axis=1)

    def triang(t, carry):
        d, rhs = carry
        i = n - 1 - t
        p = _index(parent, i)
        a_i, b_i, rhs_i, rhs_p = col(a, i), col(b, i), col(rhs, i), col(rhs, p)
        if v is not None:
            w = col(v, p) - col(v, i)
            rhs_i, rhs_p = rhs_i - b_i * w, rhs_p + a_i * w
        f = a_i / col(d, i)
        return put(d, p, col(d, p) - f * b_i), put(rhs, p, rhs_p - f * rhs_i)

    def roots(i, x):
        return put(x, i, col(x, i) / col(d, i))

    def bksub(t, x):
        i = n_roots + t
        p = _index(parent, i)
        b_i, x_i = col(b, i), col(x, i)
        if v is not None:
            x_i = x_i - b_i * (col(v, p) - col(v, i))
        return put(x, i, (x_i - b_i * col(x, p)) / col(d, i))

    d, rhs = lax.fori_loop(0, n - n_roots, triang, (d, rhs))
    rhs = lax.fori_loop(0, n_roots, roots, rhs)
    return lax.fori_loop(0, n - n_roots, bksub, rhs)


def _lanes(plan: LanePlan, d, a, b, rhs):
    """The lane solve (see :class:`LanePlan`); arrays have the nodes on their leading axis."""
    n_lanes, length = plan.n_lanes, plan.length
    shape = jnp.broadcast_shapes(d.shape, rhs.shape)
    d, rhs = jnp.broadcast_to(d, shape), jnp.broadcast_to(rhs, shape)
    width = int(np.prod(shape[1:], dtype=np.int64))

    def gather(x, index, fill):
        # Out-of-range indices (padding, ghost, tops' coefficients) read `fill`. One array of rows per lane.
        x = x.at[index.ravel()].get(mode="fill", fill_value=fill).reshape(index.shape + (-1,))
        return tuple(x[k] for k in range(n_lanes))

    lane_d, lane_rhs = gather(d, plan.slot_node, 1.0), gather(rhs, plan.slot_node, 0.0)
    lane_a, lane_b = gather(a, plan.slot_coef, 0.0), gather(b, plan.slot_coef, 0.0)
    lane_parent = [jnp.asarray(plan.slot_parent[k]) for k in range(n_lanes)]

    def triang(step, carry):
        i = length - 1 - step
        out_d, out_rhs = [], []
        for dk, rk, ak, bk, pk in zip(*carry, lane_a, lane_b, lane_parent, strict=True):
            p = _index(pk, i)
            f = _row(ak, i) / _row(dk, i)
            out_d.append(_put(dk, p, _row(dk, p) - f * _row(bk, i)))
            out_rhs.append(_put(rk, p, _row(rk, p) - f * _row(rk, i)))
        return tuple(out_d), tuple(out_rhs)

    # One array per lane: XLA:CPU updates each in place (several updates of one array per iteration
    # would make it copy the array).
    lane_d, lane_rhs = lax.fori_loop(0, length, triang, (lane_d, lane_rhs))

    # Fold the lane tops into their parents in the root region, then solve the root region.
    region = plan.region
    x_region = rhs[:0]
    if region.size:
        tops = plan.top_lane * (length + 1) + plan.top_slot
        top_d = jnp.concatenate(lane_d).reshape((-1,) + shape[1:])[tops]
        top_rhs = jnp.concatenate(lane_rhs).reshape((-1,) + shape[1:])[tops]
        f = a[plan.top_node] / top_d
        d_region = d[region].at[plan.top_parent].add(-f * b[plan.top_node])
        rhs_region = rhs[region].at[plan.top_parent].add(-f * top_rhs)
        x_region = _sequential(plan.region_parent, plan.region_roots, d_region, a[region], b[region], rhs_region)
        # The tops' parents are solved: move their terms to the right-hand side.
        coupling = -b[plan.top_node] * x_region[plan.top_parent]
        lane_rhs = tuple(
            rk.reshape((length + 1,) + shape[1:]).at[plan.top_slot[plan.top_lane == k]]
            .add(coupling[plan.top_lane == k]).reshape(length + 1, width)
            for k, rk in enumerate(lane_rhs))

    def bksub(i, lane_x):
        out = []
        for xk, dk, bk, pk in zip(lane_x, lane_d, lane_b, lane_parent, strict=True):
            p = _index(pk, i)
            out.append(_put(xk, i, (_row(xk, i) - _row(bk, i) * _row(xk, p)) / _row(dk, i)))
        return tuple(out)

    lane_x = lax.fori_loop(0, length, bksub, lane_rhs)
    x = jnp.concatenate([x_region.reshape(-1, width), *lane_x])
    return x[plan.order].reshape(shape)


def _impl(structure: TreeStructure, method: str, d, a, b, rhs, v=None):
    """Solve with arrays of shape ``(n, *batch)``; ``a`` and ``b`` broadcast against ``d``."""
    width = int(np.prod(jnp.broadcast_shapes(d.shape, rhs.shape)[1:], dtype=np.int64))
    plan = structure.lanes if v is None and (method == "lanes" or (method == "auto" and width == 1)) else None
    if plan is not None:
        return _lanes(plan, d, a, b, rhs)
    return _sequential(structure.parent, structure.n_roots, d, a, b, rhs, v)


def _trailing(x, ndim: int):
    """``x`` with singleton axes appended up to ``ndim`` dimensions."""
    return x.reshape(x.shape + (1,) * (ndim - x.ndim))


#: Which of the solve's arguments ``(d, a, b, rhs, v)`` are coefficients (possibly shared by a batch).
_COEFFICIENT = (False, True, True, False, False)


def _solve(structure: TreeStructure, method: str, *args):
    """The solve of ``args = (d, a, b, rhs[, v])`` with its batching rule (the batch kept in front).

    Returns ``x``; with ``v``, the axial terms at ``v`` are part of the right-hand side.
    """

    @jax.custom_batching.custom_vmap
    def solve(*args):
        ndim = max(args[0].ndim, args[3].ndim)
        d, a, b, rhs, *v = args
        return _impl(structure, method, d, _trailing(a, ndim), _trailing(b, ndim), rhs, *v)

    @solve.def_vmap
    def rule(axis_size, in_batched, *args):
        # Batched arguments carry the new axis in front: keep it there and put the nodes last, so that
        # the common case, (batch, n), needs no transpose.
        inner = jnp.broadcast_shapes(args[0].shape[in_batched[0]:], args[3].shape[in_batched[3]:])
        n = inner[0]

        def rows(x, batched, coefficient):
            x = x if batched else x[None]
            x = x.reshape(x.shape + (1,) * (len(inner) + 1 - x.ndim))
            if coefficient and x.size == n:
                return x.reshape(1, n)  # shared by every system
            x = jnp.broadcast_to(x, (axis_size,) + inner)
            return jnp.moveaxis(x, 1, -1).reshape(-1, n)

        out = _batched(structure, *map(rows, args, in_batched, _COEFFICIENT))
        out = jax.tree_util.tree_map(lambda x: jnp.moveaxis(x.reshape((axis_size,) + inner[1:] + (n,)), -1, 1), out)
        return out, jax.tree_util.tree_map(lambda _: True, out)

    return solve(*args)


def _batched(structure: TreeStructure, *args):
    """The column solve of ``(rows, n)`` systems, with its own batching rule (nested ``vmap``)."""

    @jax.custom_batching.custom_vmap
    def solve(*args):
        return _columns(structure.parent, structure.n_roots, *args)

    @solve.def_vmap
    def rule(axis_size, in_batched, *args):
        # A vmap of the batched solve: its systems times the new batch, still (rows, n).
        shape = (axis_size,) + jnp.broadcast_shapes(args[0].shape[in_batched[0]:], args[3].shape[in_batched[3]:])

        def rows(x, batched, coefficient):
            if coefficient and not batched and x.shape[0] == 1:
                return x
            return jnp.broadcast_to(x if batched else x[None], shape).reshape(-1, shape[-1])

        out = _batched(structure, *map(rows, args, in_batched, _COEFFICIENT))
        return jax.tree_util.tree_map(lambda x: x.reshape(shape), out), jax.tree_util.tree_map(lambda _: True, out)

    return solve(*args)


def tree_solve(structure: TreeStructure, d, a, b, rhs, method: str = "auto"):
    """Solve ``A x = rhs`` for the tree matrix ``A`` given by ``d``, ``a``, ``b``.

    Units are the caller's: ``x`` has the units of ``rhs`` divided by those of ``d`` (in a simulation
    step, ``rhs`` in mA/cm^2 and ``d`` in mS/cm^2 give ``x`` in mV).

    Args:
        structure: the static tree.
        d: diagonal, shape ``(n,)`` or ``(n, batch...)``.
        a: for each node, its coefficient in its parent's row, shape ``(n,)`` or like ``d``.
        b: for each node, its parent's coefficient in its row, shape ``(n,)`` or like ``d``.
        rhs: right-hand side, same shape as ``d``.
        method: ``"auto"`` (the lane solve for one system where :attr:`TreeStructure.lanes` has a plan,
            else the sequential loop), ``"lanes"`` or ``"sequential"`` (for tests and benchmarks).

    Returns:
        ``x``, same shape as ``rhs``. Under ``jax.vmap`` (any of the four arrays batched) the batch stays
        the leading axis and the column solve runs, see the module docstring.
    """
    if method not in ("auto", "lanes", "sequential"):
        raise ValueError(f"method must be 'auto', 'lanes' or 'sequential', got {method!r}")
    return _tree_solve(structure, method, d, a, b, rhs)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _tree_solve(structure, method, d, a, b, rhs):
    return _solve(structure, method, d, a, b, rhs)


def _unbroadcast(g, shape):
    """Sum ``g`` over the axes that ``shape`` broadcast (missing trailing axes or size-1 axes)."""
    g = g.sum(axis=tuple(range(len(shape), g.ndim))) if g.ndim > len(shape) else g
    axes = tuple(k for k, s in enumerate(shape) if s == 1 and g.shape[k] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _fwd(structure, method, d, a, b, rhs):
    x = _solve(structure, method, d, a, b, rhs)
    return x, (d, a, b, x)


def _bwd(structure, method, residual, x_bar):
    d, a, b, x = residual
    # A^T lambda = x_bar: the transposed tree matrix is the same tree with a and b exchanged.
    lam = _solve(structure, method, d, b, a, x_bar)
    d_bar, a_bar, b_bar = _matrix_bars(structure, lam, x)
    return _unbroadcast(d_bar, d.shape), _unbroadcast(a_bar, a.shape), _unbroadcast(b_bar, b.shape), lam


def _matrix_bars(structure: TreeStructure, lam, x):
    """Cotangents of ``d``, ``a``, ``b`` from the matrix of ``A x = rhs``, given ``lam = A^-T x_bar``.

    Arrays with the node axis first, not yet summed over batch axes that ``d``, ``a``, ``b`` lack.
    """
    has_parent = _trailing(jnp.asarray(structure.parent >= 0), x.ndim)
    a_bar = jnp.where(has_parent, -structure.parent_values(lam) * x, 0.0)
    b_bar = jnp.where(has_parent, -lam * structure.parent_values(x), 0.0)
    return -lam * x, a_bar, b_bar


def _axial_bars(structure: TreeStructure, lam, v):
    """Cotangents of ``a`` and ``b`` from :func:`cable_solve`'s axial currents at ``v`` (node axis first).

    Node ``i`` with parent ``p`` gets ``-b[i] w`` and ``p`` gets ``a[i] w``, with ``w = v[p] - v[i]``.
    """
    has_parent = _trailing(jnp.asarray(structure.parent >= 0), v.ndim)
    w = jnp.where(has_parent, structure.parent_values(v) - v, 0.0)
    return structure.parent_values(lam) * w, -lam * w


def _axial_transpose(structure: TreeStructure, a, b, lam):
    """The cotangent of ``v`` from :func:`cable_solve`'s axial currents, given ``lam`` (node axis first)."""
    has_parent = _trailing(jnp.asarray(structure.parent >= 0), lam.ndim)
    g = jnp.where(has_parent, _trailing(a, lam.ndim) * structure.parent_values(lam) - _trailing(b, lam.ndim) * lam,
                  0.0)  # the cotangent of w
    return structure.sum_to_parents(g) - g


_tree_solve.defvjp(_fwd, _bwd)


def cable_solve(structure: TreeStructure, d, a, b, rhs, v):
    """``v + x`` with ``A x = rhs + axial(v)``: one backward-Euler voltage update with its axial currents.

    ``axial(v)`` is what the tree's couplings add to each node's equation at the voltages ``v``: for each
    non-root node ``i`` with parent ``p``, ``-b[i] (v[p] - v[i])`` to node ``i`` and ``a[i] (v[p] - v[i])``
    to node ``p`` (NEURON's ``nrn_rhs``). Adding them inside the elimination loops spares the several
    passes over memory they take as array operations (the sums are in another order than NEURON's, so
    ``x`` agrees with :func:`tree_solve` of the assembled right-hand side to rounding).

    Args and units as :func:`tree_solve`; ``v`` has the shape of ``rhs`` (mV in a simulation step).
    """
    return _cable_solve(structure, d, a, b, rhs, v)


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def _cable_solve(structure, d, a, b, rhs, v):
    return v + _solve(structure, "sequential", d, a, b, rhs, v)


def _cable_fwd(structure, d, a, b, rhs, v):
    x = _solve(structure, "sequential", d, a, b, rhs, v)
    return v + x, (d, a, b, x, v)


def _cable_bwd(structure, residual, x_bar):
    # x_bar is the cotangent of v + x, so also v's direct part; the matrix terms are tree_solve's.
    d, a, b, x, v = residual
    d_bar, a_bar, b_bar, lam = _bwd(structure, "auto", (d, a, b, x), x_bar)
    a_axial, b_axial = _axial_bars(structure, lam, v)
    return (d_bar, a_bar + _unbroadcast(a_axial, a.shape), b_bar + _unbroadcast(b_axial, b.shape), lam,
            x_bar + _axial_transpose(structure, a, b, lam))


_cable_solve.defvjp(_cable_fwd, _cable_bwd)
