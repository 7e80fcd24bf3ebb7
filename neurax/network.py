"""Networks: cells connected by NetCons onto synapses, simulated together with NEURON's event rules.

A :class:`Network` is many cells (different morphologies and mechanisms allowed) joined into one forest of
compartments, so that one vectorised step advances them all, plus *connections* built from arrays::

    net = nx.Network([cell] * 10)                                  # cells named cell[0] ... cell[9]
    pre = np.arange(10); post = (pre + 1) % 10
    net = net.connect(pre, post, nx.ExpSyn(tau=2.0), source="soma[0](0.5)", target="dend[0](0.5)",
                      weight=0.03, delay=1.37, threshold=-10.0)     # one new synapse per connection
    net = net.stimulate(nx.NetStim(start=1.0, number=1), [0], nx.ExpSyn(tau=2.0), target="dend[0](0.5)",
                        weight=0.05, delay=1.0)
    sol = nx.simulate(net, record=["cell[0].soma[0](0.5)"], tstop=200.0)
    sol.spike_times()                                              # {"cell[0].soma[0](0.5)": array([...]), ...}

Connectivity comes from arrays: :func:`all_to_all`, :func:`random_connections` (probability p),
:func:`from_matrix` (a weight matrix) or any edge list of presynaptic and postsynaptic cell indices.

Event rules (NEURON's fixed step, ``../shared/spec/neuron-compat.md`` section 5): at the start of each step
every watched location's voltage ``v(t_n)`` is compared with its threshold; crossing upward (``v > thr``
while the source's flag is clear) emits a spike at ``t_n + 1e-10`` and sets the flag, which clears when
``v <= thr``. A spike reaches each of the source's connections ``delay`` ms later: it is delivered at the
start of the first step whose midpoint ``t_k + dt/2`` is at or after that time, and runs the target's
NET_RECEIVE block with the connection's weight. Artificial sources (:class:`NetStim`, :class:`SpikeTrain`)
emit at their exact times. Pending events are a ring buffer of each source's recent spikes (sources x the
longest delay in steps, :mod:`neurax.events`), so their number costs nothing per step.

Units: ms (times, delays), mV (thresholds), the synapse's weight units (uS for ExpSyn and Exp2Syn).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from neurax.cell import Cell, _Placement
from neurax.errors import LocationError, NeuraxError
from neurax.mechanisms.base import Mechanism
from neurax.morphology import Morphology, Section

__all__ = ["Network", "NetStim", "SpikeTrain", "all_to_all", "random_connections", "from_matrix"]

#: NEURON's NetCon defaults: threshold (mV), delay (ms), weight.
DEFAULT_THRESHOLD = 10.0
DEFAULT_DELAY = 1.0


# -- artificial spike sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetStim:
    """NEURON's NetStim: ``number`` spikes from ``start`` (ms) at mean ``interval`` (ms).

    With ``noise`` 0 the spikes are at ``start``, ``start + interval``, ... exactly as NEURON emits them. With
    ``noise`` in (0, 1] each interval is ``(1 - noise) interval`` plus an exponential part of mean
    ``noise interval`` (NEURON's statistics; the random numbers are neurax's own, from ``seed``).
    """

    start: float = 50.0
    interval: float = 10.0
    number: float = 10.0
    noise: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("start", "interval", "number", "noise"):
            if not np.isfinite(getattr(self, name)):
                raise NeuraxError(f"NetStim {name} = {getattr(self, name)} is not a finite number")
        if not 0.0 <= self.noise <= 1.0:
            raise NeuraxError(f"NetStim noise = {self.noise:g}: it must be between 0 and 1")
        if self.interval <= 0 and self.number > 1:
            raise NeuraxError(f"NetStim interval = {self.interval:g} ms: it must be positive")

    def times(self, tstop: float) -> np.ndarray:
        """The spike times (ms) up to ``tstop``."""
        if self.number <= 0 or self.start < 0:
            return np.zeros(0)
        rng = np.random.default_rng(self.seed)

        def interval() -> float:
            if self.noise == 0.0:
                return self.interval
            return (1.0 - self.noise) * self.interval + self.noise * self.interval * rng.exponential()

        out = []
        t = self.start + interval() - self.interval * (1.0 - self.noise)  # NEURON's first event
        t = max(t, 0.0)
        while len(out) < self.number and t <= tstop:
            out.append(t)
            t = t + interval()
        return np.asarray(out, dtype=float)


@dataclass(frozen=True)
class SpikeTrain:
    """Given spike times (ms), as NEURON's VecStim plays them."""

    times_ms: tuple[float, ...]

    def __init__(self, times_ms) -> None:
        times = np.asarray(times_ms, dtype=float).reshape(-1)
        if not np.all(np.isfinite(times)):
            raise NeuraxError("SpikeTrain times must be finite numbers (ms)")
        if np.any(times < 0):
            raise NeuraxError(f"SpikeTrain time {times[times < 0][0]:g} ms is negative")
        object.__setattr__(self, "times_ms", tuple(np.sort(times).tolist()))

    def times(self, tstop: float) -> np.ndarray:
        """The spike times (ms) up to ``tstop``."""
        t = np.asarray(self.times_ms, dtype=float)
        return t[t <= tstop]


# -- connectivity from arrays -------------------------------------------------------------------------------


def all_to_all(n_pre: int, n_post: int | None = None, *, self_connections: bool = False) -> tuple[np.ndarray, ...]:
    """``(pre, post)`` cell indices of every pair (without ``i -> i`` unless ``self_connections``; with
    ``n_post`` given, pre and post index two different sets and every pair is kept).
    """
    same = n_post is None
    n_post = n_pre if n_post is None else n_post
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    keep = np.ones(pre.shape, bool) if (self_connections or not same) else pre != post
    return pre[keep], post[keep]


def random_connections(n_pre: int, n_post: int | None = None, p: float = 0.1, *, seed: int = 0,
                       self_connections: bool = False) -> tuple[np.ndarray, ...]:
    """``(pre, post)`` of each pair connected independently with probability ``p`` (numpy's generator).

    Built from arrays: 10,000 x 10,000 candidate pairs take about a second.
    """
    if not 0.0 <= p <= 1.0:
        raise NeuraxError(f"connection probability p = {p:g}: it must be between 0 and 1")
    same = n_post is None
    n_post = n_pre if n_post is None else n_post
    rng = np.random.default_rng(seed)
    mask = rng.random((n_pre, n_post)) < p
    if same and not self_connections:
        np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    return pre, post


def from_matrix(weights) -> tuple[np.ndarray, ...]:
    """``(pre, post, weight)`` of the non-zero entries of a ``(n_pre, n_post)`` weight matrix."""
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2:
        raise NeuraxError(f"a connection matrix must be 2-D (n_pre, n_post), got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise NeuraxError("the connection matrix holds NaN or infinite weights")
    pre, post = np.nonzero(w)
    return pre, post, w[pre, post]


# -- the network ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Wiring:
    """The static part of a network's connections (numpy arrays; compared by content through :attr:`key`).

    Attributes:
        names: the cells' names (section name prefixes).
        source_nodes: the watched node of each membrane spike source.
        source_names: its location (``"cell[3].soma[0](0.5)"``).
        stims: the artificial sources (:class:`NetStim`, :class:`SpikeTrain`).
        kind: per connection, 0 for a membrane source, 1 for an artificial one.
        source: per connection, the index of its source (into ``source_nodes`` or ``stims``).
        mechanism: per connection, the target's mechanism name.
        instance: per connection, the target's instance of that mechanism (in placement order).
        delay: per connection (ms).
        graded_pre: per graded synapse, the presynaptic node whose voltage sets its conductance.
        graded_post: per graded synapse, the postsynaptic node it injects current into.
    """

    names: tuple[str, ...]
    source_nodes: np.ndarray
    source_names: tuple[str, ...]
    stims: tuple = ()
    kind: np.ndarray = None
    source: np.ndarray = None
    mechanism: tuple[str, ...] = ()
    instance: np.ndarray = None
    delay: np.ndarray = None
    graded_pre: np.ndarray = None
    graded_post: np.ndarray = None

    @cached_property
    def name_index(self) -> dict[str, int]:
        """Each cell's index by name."""
        return {n: k for k, n in enumerate(self.names)}

    @property
    def key(self) -> str:
        """A digest of everything here (equal wirings share a compiled simulation)."""
        h = hashlib.sha256(repr((self.names, self.source_names, self.stims, self.mechanism)).encode())
        for a in (self.source_nodes, self.kind, self.source, self.instance, self.delay, self.graded_pre,
                  self.graded_post):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()


class Network:
    """Cells joined into one simulation, with spike sources and connections (see the module docstring).

    Args:
        cells: the cells (:class:`~neurax.cell.Cell`); the same cell may be given several times.
        names: their names (default ``cell[0]``, ``cell[1]``, ...); a cell's sections are then named
            ``NAME.SECTION`` (``"cell[3].dend[2]"``), and ``NAME`` is a region of all its sections. An empty
            name keeps the sections' own names (a ported model whose names already say the cell).

    The network is a JAX pytree: its leaves are the cells' parameters, the connections' weights and the
    sources' thresholds, so ``jax.grad`` reaches weights as it reaches conductances.
    """

    def __init__(self, cells: Sequence[Cell], names: Sequence[str] | None = None) -> None:
        cells = list(cells)
        if not cells:
            raise NeuraxError("a network needs at least one cell")
        for k, c in enumerate(cells):
            if not isinstance(c, Cell):
                raise TypeError(f"Network cells must be neurax Cells; item {k} is {type(c).__name__}")
        names = [f"cell[{k}]" for k in range(len(cells))] if names is None else [str(n) for n in names]
        if len(names) != len(cells):
            raise NeuraxError(f"{len(names)} names for {len(cells)} cells")
        if len(set(names)) != len(names):
            raise NeuraxError("cell names must be unique")
        self.cell = _merge(cells, names) if len(cells) > 1 or names[0] else cells[0]
        self.wiring = _Wiring(names=tuple(names), source_nodes=np.zeros(0, np.int64), source_names=(),
                              kind=np.zeros(0, np.int8), source=np.zeros(0, np.int64),
                              instance=np.zeros(0, np.int64), delay=np.zeros(0), graded_pre=np.zeros(0, np.int64),
                              graded_post=np.zeros(0, np.int64))
        self.weight = np.zeros((0, 1))
        self.threshold = np.zeros(0)
        self.graded = np.zeros((0, 4))

    @classmethod
    def _build(cls, cell: Cell, wiring: _Wiring, weight, threshold, graded) -> Network:
        net = cls.__new__(cls)
        net.cell, net.wiring, net.weight, net.threshold, net.graded = cell, wiring, weight, threshold, graded
        return net

    # -- queries ------------------------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """The cells' names."""
        return self.wiring.names

    @property
    def n_connections(self) -> int:
        """Number of connections (NetCons)."""
        return int(self.wiring.delay.size)

    def _full(self, cell: int | str, location: str) -> str:
        name = self.names[cell] if isinstance(cell, (int, np.integer)) else str(cell)
        if name not in self.wiring.name_index:
            raise LocationError(f"no cell named {name!r} in the network (cells: {', '.join(self.names[:5])}"
                                f"{', ...' if len(self.names) > 5 else ''})")
        return f"{name}.{location}" if name else location

    def _nodes(self, cells: np.ndarray, locations: Sequence[str]) -> np.ndarray:
        """The node of each ``location`` (relative to its cell, e.g. ``"dend[3](0.7)"``) in each cell.

        Each distinct location string is read once (with the morphology's own checks and messages); the
        sections of the other cells are then found by name and the nodes computed with numpy, as
        :meth:`~neurax.compartments.CompartmentTree.node_of` does one at a time.
        """
        morph, tree = self.cell.morphology, self.cell.tree
        parsed: dict[str, tuple[str, float]] = {}
        sections = np.empty(cells.size, np.int64)
        xs = np.empty(cells.size)
        names = self.names
        for j, (c, loc) in enumerate(zip(cells.tolist(), locations, strict=True)):
            if loc not in parsed:
                where = morph.location(self._full(c, loc))
                full = morph[where.section].name
                parsed[loc] = (full[len(names[c]) + 1:] if names[c] else full, where.x)
            section, x = parsed[loc]
            full = f"{names[c]}.{section}" if names[c] else section
            try:
                sections[j] = morph.section(full).index
            except LocationError:
                morph.location(self._full(c, loc))  # raises the morphology's own message
                raise
            xs[j] = x
        nseg = tree.nseg[sections]
        k = np.minimum((nseg * xs).astype(np.int64), nseg - 1)
        inner = tree.seg_node[tree.seg_offsets[sections] + k]
        return np.where(xs >= 1.0, tree.end_node[sections], np.where(xs <= 0.0, tree.start_node[sections], inner))

    def _cell_index(self, cells, what: str) -> np.ndarray:
        arr = np.asarray(cells)
        if arr.dtype.kind in "US":
            lookup = self.wiring.name_index
            missing = [str(x) for x in arr.reshape(-1) if str(x) not in lookup]
            if missing:
                raise LocationError(f"{what}: no cell named {missing[0]!r} in the network")
            arr = np.array([lookup[str(x)] for x in arr.reshape(-1)], np.int64)
        if arr.dtype.kind not in "iu" and arr.size:
            raise NeuraxError(f"{what} must be cell indices or names, got {arr.dtype}")
        arr = arr.astype(np.int64).reshape(-1)
        bad = np.flatnonzero((arr < 0) | (arr >= len(self.names)))
        if bad.size:
            raise LocationError(f"{what}: cell {arr[bad[0]]} does not exist (the network has {len(self.names)} "
                                "cells, 0 to {})".format(len(self.names) - 1))
        return arr

    # -- building -------------------------------------------------------------------------------------------
    def watch(self, cells, location: str = "soma[0](0.5)", threshold: float = DEFAULT_THRESHOLD) -> Network:
        """A network that also records the spikes at ``location`` of ``cells`` (a spike source without
        connections, as ``NetCon(sec(x)._ref_v, None)`` in NEURON).
        """
        idx = self._cell_index(np.atleast_1d(cells), "watch")
        net, _ = self._sources(idx, location, np.full(idx.size, float(threshold)))
        return net

    def _sources(self, cells: np.ndarray, location, threshold: np.ndarray) -> tuple[Network, np.ndarray]:
        """The network with membrane sources at ``location`` of each cell (shared with existing sources of the
        same node, whose threshold then must agree), and each one's index.
        """
        locs = [location] * cells.size if isinstance(location, str) else list(location)
        if len(locs) != cells.size:
            raise NeuraxError(f"{len(locs)} source locations for {cells.size} connections")
        nodes = list(self.wiring.source_nodes.tolist())
        names = list(self.wiring.source_names)
        thresholds = list(np.asarray(self.threshold).tolist())
        by_node = {n: k for k, n in enumerate(nodes)}
        cache: dict = {}
        out = np.empty(cells.size, np.int64)
        for j, (c, loc) in enumerate(zip(cells.tolist(), locs, strict=True)):
            key = (c, loc)
            if key not in cache:
                full = self._full(c, loc)
                cache[key] = (self.cell.tree.node_of(full), full)
            node, full = cache[key]
            thr = float(threshold[j])
            if not np.isfinite(thr):
                raise NeuraxError(f"the threshold at {full} is not a finite number")
            if node in by_node:
                k = by_node[node]
                if thresholds[k] != thr:
                    raise NeuraxError(f"{full} is already a spike source with threshold {thresholds[k]:g} mV; one "
                                      f"location has one threshold (as in NEURON), not also {thr:g} mV")
            else:
                k = by_node[node] = len(nodes)
                nodes.append(node)
                names.append(full)
                thresholds.append(thr)
            out[j] = k
        wiring = replace(self.wiring, source_nodes=np.asarray(nodes, np.int64), source_names=tuple(names))
        return Network._build(self.cell, wiring, self.weight, np.asarray(thresholds, float), self.graded), out

    def place(self, mechanism: Mechanism, cells, location: str | Sequence[str] = "soma[0](0.5)") -> Network:
        """A network with a point process at ``location`` of each of ``cells`` (e.g. a synapse that several
        connections then share: ``connect(..., synapse="ExpSyn", target=location)``).
        """
        idx = self._cell_index(np.atleast_1d(cells), "place")
        locs = [location] * idx.size if isinstance(location, str) else list(location)
        if len(locs) != idx.size:
            raise NeuraxError(f"{len(locs)} locations for {idx.size} cells")
        nodes = self._nodes(idx, locs)
        if not isinstance(mechanism, Mechanism) or type(mechanism).kind != "point":
            raise NeuraxError(f"place() takes a point process such as nx.ExpSyn(), got {mechanism!r}")
        cell, _ = self.cell.place_at(mechanism, nodes)
        return Network._build(cell, self.wiring, self.weight, self.threshold, self.graded)

    def connect(self, pre, post, synapse: Mechanism | str, *, source: str | Sequence[str] = "soma[0](0.5)",
                target: str | Sequence[str] = "soma[0](0.5)", weight=0.0, delay=DEFAULT_DELAY,
                threshold=DEFAULT_THRESHOLD, share: bool = False) -> Network:
        """A network with connections from cells ``pre`` to cells ``post`` (equal-length index arrays, names, or
        one of them a single cell).

        Args:
            pre: presynaptic cells, e.g. from :func:`random_connections`.
            post: postsynaptic cells.
            synapse: a point process with a NET_RECEIVE block (``nx.ExpSyn(tau=2)``): a new instance of it is
                placed at ``target`` of the postsynaptic cell for each connection (``share=True``: one per
                postsynaptic cell and target, shared by the connections that reach it). Or the name of a
                point process already placed (:meth:`place`): each connection then targets the first instance
                at ``target``.
            source: where the presynaptic voltage is watched (in each pre cell), one or per connection.
            target: where the synapse is (in each post cell), one or per connection.
            weight: NET_RECEIVE's arguments per connection: a number, ``(n,)``, or ``(n, k)`` for k arguments.
            delay: ms, one or per connection; at least one time step (checked when simulated).
            threshold: mV, one or per connection (one per source location).
            share: one synapse per postsynaptic cell and target location instead of one per connection.
        """
        pre, post = self._pairs(pre, post)
        n = pre.size
        thr = np.broadcast_to(np.asarray(threshold, float), (n,))
        net, src = self._sources(pre, source, thr)
        return net._connect(np.zeros(n, np.int8), src, post, synapse, target, weight, delay, share)

    def stimulate(self, stim, post, synapse: Mechanism | str, *, target: str | Sequence[str] = "soma[0](0.5)",
                  weight=0.0, delay=DEFAULT_DELAY, share: bool = False) -> Network:
        """A network where an artificial source drives cells ``post`` through synapses (see :meth:`connect`).

        Args:
            stim: a :class:`NetStim` or :class:`SpikeTrain`, or one per postsynaptic cell.
            post: the cells driven (indices or names).
            synapse: as for :meth:`connect`.
            target: where the synapse is (in each post cell).
            weight: NET_RECEIVE's arguments, one or per connection.
            delay: ms, one or per connection.
            share: as for :meth:`connect`.
        """
        post = self._cell_index(np.atleast_1d(post), "post")
        stims = [stim] * post.size if isinstance(stim, (NetStim, SpikeTrain)) else list(stim)
        if len(stims) != post.size:
            raise NeuraxError(f"{len(stims)} stimuli for {post.size} postsynaptic cells")
        for s in stims:
            if not isinstance(s, (NetStim, SpikeTrain)):
                raise TypeError(f"stimulate() takes NetStim or SpikeTrain sources, got {type(s).__name__}")
        net, first = self._with_stims(stims)
        src = first + np.arange(post.size)
        return net._connect(np.ones(post.size, np.int8), src, post, synapse, target, weight, delay, share)

    def connect_graded(self, pre, post, *, source: str = "soma[0](0.5)", target: str = "soma[0](0.5)",
                       gmax=0.001, e=0.0, v_half=-35.0, slope=5.0) -> Network:
        """A network with graded synapses from ``pre`` to ``post``: no spikes or delays, a conductance that is a
        smooth function of the presynaptic voltage, so that gradients flow through it exactly.

        The synapse injects ``i = g (v_post - e)`` (nA) at ``target`` with ``g = gmax / (1 + exp(-(v_pre -
        v_half) / slope))`` (uS), ``v_pre`` the voltage at ``source`` of the presynaptic cell. Like a NEURON
        point process whose BREAKPOINT reads the presynaptic voltage through a POINTER, it sees both voltages at
        the start of the step and adds ``g`` to the postsynaptic node's diagonal.

        Args:
            pre: presynaptic cells (indices or names).
            post: postsynaptic cells.
            source: where the presynaptic voltage is read, in each pre cell.
            target: where the current enters, in each post cell.
            gmax: maximal conductance (uS), one or per synapse (trainable: :attr:`graded` column 0).
            e: reversal potential (mV).
            v_half: presynaptic voltage of half activation (mV).
            slope: mV per e-fold of activation; positive.
        """
        pre, post = self._pairs(pre, post)
        n = pre.size
        values = np.stack([np.broadcast_to(np.asarray(x, float), (n,)) for x in (gmax, e, v_half, slope)], axis=1)
        if not np.all(np.isfinite(values)):
            raise NeuraxError("a graded synapse parameter is NaN or infinite")
        if np.any(values[:, 0] < 0):
            raise NeuraxError("graded synapse gmax is negative; a conductance cannot be")
        if np.any(values[:, 3] <= 0):
            raise NeuraxError("graded synapse slope must be positive (mV)")
        pre_nodes = self._nodes(pre, [source] * n)
        post_nodes = self._nodes(post, [target] * n)
        wiring = replace(self.wiring, graded_pre=np.concatenate([self.wiring.graded_pre, pre_nodes]),
                         graded_post=np.concatenate([self.wiring.graded_post, post_nodes]))
        graded = np.concatenate([np.asarray(self.graded, float), values])
        return Network._build(self.cell, wiring, self.weight, self.threshold, graded)

    def with_graded(self, graded) -> Network:
        """The network with other graded synapse parameters (an array like :attr:`graded`; may be traced)."""
        return Network._build(self.cell, self.wiring, self.weight, self.threshold, graded)

    def _with_stims(self, stims: Sequence) -> tuple[Network, int]:
        """The network with more artificial sources (not yet connected), and the index of the first."""
        first = len(self.wiring.stims)
        wiring = replace(self.wiring, stims=self.wiring.stims + tuple(stims))
        return Network._build(self.cell, wiring, self.weight, self.threshold, self.graded), first

    def _pairs(self, pre, post) -> tuple[np.ndarray, np.ndarray]:
        pre = self._cell_index(np.atleast_1d(pre), "pre")
        post = self._cell_index(np.atleast_1d(post), "post")
        if pre.size == 1 and post.size != 1:
            pre = np.repeat(pre, post.size)
        if post.size == 1 and pre.size != 1:
            post = np.repeat(post, pre.size)
        if pre.size != post.size:
            raise NeuraxError(f"pre and post must have the same length ({pre.size} and {post.size})")
        return pre, post

    def _connect(self, kind, src, post, synapse, target, weight, delay, share: bool) -> Network:
        n = post.size
        targets = [target] * n if isinstance(target, str) else list(target)
        if len(targets) != n:
            raise NeuraxError(f"{len(targets)} target locations for {n} connections")
        nodes = self._nodes(post, targets)
        cell = self.cell
        if isinstance(synapse, str):
            cls, instance = _existing(cell, synapse, nodes, [self._full(c, t) for c, t in zip(post, targets,
                                                                                              strict=True)])
        else:
            if not isinstance(synapse, Mechanism):
                raise TypeError(f"synapse must be a point process such as nx.ExpSyn(), got {synapse!r}")
            cls = type(synapse)
            _check_receiver(cls)
            if share:
                unique, back = np.unique(nodes, return_inverse=True)
                cell, first = cell.place_at(synapse, unique)
                instance = first + back
            else:
                cell, first = cell.place_at(synapse, nodes)
                instance = first + np.arange(n)
        net = Network._build(cell, self.wiring, self.weight, self.threshold, self.graded)
        return net._append(kind, src, cls, instance, weight, delay)

    def _append(self, kind, src, cls: type[Mechanism], instance, weight, delay) -> Network:
        """The network with connections to instances of ``cls`` already placed (arrays of one per connection)."""
        n = int(np.asarray(instance).size)
        delay = np.broadcast_to(np.asarray(delay, float), (n,)).copy()
        bad = np.flatnonzero(~np.isfinite(delay) | (delay < 0))
        if bad.size:
            raise NeuraxError(f"connection delay {delay[bad[0]]:g} ms is negative or not a number; delays are "
                              "ms >= one time step")
        w = np.asarray(weight, float)
        n_args = len(cls.receive_args)
        if w.ndim <= 1:
            w = np.broadcast_to(w.reshape(-1) if w.ndim else w, (n,))[:, None]
        if w.shape[0] != n:
            w = np.broadcast_to(w, (n, w.shape[-1]))
        if w.shape[1] > n_args:
            raise NeuraxError(f"{w.shape[1]} weights per connection, but {cls.name}'s NET_RECEIVE takes {n_args} "
                              f"argument(s) ({', '.join(cls.receive_args)})")
        if not np.all(np.isfinite(w)):
            raise NeuraxError("a connection weight is NaN or infinite")
        w = np.concatenate([w, np.zeros((n, n_args - w.shape[1]))], axis=1)
        old_w = np.asarray(self.weight, float)
        width = max(old_w.shape[1], n_args)
        pad = lambda a: np.concatenate([a, np.zeros((a.shape[0], width - a.shape[1]))], axis=1)  # noqa: E731
        wiring = replace(self.wiring, kind=np.concatenate([self.wiring.kind, kind]),
                         source=np.concatenate([self.wiring.source, src]),
                         mechanism=self.wiring.mechanism + (cls.name,) * n,
                         instance=np.concatenate([self.wiring.instance, instance]),
                         delay=np.concatenate([self.wiring.delay, delay]))
        return Network._build(self.cell, wiring, np.concatenate([pad(old_w), pad(w)]), self.threshold,
                              self.graded)

    # -- parameters -------------------------------------------------------------------------------------------
    def with_weights(self, weight) -> Network:
        """The network with other connection weights (an array like :attr:`weight`; may be traced)."""
        return Network._build(self.cell, self.wiring, weight, self.threshold, self.graded)

    def with_cell(self, cell: Cell) -> Network:
        """The network with the merged cell replaced (e.g. ``net.cell.set(...)`` with other parameters)."""
        if cell._structure is not self.cell._structure:
            raise NeuraxError("with_cell() takes the network's own cell with other parameter values")
        return Network._build(cell, self.wiring, self.weight, self.threshold, self.graded)

    def fingerprint(self) -> str:
        """A digest of the network's structure (cells and wiring)."""
        return self.cell.fingerprint() + self.wiring.key

    def __repr__(self) -> str:
        return (f"<Network {len(self.names)} cells, {self.cell.tree.n_segments} segments, {self.n_connections} "
                f"connections, {len(self.wiring.source_names)} spike sources, {len(self.wiring.stims)} stimuli>")


def _register() -> None:
    from neurax._jax import jax

    jax.tree_util.register_pytree_node(
        Network, lambda n: ((n.cell, n.weight, n.threshold, n.graded), n.wiring),
        lambda wiring, leaves: Network._build(leaves[0], wiring, *leaves[1:]))


_register()


# -- helpers ---------------------------------------------------------------------------------------------------


def _check_receiver(cls: type[Mechanism]) -> None:
    """Refuse a synapse that cannot receive events."""
    if cls.kind != "point":
        raise NeuraxError(f"{cls.name} is not a point process: connections target synapses (POINT_PROCESS with "
                          "a NET_RECEIVE block), such as nx.ExpSyn()")
    if not cls.receive_args:
        raise NeuraxError(f"{cls.name} has no NET_RECEIVE block, so connections cannot target it")
    model = getattr(cls, "model", None)
    if model is not None:
        from neurax.nmodl.errors import NmodlError
        from neurax.nmodl.mechanism import receive_problem

        problem = receive_problem(model)
        if problem is not None:
            raise NmodlError(f"{cls.name}: NET_RECEIVE: {problem[0]}", model.path, problem[1])


def _existing(cell: Cell, name: str, nodes: np.ndarray, where: list[str]):
    """The class of the placed point process ``name`` and, per connection, its instance at the node."""
    placement = next((p for p in cell._structure.placements if p.mechanism.name == name), None)
    if placement is None or not placement.point:
        raise NeuraxError(f"no point process named {name!r} is placed in the network")
    _check_receiver(placement.mechanism)
    first: dict[int, int] = {}
    for k, node in enumerate(placement.nodes.tolist()):
        first.setdefault(node, k)
    out = np.empty(nodes.size, np.int64)
    for j, node in enumerate(nodes.tolist()):
        if node not in first:
            raise LocationError(f"no {name} is placed at {where[j]}")
        out[j] = first[node]
    return placement.mechanism, out


def _merge(cells: list[Cell], names: list[str]) -> Cell:
    """One cell holding every cell's sections (a forest), named ``NAME.SECTION``, with their parameters."""
    sections: list[Section] = []
    lists: dict[str, list[str]] = {}
    nseg: dict[str, int] = {}
    ra: dict[str, float] = {}
    for name, cell in zip(names, cells, strict=True):
        morph = cell.morphology
        off = len(sections)
        prefix = f"{name}." if name else ""
        ra_values = np.asarray(cell.params["Ra"], float)
        for sec in morph:
            full = prefix + sec.name
            sections.append(Section(index=len(sections), name=full, type=sec.type,
                                    parent=None if sec.parent is None else sec.parent + off, parent_x=sec.parent_x,
                                    points=sec.points, line=sec.line, wire=sec.wire, length=sec.length))
            nseg[full] = int(cell.tree.nseg[sec.index])
            ra[full] = float(ra_values[sec.index])
        for list_name, members in morph.sectionlists.items():
            lists.setdefault(list_name, []).extend(prefix + m for m in members)
    if len({s.name for s in sections}) != len(sections):
        raise NeuraxError("two cells give sections the same name; give the cells distinct names")
    morph = Morphology(sections, sectionlists={k: tuple(v) for k, v in lists.items() if k != "all"})
    merged = Cell(morph, 1, Ra=ra, nseg_overrides=nseg)
    tree = merged.tree
    maps, sec_off, seg_off = [], 0, 0
    for cell in cells:
        t = cell.tree
        nsec = len(cell.morphology)
        m = np.empty(t.n_nodes, np.int64)
        m[t.seg_node] = tree.seg_node[seg_off + np.arange(t.n_segments)]
        m[t.end_node] = tree.end_node[sec_off + np.arange(nsec)]
        roots = np.array([s.index for s in cell.morphology if s.parent is None], np.int64)
        m[t.start_node[roots]] = tree.start_node[sec_off + roots]
        maps.append(m)
        sec_off += nsec
        seg_off += t.n_segments
    params: dict = {"cm": np.zeros(tree.n_nodes), "Ra": np.concatenate([np.asarray(c.params["Ra"], float)
                                                                         for c in cells]),
                    "radius_scale": np.concatenate([np.asarray(c.params["radius_scale"], float) for c in cells])}
    for cell, m in zip(cells, maps, strict=True):
        params["cm"][m] = np.asarray(cell.params["cm"], float)
    placements: list[_Placement] = []
    classes: dict[str, type] = {}
    for cell in cells:
        for p in cell._structure.placements:
            if classes.setdefault(p.mechanism.name, p.mechanism) is not p.mechanism:
                raise NeuraxError(f"two different mechanisms are named {p.mechanism.name}; mechanism names must be "
                                  "unique in a network")
    for name, cls in classes.items():
        node_parts, value_parts = [], {}
        for cell, m in zip(cells, maps, strict=True):
            p = next((q for q in cell._structure.placements if q.mechanism is cls), None)
            if p is None:
                continue
            node_parts.append(m[p.nodes])
            for key, value in cell.params[name].items():
                value = np.asarray(value, float)
                if key in cls.global_params or key in getattr(cls, "fixed", {}) or value.ndim == 0:
                    value_parts.setdefault(key, value)
                    if not np.array_equal(value_parts[key], value):
                        raise NeuraxError(f"the cells give {cls.name}'s GLOBAL {key} different values "
                                          f"({float(value_parts[key]):g} and {float(value):g}); a GLOBAL has one "
                                          "value in a network, as in NEURON")
                else:
                    value_parts.setdefault(key, []).append(value)
        nodes = np.concatenate(node_parts)
        order = np.arange(nodes.size) if cls.kind != "density" else np.argsort(nodes, kind="stable")
        params[name] = {k: (v if isinstance(v, np.ndarray) else np.concatenate(v)[order])
                        for k, v in value_parts.items()}
        placements.append(_Placement(mechanism=cls, nodes=nodes[order]))
    ions: dict[str, np.ndarray] = {}
    for ion in dict.fromkeys(i for c in cells for i in c._structure.ions):
        key = f"{ion}_ion"
        node_parts, value_parts = [], {}
        for cell, m in zip(cells, maps, strict=True):
            if ion not in cell._structure.ions:
                continue
            node_parts.append(m[cell._structure.ions[ion]])
            for var, value in cell.params[key].items():
                value = np.asarray(value, float)
                if value.ndim == 0:
                    value_parts.setdefault(var, value)
                    if not np.array_equal(value_parts[var], value):
                        raise NeuraxError(f"the cells give {var}_{ion}_ion different values; it has one value in a "
                                          "network, as in NEURON")
                else:
                    value_parts.setdefault(var, []).append(value)
        nodes = np.concatenate(node_parts)
        order = np.argsort(nodes, kind="stable")
        ions[ion] = nodes[order]
        params[key] = {k: (v if isinstance(v, np.ndarray) else np.concatenate(v)[order])
                       for k, v in value_parts.items()}
    groups = {}
    sec_off = 0
    for name, cell in zip(names, cells, strict=True):
        nsec = len(cell.morphology)
        if name:
            groups[name] = tuple(range(sec_off, sec_off + nsec))
        for g, members in cell._structure.groups.items():
            groups[f"{name}.{g}" if name else g] = tuple(sec_off + k for k in members)
        sec_off += nsec
    structure = replace(merged._structure, placements=tuple(placements), ions=ions, groups=groups)
    return Cell._build(structure, params)
