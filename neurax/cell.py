"""A cell: a discretised morphology with mechanisms and parameters placed on regions.

:class:`Cell` is immutable and a JAX pytree: its leaves are the numeric parameters, its static part the
structure (morphology, compartment tree, where each mechanism is inserted, named groups). So one object
works unchanged under ``jax.jit``, ``jax.vmap`` and ``jax.grad``::

    cell = (nx.Cell(morph, nseg=nx.DLambda(0.1), Ra=100.0)
            .insert(nx.HH())                                  # everywhere
            .insert(nx.Pas(g=2e-5), on="apical")
            .set("hh.gnabar", 0.2, on="somatic")
            .set("pas.g", lambda d: 2e-5 * (1 + d / 300), on="apical"))   # d: path distance from soma, um

Parameters (``cell.params``):

* ``cm`` (uF/cm^2) per node (0 at the zero-area end nodes);
* ``Ra`` (ohm cm) per section;
* ``radius_scale`` per 3-D point (multiplies the reconstructed diameters);
* per mechanism name (``"hh"``, ``"pas"``) a dict of per-node arrays over the nodes where it is inserted.

Segment area and axial conductance are not parameters: :func:`neurax.simulate` derives them from the
diameters, ``radius_scale`` and ``Ra`` inside the traced function with NEURON's formulas, so gradients with
respect to geometry are exact.

Regions (``on=``) are section list names (``all``, ``somatic``, ``axonal``, ``basal``, ``apical``, custom
types such as ``dend_5``), groups made with :meth:`Cell.group`, section names (``"dend[3]"``), or lists of
those. Settings apply in the order they are made: a later :meth:`Cell.insert` or :meth:`Cell.set` overrides
earlier values where the regions overlap (as assigning a range variable does in NEURON).

Units (NEURON's): mV, ms, um, uF/cm^2 (cm), ohm cm (Ra), S/cm^2 (conductance densities).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from neurax.compartments import CompartmentTree, NsegPolicy, discretize
from neurax.errors import LocationError, NeuraxError
from neurax.geometry import PieceTable
from neurax.mechanisms.base import Mechanism
from neurax.morphology import Morphology

__all__ = ["Cell", "Region"]

#: What ``on=`` accepts: a region name or a list of them.
Region = str | Sequence[str]


@dataclass(frozen=True, eq=False)
class _Placement:
    """Where one mechanism is inserted: its class and the (segment) nodes it covers, sorted."""

    mechanism: type[Mechanism]
    nodes: np.ndarray


@dataclass(frozen=True, eq=False)
class _Structure:
    """The static part of a cell (compared by identity, so jit retraces only for a new structure)."""

    tree: CompartmentTree
    pieces: PieceTable
    placements: tuple[_Placement, ...] = ()
    groups: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __hash__(self) -> int:
        return id(self)


class Cell:
    """A neuron ready to simulate.

    Args:
        morphology: the morphology (from :func:`neurax.load`).
        nseg: nseg policy: an int, :class:`~neurax.compartments.DLambda` or
            :class:`~neurax.compartments.MaxLength` (NEURON's default is 1). The d_lambda rule uses the
            ``Ra`` and ``cm`` given here, as in NEURON.
        Ra: axial resistivity (ohm cm), one value or per section / section list (default 35.4).
        cm: membrane capacitance (uF/cm^2), one value or per section / section list (default 1).
        nseg_overrides: nseg policies for particular sections or section lists.
    """

    def __init__(self, morphology: Morphology, nseg: NsegPolicy = 1, *, Ra: float | Mapping = 35.4,
                 cm: float | Mapping = 1.0, nseg_overrides: Mapping | None = None) -> None:
        tree = discretize(morphology, nseg, Ra=Ra, cm=cm, overrides=nseg_overrides)
        node_cm = np.zeros(tree.n_nodes)
        node_cm[tree.seg_node] = np.repeat(tree.cm, tree.nseg)
        self._structure = _Structure(tree=tree, pieces=tree.pieces)
        self._params = {"cm": node_cm, "Ra": tree.Ra.copy(), "radius_scale": np.ones(len(morphology.points))}

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
    def pieces(self) -> PieceTable:
        """NEURON's integration pieces of every section (for the geometry computed in ``simulate``)."""
        return self._structure.pieces

    @property
    def params(self) -> dict:
        """The numeric parameters (see the module docstring)."""
        return self._params

    @property
    def mechanisms(self) -> tuple[tuple[type[Mechanism], np.ndarray], ...]:
        """(mechanism class, nodes) for every inserted mechanism."""
        return tuple((p.mechanism, p.nodes) for p in self._structure.placements)

    @property
    def groups(self) -> Mapping[str, tuple[str, ...]]:
        """User-defined groups (NEURON SectionLists of one's own), as section names."""
        morph = self.morphology
        return MappingProxyType({k: tuple(morph[i].name for i in v) for k, v in self._structure.groups.items()})

    def sections(self, region: Region) -> np.ndarray:
        """Indices (sorted) of the sections in a region.

        Raises:
            LocationError: a name that is neither a group, a section list nor a section.
        """
        names = [region] if isinstance(region, str) else list(region)
        morph = self.morphology
        out: set[int] = set()
        for name in names:
            if name in self._structure.groups:
                out.update(self._structure.groups[name])
            elif name in morph.sectionlists:
                out.update(morph.section(n).index for n in morph.sectionlists[name])
            else:
                try:
                    out.add(morph.section(name).index)
                except LocationError:
                    known = ", ".join([*morph.sectionlists, *self._structure.groups])
                    raise LocationError(f"region {name!r} is neither a group or section list ({known}) "
                                        "nor a section name") from None
        return np.array(sorted(out), dtype=np.int64)

    def nodes(self, region: Region) -> np.ndarray:
        """The segment nodes (sorted) of a region."""
        tree = self.tree
        segs = [np.arange(tree.seg_offsets[k], tree.seg_offsets[k + 1]) for k in self.sections(region)]
        return np.sort(tree.seg_node[np.concatenate(segs)]) if segs else np.zeros(0, np.int64)

    def points(self, region: Region) -> np.ndarray:
        """The 3-D point indices (into ``morphology.points``) of a region."""
        off = self.morphology.offsets
        idx = [np.arange(off[k], off[k + 1]) for k in self.sections(region)]
        return np.concatenate(idx) if idx else np.zeros(0, np.int64)

    # -- distances -------------------------------------------------------------------------------------
    def _section_start_distance(self) -> np.ndarray:
        cache = self._structure.__dict__.setdefault("_cache", {})
        if "start" not in cache:
            morph = self.morphology
            start = np.zeros(len(morph))
            for k in morph.breadth_first():
                sec = morph[k]
                if sec.parent is not None:
                    start[k] = float(self._distance_on(sec.parent, sec.parent_x, start))
            cache["start"] = start
        return cache["start"]

    def _distance_on(self, section, x, start: np.ndarray):
        morph = self.morphology
        section = np.asarray(section)
        length = np.array([sec.L for sec in morph])[section]
        root = np.array([sec.parent is None for sec in morph])[section]
        # the origin of each tree is the middle of its root section
        return np.where(root, np.abs(np.asarray(x) - 0.5) * length, start[section] + np.asarray(x) * length)

    def distance(self, what: str = "nodes") -> np.ndarray:
        """Path distance (um) from the middle of the root section (soma[0](0.5)) along the tree.

        Args:
            what: ``"nodes"`` (every node), ``"sections"`` (section middles) or ``"points"`` (3-D points).
        """
        start = self._section_start_distance()
        morph, tree = self.morphology, self.tree
        if what == "nodes":
            return self._distance_on(tree.node_section, tree.node_x, start)
        if what == "sections":
            return self._distance_on(np.arange(len(morph)), 0.5, start)
        if what == "points":
            sec = np.repeat(np.arange(len(morph)), np.diff(morph.offsets))
            length = np.array([s.L for s in morph])[sec]
            return self._distance_on(sec, morph.arc / length, start)
        raise ValueError(f"what must be 'nodes', 'sections' or 'points', not {what!r}")

    # -- building ------------------------------------------------------------------------------------
    def group(self, name: str, members: Region) -> Cell:
        """A new cell with a named group of sections (like a NEURON SectionList) usable as a region."""
        if name in self.morphology.sectionlists:
            raise NeuraxError(f"{name!r} is already a section list; choose another group name")
        groups = dict(self._structure.groups)
        groups[name] = tuple(int(k) for k in self.sections(members))
        return Cell._build(replace(self._structure, groups=groups), self._params)

    def insert(self, mechanism: Mechanism, on: Region = "all") -> Cell:
        """A new cell with ``mechanism`` inserted on a region, its parameter values set there.

        Args:
            mechanism: a mechanism instance, e.g. ``HH()`` or ``Pas(g=2e-5, e=-70)``.
            on: the region.
        """
        if not isinstance(mechanism, Mechanism):
            raise TypeError(f"insert() needs a mechanism instance such as HH(), got {mechanism!r}")
        kind = type(mechanism)
        new_nodes = self.nodes(on)
        placements = list(self._structure.placements)
        params = dict(self._params)
        existing = next((k for k, p in enumerate(placements) if p.mechanism is kind), None)
        old_nodes = placements[existing].nodes if existing is not None else np.zeros(0, np.int64)
        nodes = np.union1d(old_nodes, new_nodes)
        table = {}
        keep = ~np.isin(old_nodes, new_nodes)
        for name, value in mechanism.parameters().items():
            column = np.full(nodes.size, float(value))
            if existing is not None:
                column[np.searchsorted(nodes, old_nodes[keep])] = np.asarray(params[kind.name][name])[keep]
            table[name] = column
        params[kind.name] = table
        placement = _Placement(mechanism=kind, nodes=nodes)
        if existing is None:
            placements.append(placement)
        else:
            placements[existing] = placement
        return Cell._build(replace(self._structure, placements=tuple(placements)), params)

    def locate(self, name: str, on: Region = "all") -> tuple[tuple[str, ...], np.ndarray]:
        """Where parameter ``name`` of a region lives: its key path in :attr:`params` and the indices.

        ``name`` is ``"cm"``, ``"Ra"``, ``"radius_scale"`` or ``"<mechanism>.<parameter>"`` (e.g.
        ``"hh.gnabar"``). The indices address the parameter's array: nodes for cm, sections for Ra, 3-D
        points for radius_scale, positions among the mechanism's nodes for mechanism parameters.

        Raises:
            NeuraxError: unknown parameter, or a mechanism not inserted in (all of) the region.
        """
        if name == "cm":
            return ("cm",), self.nodes(on)
        if name == "Ra":
            return ("Ra",), self.sections(on)
        if name == "radius_scale":
            return ("radius_scale",), self.points(on)
        mech, _, param = name.partition(".")
        placement = next((p for p in self._structure.placements if p.mechanism.name == mech), None)
        if placement is None or not param:
            inserted = ", ".join(p.mechanism.name for p in self._structure.placements) or "none"
            raise NeuraxError(f"unknown parameter {name!r}: use cm, Ra, radius_scale or MECHANISM.PARAM "
                              f"(mechanisms inserted: {inserted})")
        if param not in placement.mechanism.parameter_names():
            raise NeuraxError(f"{mech} has no parameter {param!r}; it has "
                              f"{', '.join(placement.mechanism.parameter_names())}")
        nodes = self.nodes(on)
        pos = np.searchsorted(placement.nodes, nodes)
        inside = (pos < placement.nodes.size) & (placement.nodes[np.minimum(pos, placement.nodes.size - 1)] == nodes)
        if not inside.all():
            raise NeuraxError(f"{mech} is not inserted everywhere in region {on!r}; insert it there first")
        return (mech, param), pos

    def _where(self, key: tuple[str, ...]) -> np.ndarray:
        """Distance (um) of every element of the parameter array at ``key``."""
        if key[0] == "cm":
            return self.distance("nodes")
        if key[0] == "Ra":
            return self.distance("sections")
        if key[0] == "radius_scale":
            return self.distance("points")
        placement = next(p for p in self._structure.placements if p.mechanism.name == key[0])
        return self.distance("nodes")[placement.nodes]

    def set(self, name: str, value: float | Callable | np.ndarray, on: Region = "all") -> Cell:
        """A new cell with parameter ``name`` set on a region.

        Args:
            name: ``"cm"``, ``"Ra"``, ``"radius_scale"`` or ``"<mechanism>.<parameter>"``.
            value: a number; an array with one value per element of the region (nodes, sections or
                points, in :meth:`locate` order); or a function of path distance from the soma (um)
                returning the value, as NEURON users write with ``distance()``.
            on: the region.

        Inside ``jax.jit``, ``jax.vmap`` or ``jax.grad`` the value may be traced: the parameter array then
        becomes a JAX array (and finiteness is not checked).
        """
        from neurax._jax import jax, jnp

        key, index = self.locate(name, on)
        raw = value(self._where(key)[index]) if callable(value) else value
        params = _copy_path(self._params, key)
        target = params
        for k in key[:-1]:
            target = target[k]
        if any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((raw, target[key[-1]]))):
            values = jnp.broadcast_to(jnp.asarray(raw, dtype=float), index.shape)
            target[key[-1]] = jnp.asarray(target[key[-1]], dtype=float).at[index].set(values)
            return Cell._build(self._structure, params)
        values = np.broadcast_to(np.asarray(raw, dtype=float), index.shape)
        if not np.all(np.isfinite(values)):
            raise NeuraxError(f"{name} on {on!r}: values must be finite")
        array = np.array(target[key[-1]], dtype=float)
        array[index] = values
        target[key[-1]] = array
        return Cell._build(self._structure, params)

    def get(self, name: str, on: Region = "all") -> np.ndarray:
        """The values of parameter ``name`` on a region (in :meth:`locate` order)."""
        key, index = self.locate(name, on)
        target = self._params
        for k in key:
            target = target[k]
        return np.asarray(target)[index]

    def trainable(self, spec: Mapping[str, object], transforms: Mapping[str, object] | None = None):
        """The :class:`~neurax.params.Trainable` parameters of this cell (see :mod:`neurax.params`)."""
        from neurax.params import Trainable

        return Trainable(self, spec, transforms)

    def with_params(self, params: dict) -> Cell:
        """The same cell with a different parameter pytree (same structure)."""
        return Cell._build(self._structure, params)

    def __repr__(self) -> str:
        mechs = ", ".join(f"{m.name}@{n.size}" for m, n in self.mechanisms) or "no mechanisms"
        return f"<Cell {len(self.morphology)} sections, {self.tree.n_segments} segments; {mechs}>"


def _copy_path(params: dict, key: tuple[str, ...]) -> dict:
    """A shallow copy of the nested dict with fresh dicts along ``key`` (so the original is unchanged)."""
    out = dict(params)
    node = out
    for k in key[:-1]:
        node[k] = dict(node[k])
        node = node[k]
    return out


def _register() -> None:
    from neurax._jax import jax

    jax.tree_util.register_pytree_node(Cell, lambda c: c.tree_flatten(), Cell.tree_unflatten)


_register()
