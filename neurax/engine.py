"""The mechanisms and ions of a cell in one time step, in NEURON's order (``fadvance``, ``finitialize``).

:class:`Engine` is set up once per cell structure (numpy): each inserted mechanism becomes a *block* (its
nodes; for each ion it uses, where those nodes sit in the ion's node list), each ion an :class:`IonLayout`
(its nodes and NEURON's ion style at each). It then provides the traced pieces of a step:

* :meth:`Engine.init` - ``finitialize``: ion concentrations reset where some mechanism writes them (cinit)
  and reversal potentials computed by Nernst where concentrations matter (einit); INITIAL blocks, first
  the mechanisms that write a concentration (in reverse order of registration, Nernst again after each),
  then the others in type order; then the currents at ``v_init`` for what later passes read;
* :meth:`Engine.currents` - the current pass (``nrn_cur``): reversal potentials recomputed from the
  concentrations where they are states (eadvance), ion currents zeroed, then every mechanism in
  execution order adds ``-i`` to the right-hand side and NEURON's ``g`` to the diagonal (point processes
  scaled by ``100 / area``), and its ion currents to the ion's;
* :meth:`Engine.advance` - the state pass (``nrn_state``) with the new voltage: mechanisms in the same
  order (concentration writers first, so the others see the new concentrations); then the values the next
  passes read before computing them (ion currents read by a calcium pool, a mechanism's carried values)
  are computed at the new voltage and states (see :mod:`neurax.mechanisms.base`).

NEURON's execution order (``memb_order``): capacitance and pas, the ions, the mechanisms that write a
concentration in reverse order of registration, then the rest by type number.

States are a pytree ``{"mech": (dict per block), "ion": {ion: {"ci", "co", "cur"}}}`` of per-instance
arrays; :attr:`Engine.state_nodes` gives the node of every element (the adjoint needs it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurax._jax import jax, jnp
from neurax.errors import NeuraxError
from neurax.mechanisms.base import Mechanism, total_current
from neurax.mechanisms.ions import CHARGE, DEFAULTS, OTHER_DEFAULT, ion_variables, nernst, style_of

__all__ = ["Engine", "IonLayout", "Block", "memb_order"]

#: Mechanism types up to this one come before the ions in NEURON's execution order (capacitance, pas,
#: extracellular).
LAST_EARLY_TYPE = 5
#: NEURON's type number of IClamp: current clamps add their current at this place in the order.
ICLAMP_TYPE = 7


def memb_order(mechanism: type[Mechanism]) -> tuple:
    """Sort key of NEURON's execution order (see the module docstring)."""
    return _order_key(mechanism.order, mechanism.writes_concentration())


def _order_key(order: float, writes_concentration: bool) -> tuple:
    if order <= LAST_EARLY_TYPE:
        return (0, order)
    if writes_concentration:
        return (1, -order)
    return (2, order)


@dataclass(frozen=True, eq=False)
class Block:
    """One mechanism's instances.

    A *dense* block (one covering most nodes) is evaluated on every node of the tree, with its parameters
    at their defaults where it is not inserted and its results masked there: on a CPU that is cheaper than
    gathering its nodes' values and scattering its currents back every step. Other blocks work on their
    own nodes.

    Attributes:
        mechanism: the mechanism class.
        key: its key in the cell's parameters (the mechanism name).
        nodes: the node of each instance (unique, but for point processes that share a node: see ``instances``).
        dense: evaluated on every node (see above).
        n: number of nodes of the tree.
        instances: for a point process, which of the mechanism's instances the block holds. Instances that share
            a node add their currents there (a network's synapses: one block whatever their number); those of a
            point process that uses ions go to separate blocks, *layers*, one instance per node each, since ion
            values are written per node.
    """

    mechanism: type[Mechanism]
    key: str
    nodes: np.ndarray
    dense: bool
    n: int
    instances: np.ndarray | None = None

    @property
    def index(self):
        """What selects the block's instances from a per-node array: all of it (dense) or its nodes."""
        return slice(None) if self.dense else self.nodes

    @property
    def mask(self) -> np.ndarray:
        """Per node, whether the block is inserted there."""
        mask = np.zeros(self.n, bool)
        mask[self.nodes] = True
        return mask

    def take(self, x):
        """The block's instances of a per-node array."""
        return x if self.dense else x[self.nodes]

    @property
    def unique(self) -> bool:
        """Whether no two instances share a node (every block but point processes gathered on shared nodes)."""
        return bool(np.unique(self.nodes).size == self.nodes.size)

    def add(self, target, x):
        """``target`` (per node) plus the block's per-instance values ``x``."""
        if self.dense:
            return target + jnp.where(jnp.asarray(self.mask), x, 0.0)
        # declared unique where it is: the pyramidal model's forward pass, 400 ms, 3.85-3.99 s against 4.00-4.35 s
        return target.at[self.nodes].add(x, unique_indices=self.unique)

    def put(self, target, x):
        """``target`` (per node) with the block's instances replaced by ``x``."""
        if self.dense:
            return jnp.where(jnp.asarray(self.mask), x, target)
        # With the nodes declared unique, the derivative of the write is the same write of the tangents. Without,
        # JAX differentiates a scatter through scatter-adds of instance ids: extra scatter and gather kernels in
        # every derivative that reads the concentration (pyramidal model, a calcium pool read by SK, 200 ms:
        # value_and_grad 7.24-7.45 s against 7.61-8.08 s).
        return target.at[self.nodes].set(x, unique_indices=self.unique)

    @property
    def point(self) -> bool:
        """Whether the block is a point process (currents in nA, scaled by 100 / area)."""
        return self.mechanism.kind == "point"


@dataclass(frozen=True, eq=False)
class IonLayout:
    """An ion in a cell: its nodes and NEURON's style at each (see :mod:`neurax.mechanisms.ions`).

    The ion's values are kept per node of the tree (NEURON's defaults where the ion does not exist).

    Attributes:
        name: ``"na"``, ``"k"``, ``"ca"``, ...
        charge: valence.
        nodes: nodes where the ion exists (sorted).
        cinit: per node, concentrations are states reset to the globals at finitialize.
        einit: per node, erev computed by Nernst at finitialize.
        eadvance: per node, erev computed by Nernst before every step.
        current_state: the ion's total current is read by a state pass (carried between steps).
        current_partial: the ion's current is read in the current pass (partial sums in execution order).
    """

    name: str
    charge: float
    nodes: np.ndarray
    cinit: np.ndarray
    einit: np.ndarray
    eadvance: np.ndarray
    current_state: bool
    current_partial: bool

    @property
    def variables(self) -> dict[str, str]:
        """The ion's variable names (``e``, ``i``, ``o``, ``cur``)."""
        return ion_variables(self.name)

    @property
    def has_states(self) -> bool:
        """Whether any node's concentrations are states."""
        return bool(self.cinit.any())


class Engine:
    """The static layout of a cell's mechanisms and ions (see the module docstring).

    Args:
        placements: ``(mechanism class, nodes)`` of every inserted mechanism.
        n_nodes: number of nodes of the solver's tree.
        n_membrane: how many of them have membrane (segment nodes: the others are the zero-area ends of
            sections and padding); default all.
    """

    #: A block covering at least this fraction of the membrane nodes is dense (see :class:`Block`). Measured on
    #: the CA1 bench cell at nseg 3 (468 segment nodes of 625, hh everywhere, 100 ms): dense 0.045 s, sparse 0.054 s.
    DENSE_FRACTION = 0.9

    def __init__(self, placements, n_nodes: int, n_membrane: int | None = None) -> None:
        placements = sorted(placements, key=lambda p: memb_order(p[0]))
        self.n = n_nodes
        ion_nodes: dict[str, list] = {}
        charge: dict[str, float] = {}
        for mech, nodes in placements:
            for use in mech.ions:
                ion_nodes.setdefault(use.ion, []).append(np.asarray(nodes))
                z = CHARGE.get(use.ion, use.valence)
                if use.valence is not None and use.ion in charge and charge[use.ion] != use.valence:
                    raise NeuraxError(f"ion {use.ion} has valence {charge[use.ion]:g} in one mechanism and "
                                      f"{use.valence:g} in {mech.name}")
                charge.setdefault(use.ion, z)
        self.ions: dict[str, IonLayout] = {}
        for ion, lists in ion_nodes.items():
            nodes = np.unique(np.concatenate(lists))
            # NEURON's style at each node, from what every mechanism there reads and writes
            uses_at: list[list] = [[] for _ in nodes]
            for mech, mnodes in placements:
                for use in mech.ions:
                    if use.ion == ion:
                        for k in np.searchsorted(nodes, mnodes):
                            uses_at[k].append((use.read, use.write))
            styles = [style_of(u, ion) for u in uses_at]

            def per_node(flags, nodes=nodes):
                out = np.zeros(n_nodes, bool)
                out[nodes] = flags
                return out

            if any(s.erev == 3 for s in styles):
                raise NeuraxError(f"a mechanism writes e{ion}: mechanisms that set an ion's reversal potential "
                                  "are not supported")
            names = ion_variables(ion)
            reads_state = any(names["cur"] in mech.state_current_reads for mech, _ in placements)
            reads_current = any(names["cur"] in mech.current_reads for mech, _ in placements)
            self.ions[ion] = IonLayout(
                name=ion, charge=float(charge[ion]), nodes=nodes,
                cinit=per_node([s.cinit for s in styles]), einit=per_node([s.einit for s in styles]),
                eadvance=per_node([s.eadvance for s in styles]), current_state=reads_state,
                current_partial=reads_current)
        blocks = []
        for mech, nodes in placements:
            nodes = np.asarray(nodes)
            if mech.kind == "density":
                blocks.append(Block(mechanism=mech, key=mech.name, nodes=nodes, n=n_nodes,
                                    dense=len(nodes) >= self.DENSE_FRACTION * (n_membrane or n_nodes)))
                continue
            layer = np.zeros(nodes.size, np.int64)  # how many earlier instances share each instance's node
            if mech.ions:  # ion values are written per node: one instance per node and block
                seen: dict[int, int] = {}
                for k, node in enumerate(nodes.tolist()):
                    layer[k] = seen.get(node, 0)
                    seen[node] = layer[k] + 1
            for j in range(int(layer.max()) + 1 if nodes.size else 0):
                members = np.flatnonzero(layer == j)
                blocks.append(Block(mechanism=mech, key=mech.name, nodes=nodes[members], n=n_nodes, dense=False,
                                    instances=members))
        self.blocks = tuple(blocks)

    # -- layout of the states ---------------------------------------------------------------------------
    @property
    def state_nodes(self) -> dict:
        """The node of every state element, in the states' pytree structure."""
        mech = tuple({name: None if b.dense else b.nodes for name in b.mechanism.states} for b in self.blocks)
        ion = {}
        for name, layout in self.ions.items():
            entry = {}
            if layout.has_states:
                entry["ci"] = entry["co"] = None
            if layout.current_state:
                entry["cur"] = None
            ion[name] = entry
        return {"mech": mech, "ion": ion}

    # -- arguments --------------------------------------------------------------------------------------
    def arguments(self, params: dict, area, diam, dtype) -> dict:
        """The traced inputs of the passes: each block's parameters (and geometry it reads), each ion's.

        ``area`` (um^2, 0 at zero-area nodes) and ``diam`` (um) are per node.
        """
        blocks = []
        area_eq = jnp.where(area > 0, area, 100.0)
        for b in self.blocks:
            p = {}
            defaults = {**b.mechanism().parameters(), **b.mechanism.global_params}
            for k, x in params[b.key].items():
                x = jnp.asarray(x, dtype)
                if b.dense and x.ndim:  # a range parameter: its default where the block is not inserted
                    x = jnp.full(self.n, defaults[k], dtype).at[b.nodes].set(x)
                elif b.instances is not None and x.ndim:
                    x = x[b.instances]
                p[k] = x
            if b.point:
                p["__scale__"] = 100.0 / area_eq[b.nodes]
            if "area" in b.mechanism.uses:
                p["area"] = b.take(area)
            if "diam" in b.mechanism.uses:
                p["diam"] = b.take(diam)
            blocks.append(p)
        ions = {}
        for name, layout in self.ions.items():
            names = layout.variables
            p = params[f"{name}_ion"]
            e0, ci_0, co_0 = DEFAULTS.get(name, OTHER_DEFAULT)
            e, ci, co = (jnp.full(self.n, default, dtype).at[layout.nodes].set(jnp.asarray(p[names[k]], dtype))
                         for k, default in (("e", e0), ("i", ci_0), ("o", co_0)))
            ci0, co0 = jnp.asarray(p[f"{name}i0"], dtype), jnp.asarray(p[f"{name}o0"], dtype)
            ions[name] = {"e": e, "ci": ci, "co": co, "ci0": ci0, "co0": co0}
        return {"blocks": tuple(blocks), "ions": ions}

    # -- ion values ---------------------------------------------------------------------------------------
    def _concentrations(self, args: dict, states: dict) -> dict:
        """Each ion's concentrations now: the states where they are states, else the parameters."""
        out = {}
        for name, layout in self.ions.items():
            p = args["ions"][name]
            if layout.has_states:
                s = states["ion"][name]
                cinit = jnp.asarray(layout.cinit)
                out[name] = (jnp.where(cinit, s["ci"], p["ci"]), jnp.where(cinit, s["co"], p["co"]))
            else:
                out[name] = (p["ci"], p["co"])
        return out

    def _reversal(self, args: dict, conc: dict, celsius, fixed: dict | None = None) -> dict:
        """Each ion's reversal potential: Nernst where eadvance, else the value fixed at finitialize."""
        out = {}
        for name, layout in self.ions.items():
            e_fixed = fixed[name] if fixed is not None else self._fixed_reversal(args, name, celsius)
            if layout.eadvance.any():
                ci, co = conc[name]
                out[name] = jnp.where(jnp.asarray(layout.eadvance), nernst(ci, co, layout.charge, celsius, jnp),
                                      e_fixed)
            else:
                out[name] = e_fixed
        return out

    def _fixed_reversal(self, args: dict, name: str, celsius):
        """Erev outside eadvance nodes: Nernst of the parameter concentrations where einit, else the parameter."""
        layout = self.ions[name]
        p = args["ions"][name]
        only_init = layout.einit & ~layout.eadvance
        if not only_init.any():
            return p["e"]
        return jnp.where(jnp.asarray(only_init), nernst(p["ci"], p["co"], layout.charge, celsius, jnp), p["e"])

    def _inputs(self, b: Block, k: int, args: dict, e: dict, conc: dict, cur: dict) -> dict:
        """A block's parameters with the ion variables it reads, at its instances."""
        p = dict(args["blocks"][k])
        if getattr(b.mechanism, "first_instance", False):  # which of the block's elements NEURON takes first
            first = np.zeros(self.n if b.dense else b.nodes.size, bool)
            first[b.nodes[0] if b.dense else 0] = True
            p["__first__"] = first
        for use in b.mechanism.ions:
            names = ion_variables(use.ion)
            for var in use.variables:
                if var == names["e"]:
                    p[var] = b.take(e[use.ion])
                elif var == names["i"]:
                    p[var] = b.take(conc[use.ion][0])
                elif var == names["o"]:
                    p[var] = b.take(conc[use.ion][1])
                elif var == names["cur"] and var in use.read:
                    p[var] = b.take(cur[use.ion]) if use.ion in cur else b.take(jnp.zeros_like(e[use.ion]))
        return p

    def _write_concentrations(self, b: Block, out: dict, conc: dict) -> dict:
        for use in b.mechanism.ions:
            names = ion_variables(use.ion)
            ci, co = conc[use.ion]
            if names["i"] in use.write:
                ci = b.put(ci, out[names["i"]])
            if names["o"] in use.write:
                co = b.put(co, out[names["o"]])
            conc = {**conc, use.ion: (ci, co)}
        return conc

    # -- passes ---------------------------------------------------------------------------------------------
    def init(self, args: dict, v, ctx: dict) -> dict:
        """``finitialize``: the states at ``v`` (per node), with the ions initialised by NEURON's rules."""
        celsius = ctx["celsius"]
        conc = {}
        for name, layout in self.ions.items():
            p = args["ions"][name]
            cinit = jnp.asarray(layout.cinit)
            conc[name] = (jnp.where(cinit, p["ci0"], p["ci"]), jnp.where(cinit, p["co0"], p["co"]))
        e = {}
        for name, layout in self.ions.items():
            ci, co = conc[name]
            e[name] = jnp.where(jnp.asarray(layout.einit), nernst(ci, co, layout.charge, celsius, jnp),
                                args["ions"][name]["e"])
        zero_cur = {name: jnp.zeros_like(v) for name in self.ions}
        mech_states: list = [None] * len(self.blocks)
        for k, b in enumerate(self.blocks):
            p = self._inputs(b, k, args, e, conc, zero_cur)
            out = b.mechanism().init(b.take(v), p, ctx)
            mech_states[k] = {name: out[name] for name in b.mechanism.states}
            conc = self._write_concentrations(b, out, conc)
            if b.mechanism.writes_concentration():  # nrn_wrote_conc: Nernst again where einit
                for use in b.mechanism.ions:
                    layout = self.ions[use.ion]
                    ci, co = conc[use.ion]
                    e[use.ion] = jnp.where(jnp.asarray(layout.einit),
                                           nernst(ci, co, layout.charge, celsius, jnp), e[use.ion])
        states = {"mech": tuple(mech_states), "ion": self._ion_states(conc, zero_cur)}
        return self.refresh(args, v, states, ctx)

    def _ion_states(self, conc: dict, cur: dict) -> dict:
        out = {}
        for name, layout in self.ions.items():
            entry = {}
            if layout.has_states:
                entry["ci"], entry["co"] = conc[name]
            if layout.current_state:
                entry["cur"] = cur[name]
            out[name] = entry
        return out

    def currents(self, args: dict, v, states: dict, ctx: dict, inject=None):
        """The current pass: ``(d, rhs)`` contributions of every mechanism, per node.

        ``inject(rhs)`` (if given) adds the current clamps' currents, at IClamp's place in NEURON's order (the
        sums then round as NEURON's do).
        """
        n = v.shape[-1]
        conc = self._concentrations(args, states)
        e = self._reversal(args, conc, ctx["celsius"])
        partial = {name: jnp.zeros_like(v) for name, layout in self.ions.items() if layout.current_partial}
        rhs = jnp.zeros(n, v.dtype)
        d = jnp.zeros(n, v.dtype)
        clamp_key = _order_key(ICLAMP_TYPE, False)
        for k, b in enumerate(self.blocks):
            if inject is not None and memb_order(b.mechanism) > clamp_key:
                rhs, inject = inject(rhs), None
            if not b.mechanism.has_current:
                continue
            mech = b.mechanism()
            p = self._inputs(b, k, args, e, conc, partial)
            with jax.named_scope(f"{b.mechanism.name}_current"):  # names the kernels in profiles
                currents, g = mech.current_and_conductance(b.take(v), states["mech"][k], p, ctx)
            i = total_current(currents)
            if b.point:
                i, g = i * p["__scale__"], g * p["__scale__"]
            rhs = b.add(rhs, -i)
            d = b.add(d, g)
            if partial and isinstance(currents, dict):
                for use in b.mechanism.ions:
                    cur = ion_variables(use.ion)["cur"]
                    if use.ion in partial and cur in currents:
                        value = currents[cur] * p["__scale__"] if b.point else currents[cur]
                        partial[use.ion] = b.add(partial[use.ion], value)
        if inject is not None:
            rhs = inject(rhs)
        return d, rhs

    def advance(self, args: dict, v, states: dict, ctx: dict) -> dict:
        """The state pass at the new ``v``, then the carried values at the new states."""
        return self.refresh(args, v, self.update(args, v, states, ctx), ctx)

    @property
    def refreshes(self) -> bool:
        """Whether :meth:`refresh` changes anything (ion currents read by state passes, carried values)."""
        return any(layout.current_state for layout in self.ions.values()) or any(
            b.mechanism.carried for b in self.blocks)

    def update(self, args: dict, v, states: dict, ctx: dict) -> dict:
        """The state pass at the new ``v`` alone (:meth:`advance` less its refresh)."""
        conc = self._concentrations(args, states)
        e = self._reversal(args, conc, ctx["celsius"])
        cur = {name: states["ion"][name]["cur"] for name, layout in self.ions.items() if layout.current_state}
        mech_states: list = [None] * len(self.blocks)
        for k, b in enumerate(self.blocks):
            p = self._inputs(b, k, args, e, conc, cur)
            with jax.named_scope(f"{b.mechanism.name}_advance"):
                out = b.mechanism().advance(b.take(v), states["mech"][k], p, ctx)
            mech_states[k] = {name: out[name] for name in b.mechanism.states}
            conc = self._write_concentrations(b, out, conc)
        return {"mech": tuple(mech_states), "ion": self._ion_states(conc, cur)}

    def refresh(self, args: dict, v, states: dict, ctx: dict) -> dict:
        """The values later passes read before computing them: ion currents read by state passes and the
        mechanisms' carried values, from the current pass at ``v`` and ``states``.
        """
        if not self.refreshes:
            return states
        need_current = {name for name, layout in self.ions.items() if layout.current_state}
        conc = self._concentrations(args, states)
        e = self._reversal(args, conc, ctx["celsius"])
        total = {name: jnp.zeros_like(v) for name in need_current}
        mech_states = list(states["mech"])
        for k, b in enumerate(self.blocks):
            mech = b.mechanism
            writes = [u for u in mech.ions if u.ion in need_current and ion_variables(u.ion)["cur"] in u.write]
            if not writes and not mech.carried:
                continue
            p = self._inputs(b, k, args, e, conc, total)
            vb = b.take(v)
            if writes:
                with jax.named_scope(f"{mech.name}_refresh"):
                    currents = mech().current(vb, states["mech"][k], p, ctx)
                for use in writes:
                    value = currents[ion_variables(use.ion)["cur"]]
                    if b.point:
                        value = value * p["__scale__"]
                    total[use.ion] = b.add(total[use.ion], value)
            if mech.carried:
                mech_states[k] = {**mech_states[k], **mech().refresh(vb, states["mech"][k], p, ctx)}
        ion = {name: dict(entry) for name, entry in states["ion"].items()}
        for name in need_current:
            ion[name]["cur"] = total[name]
        return {"mech": tuple(mech_states), "ion": ion}
