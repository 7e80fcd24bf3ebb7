"""Discretisation: nseg policies and the compartment tree a solver needs.

:func:`discretize` turns a :class:`~neurax.morphology.Morphology` into a :class:`CompartmentTree`: NEURON's
nodes (``nseg`` centre nodes per section, a zero-area node at every section's x = 1 end and one at the
x = 0 end of each root), in Hines order (every parent before its children), with each segment's area,
diameter and axial resistance exactly as NEURON computes them, and the axial coefficients of NEURON's
tree matrix.

nseg policies (NEURON users know them from ``forall nseg = ...``):

* an ``int``: the same nseg everywhere (NEURON's default is 1);
* :class:`DLambda`: NEURON's d_lambda rule with ``lambda_f(freq)``;
* :class:`MaxLength`: the smallest odd nseg making every segment at most this long;
* ``overrides``: a mapping from section names or section list names to an ``int`` or a policy; later
  entries win over earlier ones, and all of them over the default policy.

Units: um, um^2, ohm cm (Ra), uF/cm^2 (cm), megohm (resistances), microsiemens (conductances).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from neurax.errors import DiscretizationError, LocationError
from neurax.geometry import NSEG_MAX, d_lambda_nseg, lambda_f, piece_table, segment_geometry
from neurax.morphology import Morphology

__all__ = ["DLambda", "MaxLength", "NsegPolicy", "CompartmentTree", "discretize", "resolve_nseg"]


@dataclass(frozen=True)
class DLambda:
    """NEURON's d_lambda rule: segments no longer than ``d_lambda`` AC length constants at ``freq`` Hz.

    ``nseg = int((L / (d_lambda * lambda_f(freq)) + 0.9) / 2) * 2 + 1``, with Ra and cm of the section.
    """

    d_lambda: float = 0.1
    freq: float = 100.0

    def __post_init__(self) -> None:
        if not self.d_lambda > 0 or not self.freq > 0:
            raise DiscretizationError(f"DLambda needs d_lambda > 0 and freq > 0, got {self}")


@dataclass(frozen=True)
class MaxLength:
    """Segments no longer than ``length`` um: the smallest odd nseg with ``L / nseg <= length``."""

    length: float

    def __post_init__(self) -> None:
        if not self.length > 0:
            raise DiscretizationError(f"MaxLength needs a positive length, got {self.length}")


NsegPolicy = int | DLambda | MaxLength


def _nseg_for(policy: NsegPolicy, sec, Ra: float, cm: float) -> int:
    if isinstance(policy, (bool, np.bool_)):
        raise DiscretizationError(f"nseg must be an int or a policy, not {policy!r}")
    if isinstance(policy, (int, np.integer)):
        n = int(policy)
    elif isinstance(policy, DLambda):
        lam = lambda_f(sec.arc, sec.points[:, 3], policy.freq, Ra, cm, sec.name)
        n = d_lambda_nseg(sec.L, lam, policy.d_lambda)
    elif isinstance(policy, MaxLength):
        n = max(1, math.ceil(sec.L / policy.length))
        n += 1 - n % 2
    else:
        raise DiscretizationError(f"unknown nseg policy {policy!r}; use an int, DLambda(...) or MaxLength(...)")
    if not 1 <= n <= NSEG_MAX:
        raise DiscretizationError(f"{sec.name}: nseg {n} is outside 1..{NSEG_MAX}")
    return n


def _per_section(morph: Morphology, default, overrides: Mapping | None, what: str) -> list:
    """Expand a default plus overrides keyed by section or section list names to one value per section."""
    values = [default] * len(morph)
    for key, value in (overrides or {}).items():
        if key in morph.sectionlists:
            targets = [morph.section(n).index for n in morph.sectionlists[key]]
        else:
            try:
                targets = [morph.section(key).index]
            except LocationError:
                raise LocationError(f"{what} override {key!r} names no section or section list") from None
        for t in targets:
            values[t] = value
    return values


def resolve_nseg(morph: Morphology, nseg: NsegPolicy = 1, *, Ra: float | Mapping = 35.4,
                 cm: float | Mapping = 1.0, overrides: Mapping[str, NsegPolicy] | None = None) -> np.ndarray:
    """Nseg of every section under a policy (see the module docstring).

    Args:
        morph: the morphology.
        nseg: the default policy.
        Ra: axial resistivity (ohm cm), one value or a mapping from section / list names to values.
        cm: specific capacitance (uF/cm^2), likewise.
        overrides: per-section or per-list policies.
    """
    return _resolve(morph, nseg, _values(morph, Ra, 35.4, "Ra"), _values(morph, cm, 1.0, "cm"), overrides)


def _resolve(morph: Morphology, nseg: NsegPolicy, ra: np.ndarray, cms: np.ndarray,
             overrides: Mapping | None) -> np.ndarray:
    policies = _per_section(morph, nseg, overrides, "nseg")
    return np.array([_nseg_for(p, s, ra[s.index], cms[s.index]) for p, s in zip(policies, morph, strict=True)],
                    dtype=np.int64)


def _values(morph: Morphology, value, default: float, what: str) -> np.ndarray:
    if isinstance(value, Mapping):
        out = np.array(_per_section(morph, default, value, what), dtype=np.float64)
    else:
        out = np.full(len(morph), float(value))
    if not np.all(np.isfinite(out)) or np.any(out < 0) or (what == "Ra" and np.any(out == 0)):
        raise DiscretizationError(f"{what} must be finite and positive, got {value!r}")
    return out


@dataclass(frozen=True)
class CompartmentTree:
    """NEURON's nodes for one morphology and nseg choice, in Hines order.

    Node ``i`` has parent ``parent[i] < i`` (``-1`` for a root). Segment arrays (``seg_*``) list every
    segment section by section, in section order; ``seg_node`` maps them to nodes.

    Attributes:
        morphology: the morphology discretised.
        nseg: nseg of each section.
        Ra: axial resistivity of each section (ohm cm).
        cm: specific capacitance of each section (uF/cm^2).
        parent: parent node of each node.
        area: membrane area of each node (um^2); 0 for the zero-area end nodes.
        g_axial: conductance between each node and its parent (uS), NEURON's ``NODERINV``; 0 for roots.
        node_section: section of each node.
        node_x: position of each node along its section (segment centres, or 0 / 1 for end nodes).
        seg_offsets: segments of section ``k`` are ``seg_offsets[k]:seg_offsets[k+1]``.
        seg_node: node of each segment.
        seg_x: centre of each segment (``(k + 0.5) / nseg``).
        seg_area: ``seg.area()`` (um^2).
        seg_ri: ``seg.ri()`` (megohm).
        seg_diam: ``seg.diam`` (um).
        start_node: node at x = 0 of each section (a root's own node, else the node it attaches to).
        end_node: node at x = 1 of each section.
        end_ri: ``sec(1).ri()`` of each section (megohm).
    """

    morphology: Morphology
    nseg: np.ndarray
    Ra: np.ndarray
    cm: np.ndarray
    parent: np.ndarray
    area: np.ndarray
    g_axial: np.ndarray
    node_section: np.ndarray
    node_x: np.ndarray
    seg_offsets: np.ndarray
    seg_node: np.ndarray
    seg_x: np.ndarray
    seg_area: np.ndarray
    seg_ri: np.ndarray
    seg_diam: np.ndarray
    start_node: np.ndarray
    end_node: np.ndarray
    end_ri: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes (segments plus zero-area end nodes)."""
        return int(self.parent.size)

    @property
    def n_segments(self) -> int:
        """Number of segments (compartments with membrane)."""
        return int(self.seg_node.size)

    def axial_coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """NEURON's tree-matrix coefficients ``(a, b)`` (``connection_coef``), per node.

        ``b[i] = -100 g[i] / A[i]`` (effect of the parent on node i) and ``a[i] = -100 g[i] / A[parent]``
        (effect of node i on its parent), with A the node area in um^2, or 100 for zero-area nodes (whose
        equations are then in nA rather than mA/cm^2). Both are 0 for roots.
        """
        area = np.where(self.area > 0, self.area, 100.0)
        has_parent = self.parent >= 0
        b = np.where(has_parent, -100.0 * self.g_axial / area, 0.0)
        a = np.where(has_parent, -100.0 * self.g_axial / area[np.maximum(self.parent, 0)], 0.0)
        return a, b

    def node_of(self, where) -> int:
        """The node NEURON uses for a location (``node_index``): x = 1 is the end node, x = 0 the node the
        section attaches to, else the centre of segment ``min(int(nseg x), nseg - 1)``.
        """
        loc = self.morphology.location(where)
        return self._node_at(loc.section, loc.x)

    def _node_at(self, section: int, x: float) -> int:
        if x >= 1.0:
            return int(self.end_node[section])
        if x <= 0.0:
            return int(self.start_node[section])
        k = min(int(self.nseg[section] * x), int(self.nseg[section]) - 1)
        return int(self.seg_node[self.seg_offsets[section] + k])


def discretize(morph: Morphology, nseg: NsegPolicy = 1, *, Ra: float | Mapping = 35.4,
               cm: float | Mapping = 1.0, overrides: Mapping[str, NsegPolicy] | None = None) -> CompartmentTree:
    """Discretise a morphology into NEURON's compartment tree.

    Args:
        morph: the morphology.
        nseg: default nseg policy: an int, :class:`DLambda` or :class:`MaxLength`.
        Ra: axial resistivity (ohm cm): one value, or a mapping from section / section list names.
        cm: specific capacitance (uF/cm^2), likewise (used by the d_lambda rule).
        overrides: nseg policies for particular sections or section lists.

    Returns:
        The :class:`CompartmentTree`.
    """
    ra = _values(morph, Ra, 35.4, "Ra")
    cms = _values(morph, cm, 1.0, "cm")
    nsegs = _resolve(morph, nseg, ra, cms, overrides)
    nsec = len(morph)
    # Section order: parents before children (breadth first from each root, in creation order).
    order: list[int] = []
    for root in morph.roots:
        queue = [root.index]
        while queue:
            s = queue.pop(0)
            order.append(s)
            queue.extend(c.index for c in morph.children(s))
    parent_l: list[int] = []
    area_l: list[np.ndarray] = []
    g_l: list[np.ndarray] = []
    sec_l: list[np.ndarray] = []
    x_l: list[np.ndarray] = []
    start = np.zeros(nsec, np.int64)
    end = np.zeros(nsec, np.int64)
    first_centre = np.zeros(nsec, np.int64)
    seg_geo = [None] * nsec
    count = 0
    for s in order:
        sec = morph[s]
        n = int(nsegs[s])
        geo = segment_geometry(sec.points[:, 3], piece_table(sec.arc, n), ra[s])
        seg_geo[s] = geo
        g_centre = 1.0 / (np.concatenate([[0.0], geo.r_right[:-1]]) + geo.r_left)
        if sec.parent is None:
            start[s] = count
            parent_l.append(-1)
            area_l.append(np.zeros(1))
            g_l.append(np.zeros(1))
            sec_l.append(np.array([s]))
            x_l.append(np.zeros(1))
            count += 1
            attach = start[s]
        else:
            attach = _attach_node(morph, s, nsegs, start, end, first_centre)
            start[s] = attach
        first_centre[s] = count
        parents = np.arange(count - 1, count + n)
        parents[0] = attach
        parent_l.extend(parents.tolist())
        area_l.append(np.concatenate([geo.area, [0.0]]))
        g_l.append(np.concatenate([g_centre, [1.0 / geo.r_right[-1]]]))
        sec_l.append(np.full(n + 1, s))
        x_l.append(np.concatenate([(np.arange(n) + 0.5) / n, [1.0]]))
        end[s] = count + n
        count += n + 1
    seg_offsets = np.concatenate([[0], np.cumsum(nsegs)])
    seg_node = np.concatenate([first_centre[s] + np.arange(nsegs[s]) for s in range(nsec)])
    tree = CompartmentTree(
        morphology=morph, nseg=nsegs, Ra=ra, cm=cms,
        parent=np.asarray(parent_l, np.int64), area=np.concatenate(area_l), g_axial=np.concatenate(g_l),
        node_section=np.concatenate(sec_l), node_x=np.concatenate(x_l),
        seg_offsets=seg_offsets, seg_node=seg_node,
        seg_x=np.concatenate([(np.arange(nsegs[s]) + 0.5) / nsegs[s] for s in range(nsec)]),
        seg_area=np.concatenate([seg_geo[s].area for s in range(nsec)]),
        seg_ri=np.concatenate([seg_geo[s].ri for s in range(nsec)]),
        seg_diam=np.concatenate([seg_geo[s].diam for s in range(nsec)]),
        start_node=start, end_node=end, end_ri=np.array([1.0 / (1.0 / seg_geo[s].ri_end) for s in range(nsec)]),
    )
    return tree


def _attach_node(morph: Morphology, s: int, nsegs: np.ndarray, start: np.ndarray, end: np.ndarray,
                 first_centre: np.ndarray) -> int:
    """The parent node a section's first segment couples to (NEURON's connection rules)."""
    sec = morph[s]
    p = sec.parent
    x = sec.parent_x
    if x >= 1.0:
        return int(end[p])
    if x <= 0.0:
        return int(start[p])  # the parent's x = 0: its own x = 0 node (root) or its attachment node
    k = min(int(nsegs[p] * x), int(nsegs[p]) - 1)
    return int(first_centre[p] + k)
