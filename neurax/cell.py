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
* per mechanism name (``"hh"``, ``"pas"``, an NMODL suffix) a dict of its RANGE parameters (one value per
  node where it is inserted) and GLOBAL parameters (one value, a 0-d array);
* per ion used (``"na_ion"``, ``"ca_ion"``, ...) its reversal potential and concentrations per node where the
  ion exists (``ena``, ``nai``, ``nao``; mV and mM, NEURON's defaults) and the concentrations finitialize
  resets them to where a mechanism writes them (``nai0``, ``nao0``; NEURON's ``nai0_na_ion``).

Segment area and axial conductance are not parameters: :func:`neurax.simulate` derives them from the
diameters, ``radius_scale`` and ``Ra`` inside the traced function with NEURON's formulas, so gradients with
respect to geometry are exact.

Parameter names: ``cm``, ``Ra``, ``radius_scale``, ``MECHANISM.PARAM`` (``"hh.gnabar"``) or NEURON's hoc
name (``"gnabar_hh"``, a GLOBAL's ``"q10_NaT"``), an ion variable (``"ena"``, ``"cai"``) or an ion global
(``"cai0_ca_ion"``).

Regions (``on=``) are section list names (``all``, ``somatic``, ``axonal``, ``basal``, ``apical``, custom
types such as ``dend_5``), groups made with :meth:`Cell.group`, section names (``"dend[3]"``), or lists of
those. Settings apply in the order they are made: a later :meth:`Cell.insert` or :meth:`Cell.set` overrides
earlier values where the regions overlap (as assigning a range variable does in NEURON).

Units (NEURON's): mV, ms, um, uF/cm^2 (cm), ohm cm (Ra), S/cm^2 (conductance densities).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from neurax.compartments import CompartmentTree, NsegPolicy, discretize
from neurax.errors import LocationError, NeuraxError
from neurax.geometry import PieceTable
from neurax.mechanisms.base import Mechanism
from neurax.mechanisms.ions import DEFAULTS, OTHER_DEFAULT, ion_variables
from neurax.morphology import Morphology

__all__ = ["Cell", "Region"]

#: What ``on=`` accepts: a region name or a list of them.
Region = str | Sequence[str]


@dataclass(frozen=True, eq=False)
class _Placement:
    """Where one mechanism is: its class and its nodes (a density mechanism's, sorted; a point process's,
    one per instance in the order they were placed, repeated where several share a node).
    """

    mechanism: type[Mechanism]
    nodes: np.ndarray

    @property
    def point(self) -> bool:
        """Whether this is a point process (instances at locations, not a density on regions)."""
        return self.mechanism.kind != "density"


@dataclass(frozen=True, eq=False)
class _Structure:
    """The static part of a cell (compared by identity, so jit retraces only for a new structure).

    ``ions`` maps each ion in use to its nodes (sorted): the nodes of every mechanism that uses it.
    """

    tree: CompartmentTree
    pieces: PieceTable
    placements: tuple[_Placement, ...] = ()
    groups: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    ions: Mapping[str, np.ndarray] = field(default_factory=dict)

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
        """A new cell with a density mechanism inserted on a region, its parameter values set there.

        The ions the mechanism uses come with it (NEURON's defaults where they are new). GLOBAL parameters
        keep their values if the mechanism is already inserted.

        Args:
            mechanism: a mechanism instance, e.g. ``HH()``, ``Pas(g=2e-5, e=-70)`` or an NMODL mechanism.
            on: the region.
        """
        if not isinstance(mechanism, Mechanism):
            raise TypeError(f"insert() needs a mechanism instance such as HH(), got {mechanism!r}")
        kind = type(mechanism)
        if kind.kind != "density":
            raise NeuraxError(f"{kind.name} is a {kind.kind.replace('point', 'point process')}: place it at a "
                              "location with cell.place(...), not insert it on a region")
        clash = next((p.mechanism for p in self._structure.placements if p.mechanism.name == kind.name
                      and p.mechanism is not kind), None)
        if clash is not None:
            raise NeuraxError(f"another mechanism named {kind.name} is already inserted; mechanism names must "
                              "be unique in a cell")
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
        for name, value in kind.global_params.items():
            table[name] = params[kind.name][name] if existing is not None else np.asarray(float(value))
        params[kind.name] = table
        placement = _Placement(mechanism=kind, nodes=nodes)
        if existing is None:
            placements.append(placement)
        else:
            placements[existing] = placement
        ions = dict(self._structure.ions)
        for use in kind.ions:
            ions[use.ion] = _grow_ion(params, ions.get(use.ion), nodes, use.ion)
        return Cell._build(replace(self._structure, placements=tuple(placements), ions=ions), params)

    def place(self, mechanism: Mechanism, location: str) -> Cell:
        """A new cell with a point process (an NMODL POINT_PROCESS) at a location, e.g. ``"soma[0](0.5)"``.

        Several instances of a point process may share a location. Their parameters are set for all
        instances (or those in a region) with :meth:`set`, as ``"NAME.param"`` or ``"param_NAME"``.
        """
        if not isinstance(mechanism, Mechanism):
            raise TypeError(f"place() needs a mechanism instance, got {mechanism!r}")
        kind = type(mechanism)
        if kind.kind == "density":
            raise NeuraxError(f"{kind.name} is a density mechanism: insert it on a region with cell.insert(...)")
        if kind.kind == "artificial":
            raise NeuraxError(f"{kind.name} is an ARTIFICIAL_CELL (no membrane): it belongs to a network, not a "
                              "cell")
        return self.place_at(mechanism, np.array([self.tree.node_of(location)], np.int64))[0]

    def place_at(self, mechanism: Mechanism, nodes: np.ndarray, values: Mapping | None = None) -> tuple[Cell, int]:
        """A new cell with one instance of a point process at each of ``nodes`` (in order; nodes of
        :attr:`tree`), and the index of the first new instance among the mechanism's instances.

        ``values``: per-instance parameter arrays that replace the mechanism's own values (networks and
        ported models place thousands of synapses this way in one call; :meth:`place` places one).
        """
        kind = type(mechanism)
        values = values or {}
        placements = list(self._structure.placements)
        params = dict(self._params)
        existing = next((k for k, p in enumerate(placements) if p.mechanism is kind), None)
        if existing is None and any(p.mechanism.name == kind.name for p in placements):
            raise NeuraxError(f"another mechanism named {kind.name} is already in the cell")
        old = placements[existing].nodes if existing is not None else np.zeros(0, np.int64)
        nodes = np.asarray(nodes, np.int64)
        table = dict(params.get(kind.name, {}))
        for name, value in mechanism.parameters().items():
            column = np.asarray(values[name], float) if name in values else np.full(nodes.size, float(value))
            table[name] = np.concatenate([np.asarray(table.get(name, np.zeros(0)), dtype=float), column])
        for name, value in kind.global_params.items():
            table.setdefault(name, np.asarray(float(value)))
        params[kind.name] = table
        placement = _Placement(mechanism=kind, nodes=np.concatenate([old, nodes]).astype(np.int64))
        if existing is None:
            placements.append(placement)
        else:
            placements[existing] = placement
        ions = dict(self._structure.ions)
        for use in kind.ions:
            ions[use.ion] = _grow_ion(params, ions.get(use.ion), np.unique(placement.nodes), use.ion)
        structure = replace(self._structure, placements=tuple(placements), ions=ions)
        return Cell._build(structure, params), int(old.size)

    def parameter_names(self) -> tuple[str, ...]:
        """Every parameter name :meth:`set` accepts for this cell, in NEURON's hoc form where it has one."""
        names = ["cm", "Ra", "radius_scale"]
        for p in self._structure.placements:
            mech = p.mechanism
            names += [f"{n}_{mech.name}" for n in mech.parameter_names()]
            names += [f"{n}_{mech.name}" for n in mech.global_params]
        for ion in self._structure.ions:
            v = ion_variables(ion)
            names += [v["e"], v["i"], v["o"], f"{ion}i0_{ion}_ion", f"{ion}o0_{ion}_ion"]
        return tuple(names)

    def locate(self, name: str, on: Region = "all") -> tuple[tuple[str, ...], np.ndarray | None]:
        """Where parameter ``name`` of a region lives: its key path in :attr:`params` and the indices.

        ``name`` is ``"cm"``, ``"Ra"``, ``"radius_scale"``, ``"<mechanism>.<parameter>"`` (``"hh.gnabar"``),
        NEURON's hoc name (``"gnabar_hh"``), an ion variable (``"ena"``, ``"cai"``) or an ion global
        (``"cai0_ca_ion"``). The indices address the parameter's array: nodes for cm, sections for Ra,
        3-D points for radius_scale, positions among the mechanism's (or ion's) nodes otherwise; ``None``
        for a GLOBAL (one value for the cell).

        Raises:
            NeuraxError: unknown parameter (with the near names), or a mechanism not inserted in (all of)
                the region.
        """
        if name == "cm":
            return ("cm",), self.nodes(on)
        if name == "Ra":
            return ("Ra",), self.sections(on)
        if name == "radius_scale":
            return ("radius_scale",), self.points(on)
        key = self._resolve(name)
        if key is None:
            raise NeuraxError(f"unknown parameter {name!r}{_suggest(name, self.parameter_names())}; use cm, Ra, "
                              "radius_scale, MECHANISM.PARAM (e.g. hh.gnabar), a hoc name (gnabar_hh), an ion "
                              "variable (ena, cai) or an ion global (cai0_ca_ion)")
        group, param, scalar = key
        if scalar:
            if on not in ("all", ["all"], ("all",)):
                raise NeuraxError(f"{name} is GLOBAL: one value for the whole cell, so on= cannot be {on!r}")
            return (group, param), None
        placement = next((p for p in self._structure.placements if p.mechanism.name == group), None)
        if placement is not None and placement.point:  # the instances located in the region
            return (group, param), np.flatnonzero(np.isin(placement.nodes, self.nodes(on)))
        owner = self._structure.ions[group[:-4]] if group.endswith("_ion") and group[:-4] in self._structure.ions \
            else next(p.nodes for p in self._structure.placements if p.mechanism.name == group)
        nodes = self.nodes(on)
        pos = np.searchsorted(owner, nodes)
        inside = (pos < owner.size) & (owner[np.minimum(pos, owner.size - 1)] == nodes)
        if not inside.all():
            what = f"ion {group[:-4]}" if group.endswith("_ion") else group
            raise NeuraxError(f"{what} is not present everywhere in region {on!r} (insert a mechanism that "
                              f"uses it there first)" if group.endswith("_ion") else
                              f"{what} is not inserted everywhere in region {on!r}; insert it there first")
        return (group, param), pos

    def holders(self, name: str) -> list[str]:
        """The names of the sections that hold parameter ``name`` on every segment (NEURON's ``forall``
        with ``ismembrane``): all sections for cm, Ra, radius_scale and GLOBALs, else those where its
        mechanism (or ion) is present.

        Raises:
            NeuraxError: an unknown parameter (with the near names).
        """
        names = [sec.name for sec in self.morphology]
        if name in ("cm", "Ra", "radius_scale"):
            return names
        key = self._resolve(name)
        if key is None:
            self.locate(name)  # raises with the near names
        group, _, scalar = key
        if scalar:
            return names
        placement = next((p for p in self._structure.placements if p.mechanism.name == group), None)
        if group.endswith("_ion") and group[:-4] in self._structure.ions:
            owner = self._structure.ions[group[:-4]]
        else:
            owner = placement.nodes
        tree = self.tree
        test = np.any if placement is not None and placement.point else np.all  # a point process: its sections
        return [names[k] for k in range(len(names))
                if test(np.isin(tree.seg_node[tree.seg_offsets[k]:tree.seg_offsets[k + 1]], owner))]

    def _resolve(self, name: str) -> tuple[str, str, bool] | None:
        """``(params key, parameter, is_global)`` of a parameter name, or None."""
        mechs = {p.mechanism.name: p.mechanism for p in self._structure.placements}
        mech, dot, param = name.partition(".")
        if dot:
            cls = mechs.get(mech)
            if cls is None:
                inserted = ", ".join(mechs) or "none"
                raise NeuraxError(f"unknown parameter {name!r}: {mech} is not inserted (mechanisms inserted: "
                                  f"{inserted})")
            if param in cls.parameter_names():
                return mech, param, False
            if param in cls.global_params:
                return mech, param, True
            _refuse_fixed(cls, param, name)
            known = (*cls.parameter_names(), *cls.global_params)
            raise NeuraxError(f"{mech} has no parameter {param!r}{_suggest(param, known)}; it has "
                              f"{', '.join(known) or 'none'}")
        for ion in self._structure.ions:
            names = ion_variables(ion)
            if name in (names["e"], names["i"], names["o"]):
                return f"{ion}_ion", name, False
            for conc in ("i", "o"):
                if name == f"{ion}{conc}0_{ion}_ion":
                    return f"{ion}_ion", f"{ion}{conc}0", True
        for mech_name, cls in mechs.items():
            suffix = f"_{mech_name}"
            if name.endswith(suffix):
                param = name[: -len(suffix)]
                if param in cls.parameter_names():
                    return mech_name, param, False
                if param in cls.global_params:
                    return mech_name, param, True
                _refuse_fixed(cls, param, name)
        return None

    def _where(self, key: tuple[str, ...]) -> np.ndarray:
        """Distance (um) of every element of the parameter array at ``key``."""
        if key[0] == "cm":
            return self.distance("nodes")
        if key[0] == "Ra":
            return self.distance("sections")
        if key[0] == "radius_scale":
            return self.distance("points")
        return self.distance("nodes")[self.element_nodes(key)]

    def _is_conductance(self, key: tuple[str, ...]) -> bool:
        from neurax.mechanisms.base import conductance_parameters

        mech = next((p.mechanism for p in self._structure.placements if p.mechanism.name == key[0]), None)
        return mech is not None and key[1] in conductance_parameters(mech)

    def element_nodes(self, key: tuple[str, ...]) -> np.ndarray:
        """The node of each element of a per-node parameter array (cm, a mechanism's or an ion's)."""
        if key[0] == "cm":
            return np.arange(self.tree.n_nodes)
        if key[0].endswith("_ion") and key[0][:-4] in self._structure.ions:
            return self._structure.ions[key[0][:-4]]
        return next(p.nodes for p in self._structure.placements if p.mechanism.name == key[0])

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
        params = _copy_path(self._params, key)
        target = params
        for k in key[:-1]:
            target = target[k]
        if index is None:  # a GLOBAL: one value
            if callable(value):
                raise NeuraxError(f"{name} is GLOBAL (one value for the cell): give a number, not a function")
            traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(value))
            if not traced and (np.ndim(value) or not np.isfinite(float(value))):
                raise NeuraxError(f"{name} is GLOBAL: give one finite number, got {value!r}")
            if not traced and self._is_conductance(key) and float(value) < 0:
                raise NeuraxError(f"{name} = {float(value):g}: a conductance cannot be negative")
            target[key[-1]] = jnp.asarray(value, dtype=float) if traced else np.asarray(float(value))
            return Cell._build(self._structure, params)
        raw = value(self._where(key)[index]) if callable(value) else value
        if any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((raw, target[key[-1]]))):
            values = jnp.broadcast_to(jnp.asarray(raw, dtype=float), index.shape)
            target[key[-1]] = jnp.asarray(target[key[-1]], dtype=float).at[index].set(values)
            return Cell._build(self._structure, params)
        values = np.broadcast_to(np.asarray(raw, dtype=float), index.shape)
        if not np.all(np.isfinite(values)):
            raise NeuraxError(f"{name} on {on!r}: values must be finite")
        if key[0] in ("cm", "Ra", "radius_scale") and np.any(values <= 0):
            raise NeuraxError(f"{name} = {values.min():g} on {on!r}: {name} must be positive")
        if len(key) == 2 and self._is_conductance(key) and np.any(values < 0):
            raise NeuraxError(f"{name} = {values.min():g} on {on!r}: a conductance cannot be negative")
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
        return np.asarray(target) if index is None else np.asarray(target)[index]

    def trainable(self, spec: Mapping[str, object], transforms: Mapping[str, object] | None = None):
        """The :class:`~neurax.params.Trainable` parameters of this cell (see :mod:`neurax.params`)."""
        from neurax.params import Trainable

        return Trainable(self, spec, transforms)

    def with_params(self, params: dict) -> Cell:
        """The same cell with a different parameter pytree (same structure)."""
        return Cell._build(self._structure, params)

    def check(self) -> Cell:
        """``self`` if its parameters make physical sense, else an error naming the first that does not: a
        negative conductance (a parameter in S/cm2, mho/cm2, uS, ...), ``cm <= 0`` on a segment, ``Ra <= 0``, a
        diameter scale ``<= 0``, or a value that is not finite.

        Raises:
            NeuraxError: see above.
        """
        from neurax.mechanisms.base import conductance_parameters

        params = self._params
        tree = self.tree
        checks = (("cm", np.asarray(params["cm"])[tree.seg_node], tree.seg_node, "must be positive"),
                  ("Ra", np.asarray(params["Ra"]), None, "must be positive"),
                  ("radius_scale", np.asarray(params["radius_scale"]), None, "must be positive"))
        for name, values, nodes, rule in checks:
            bad = np.flatnonzero(~(values > 0))
            if bad.size:
                where = f" at {self.describe_node(int(nodes[bad[0]]))}" if nodes is not None else ""
                raise NeuraxError(f"{name} = {values[bad[0]]:g}{where}: {name} {rule}")
        for p in self._structure.placements:
            mech = p.mechanism
            for pname in conductance_parameters(mech):
                values = np.asarray(params[mech.name][pname], dtype=float)
                bad = np.flatnonzero(~(values.reshape(-1) >= 0))
                if bad.size:
                    where = "" if values.ndim == 0 else f" at {self.describe_node(int(p.nodes[bad[0]]))}"
                    raise NeuraxError(f"{pname}_{mech.name} = {values.reshape(-1)[bad[0]]:g}{where}: a conductance "
                                      "cannot be negative")
        return self

    def describe_node(self, node: int) -> str:
        """A node as NEURON names the location: ``"dend[3](0.5)"`` (a segment's centre), ``"dend[3](1)"``."""
        tree = self.tree
        return f"{self.morphology[int(tree.node_section[node])].name}({float(tree.node_x[node]):g})"

    def fingerprint(self) -> str:
        """A digest of the cell's structure (morphology, discretisation, which mechanisms where, ions): equal
        for equal structures, so that they share a compiled simulation.
        """
        cache = self._structure.__dict__.setdefault("_cache", {})
        if "fingerprint" not in cache:
            import hashlib

            h = hashlib.sha256()
            tree = self.tree
            for array in (tree.parent, tree.seg_node, tree.node_section, tree.node_x, self.morphology.points,
                          self.morphology.arc, *(np.asarray(getattr(self.pieces, f.name)) for f in
                                                 dataclasses.fields(self.pieces))):
                h.update(np.ascontiguousarray(array).tobytes())
            for p in self._structure.placements:
                mech = p.mechanism
                h.update(repr((mech.__module__, mech.__qualname__, mech.name, mech.order,
                               getattr(mech, "source", ""), getattr(mech, "usetable", True),
                               getattr(mech, "function_table_data", {}))).encode())
                h.update(np.ascontiguousarray(p.nodes).tobytes())
            for ion, nodes in sorted(self._structure.ions.items()):
                h.update(ion.encode())
                h.update(np.ascontiguousarray(nodes).tobytes())
            cache["fingerprint"] = h.hexdigest()
        return cache["fingerprint"]

    def __repr__(self) -> str:
        mechs = ", ".join(f"{m.name}@{n.size}" for m, n in self.mechanisms) or "no mechanisms"
        return f"<Cell {len(self.morphology)} sections, {self.tree.n_segments} segments; {mechs}>"


def _suggest(name: str, names) -> str:
    near = difflib.get_close_matches(name, list(names), n=2)
    return f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""


def _grow_ion(params: dict, old: np.ndarray | None, nodes: np.ndarray, ion: str) -> np.ndarray:
    """The ion's node list extended by ``nodes``, its parameters in ``params`` extended with NEURON's
    defaults for a new ion instance (existing values kept).
    """
    e0, ci0, co0 = DEFAULTS.get(ion, OTHER_DEFAULT)
    names = ion_variables(ion)
    key = f"{ion}_ion"
    old = np.zeros(0, np.int64) if old is None else old
    new = np.union1d(old, nodes)
    if new.size == old.size and key in params:
        return old
    table = dict(params.get(key, {}))
    for var, default in ((names["e"], e0), (names["i"], ci0), (names["o"], co0)):
        column = np.full(new.size, default)
        if var in table:
            column[np.searchsorted(new, old)] = np.asarray(table[var])
        table[var] = column
    table.setdefault(f"{ion}i0", np.asarray(ci0))
    table.setdefault(f"{ion}o0", np.asarray(co0))
    params[key] = table
    return new


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


def _refuse_fixed(cls, param: str, name: str) -> None:
    """A clear error for a GLOBAL that a mechanism fixed when it was built (it bounds a FROM loop)."""
    if param in getattr(cls, "fixed", {}):
        raise NeuraxError(f"{name} bounds a FROM loop in {cls.name}'s .mod file, so it is fixed when the file is "
                          f"read (it is {cls.fixed[param]:g}); change its PARAMETER default in the file")
