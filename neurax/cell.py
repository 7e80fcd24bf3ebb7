"""A cell: a discretised morphology with mechanisms placed on regions.

:class:`Cell` is immutable and a JAX pytree: its leaves are the numeric parameters (per node), its static
part the structure (morphology, compartment tree, where each mechanism is inserted). So one object works
unchanged under ``jax.jit``, ``jax.vmap`` and ``jax.grad``::

    cell = nx.Cell(morph, nseg=nx.DLambda(0.1), Ra=100.0).insert(nx.HH()).insert(nx.Pas(), on="apical")

Regions (the ``on=`` argument) are section list names (``"all"``, ``"somatic"``, ``"apical"``, ...),
section names (``"dend[3]"``), or lists of those. A later insertion of the same mechanism overrides the
parameter values of an earlier one where they overlap, as setting a range variable in NEURON does.

Units (NEURON's): mV, ms, um, uF/cm^2 (cm), ohm cm (Ra), S/cm^2 (conductance densities).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from neurax.compartments import CompartmentTree, NsegPolicy, discretize
from neurax.errors import LocationError
from neurax.mechanisms.base import Mechanism
from neurax.morphology import Morphology

__all__ = ["Cell"]


@dataclass(frozen=True, eq=False)
class _Placement:
    """Where one mechanism is inserted: its prototype and the (segment) nodes it covers."""

    mechanism: type[Mechanism]
    nodes: np.ndarray


@dataclass(frozen=True, eq=False)
class _Structure:
    """The static part of a cell (compared by identity, so jit retraces only for a new structure)."""

    tree: CompartmentTree
    placements: tuple[_Placement, ...] = field(default=())

    def __hash__(self) -> int:
        return id(self)


class Cell:
    """A neuron ready to simulate.

    Args:
        morphology: the morphology (from :func:`neurax.load`).
        nseg: nseg policy: an int, :class:`~neurax.compartments.DLambda` or
            :class:`~neurax.compartments.MaxLength` (NEURON's default is 1).
        Ra: axial resistivity (ohm cm), one value or per section / section list (default 35.4).
        cm: membrane capacitance (uF/cm^2), one value or per section / section list (default 1).
        nseg_overrides: nseg policies for particular sections or section lists.
    """

    def __init__(self, morphology: Morphology, nseg: NsegPolicy = 1, *, Ra: float | Mapping = 35.4,
                 cm: float | Mapping = 1.0, nseg_overrides: Mapping | None = None) -> None:
        tree = discretize(morphology, nseg, Ra=Ra, cm=cm, overrides=nseg_overrides)
        node_cm = np.zeros(tree.n_nodes)
        node_cm[tree.seg_node] = np.repeat(tree.cm, tree.nseg)
        self._structure = _Structure(tree=tree)
        self._params = {"cm": node_cm, "area": tree.area.copy(), "g_axial": tree.g_axial.copy()}

    # -- pytree --------------------------------------------------------------------------------------
    @classmethod
    def _build(cls, structure: _Structure, params: dict) -> Cell:
        cell = cls.__new__(cls)
        cell._structure = structure
        cell._params = params
        return cell

    def tree_flatten(self):
        """JAX pytree protocol: the parameters are the leaves."""
        return (self._params,), self._structure

    @classmethod
    def tree_unflatten(cls, structure, children):
        """JAX pytree protocol."""
        return cls._build(structure, children[0])

    # -- structure -----------------------------------------------------------------------------------
    @property
    def tree(self) -> CompartmentTree:
        """The compartment tree (NEURON's nodes in Hines order)."""
        return self._structure.tree

    @property
    def morphology(self) -> Morphology:
        """The morphology."""
        return self._structure.tree.morphology

    @property
    def params(self) -> dict:
        """The numeric parameters: ``cm``, ``area``, ``g_axial`` per node, and per mechanism name a dict of
        per-node arrays over the nodes where it is inserted.
        """
        return self._params

    @property
    def mechanisms(self) -> tuple[tuple[type[Mechanism], np.ndarray], ...]:
        """(mechanism class, nodes) for every inserted mechanism."""
        return tuple((p.mechanism, p.nodes) for p in self._structure.placements)

    def nodes(self, region: str | Sequence[str]) -> np.ndarray:
        """The segment nodes (sorted) of a region: section list or section names, or a list of them.

        Raises:
            LocationError: a name that is neither a section nor a section list.
        """
        names = [region] if isinstance(region, str) else list(region)
        morph, tree = self.morphology, self.tree
        sections: set[int] = set()
        for name in names:
            if name in morph.sectionlists:
                sections.update(morph.section(n).index for n in morph.sectionlists[name])
            else:
                try:
                    sections.add(morph.section(name).index)
                except LocationError:
                    raise LocationError(f"region {name!r} is neither a section list ({', '.join(morph.sectionlists)}) "
                                        "nor a section name") from None
        segs = [np.arange(tree.seg_offsets[k], tree.seg_offsets[k + 1]) for k in sorted(sections)]
        return np.sort(tree.seg_node[np.concatenate(segs)]) if segs else np.zeros(0, np.int64)

    def insert(self, mechanism: Mechanism, on: str | Sequence[str] = "all") -> Cell:
        """A new cell with ``mechanism`` inserted on a region, its parameter values set there.

        Args:
            mechanism: a mechanism instance, e.g. ``HH()`` or ``Pas(g=2e-5, e=-70)``.
            on: section list name(s) or section name(s).
        """
        if not isinstance(mechanism, Mechanism):
            raise TypeError(f"insert() needs a mechanism instance such as HH(), got {mechanism!r}")
        kind = type(mechanism)
        new_nodes = self.nodes(on)
        placements = list(self._structure.placements)
        params = dict(self._params)
        existing = next((k for k, p in enumerate(placements) if p.mechanism is kind), None)
        values = mechanism.parameters()
        if existing is None:
            nodes = new_nodes
            old = None
        else:
            old_place = placements[existing]
            nodes = np.union1d(old_place.nodes, new_nodes)
            old = (old_place.nodes, params[kind.name])
        table = {}
        for name, value in values.items():
            column = np.full(nodes.size, float(value))
            if old is not None:
                keep = ~np.isin(old[0], new_nodes)
                column[np.searchsorted(nodes, old[0][keep])] = np.asarray(old[1][name])[keep]
            table[name] = column
        params[kind.name] = table
        placement = _Placement(mechanism=kind, nodes=nodes)
        if existing is None:
            placements.append(placement)
        else:
            placements[existing] = placement
        return Cell._build(_Structure(tree=self.tree, placements=tuple(placements)), params)

    def with_params(self, params: dict) -> Cell:
        """The same cell with a different parameter pytree (same structure)."""
        return Cell._build(self._structure, params)

    def __repr__(self) -> str:
        mechs = ", ".join(f"{m.name}@{n.size}" for m, n in self.mechanisms) or "no mechanisms"
        return f"<Cell {len(self.morphology)} sections, {self.tree.n_segments} segments; {mechs}>"


def _register() -> None:
    from neurax._jax import jax

    jax.tree_util.register_pytree_node(Cell, lambda c: c.tree_flatten(), Cell.tree_unflatten)


_register()
