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

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from neurax.errors import DiscretizationError, LocationError
from neurax.geometry import NSEG_CAP, NSEG_MAX, PieceTable, d_lambda_nseg, lambda_f, piece_table, segment_geometry
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


def _check_nseg(n: np.ndarray, morph: Morphology) -> np.ndarray:
    bad = np.flatnonzero((n < 1) | (n > NSEG_MAX))
    if bad.size:
        k = int(n[bad[0]])
        shown = k if k <= 2 * NSEG_CAP else f"above {2 * NSEG_CAP:.1e}"  # d_lambda_nseg's cap
        raise DiscretizationError(f"{morph.label(int(bad[0]))}: nseg {shown} is outside 1..{NSEG_MAX}")
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
    out = np.zeros(len(morph), dtype=np.int64)
    kinds: dict[object, list[int]] = {}
    for k, policy in enumerate(policies):
        kinds.setdefault(policy, []).append(k)
    for policy, members in kinds.items():
        idx = np.asarray(members)
        if isinstance(policy, (bool, np.bool_)) or not isinstance(policy, (int, np.integer, DLambda, MaxLength)):
            raise DiscretizationError(f"unknown nseg policy {policy!r}; use an int, DLambda(...) or MaxLength(...)")
        if isinstance(policy, (int, np.integer)):
            out[idx] = int(policy)
            continue
        lengths = morph.arc[morph.offsets[idx + 1] - 1]
        lengths = np.where(lengths > 1e-9, lengths, 1e-9)  # NEURON's L
        if isinstance(policy, MaxLength):
            n = np.maximum(1, np.ceil(lengths / policy.length)).astype(np.int64)
            out[idx] = n + 1 - n % 2
            continue
        if len(idx) == len(morph):
            sub_offsets, diam, arc = morph.offsets, morph.points[:, 3], morph.arc
        else:
            sub_offsets = np.concatenate([[0], np.cumsum(morph.offsets[idx + 1] - morph.offsets[idx])])
            take = np.concatenate([np.arange(morph.offsets[k], morph.offsets[k + 1]) for k in idx])
            diam, arc = morph.points[take, 3], morph.arc[take]
        lam = lambda_f(arc, diam, policy.freq, ra[idx], cms[idx], sub_offsets,
                       names=[morph.label(int(k)) for k in idx])
        with np.errstate(invalid="ignore", over="ignore"):
            n = d_lambda_nseg(lengths, lam, policy.d_lambda)
        out[idx] = n
    return _check_nseg(out, morph)


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

    Node ``i`` has parent ``parent[i] < i``; the roots (``parent == -1``, the x = 0 node of each root
    section) come first. Segment arrays (``seg_*``) list every
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
        pieces: NEURON's integration pieces for this nseg (to recompute geometry from scaled diameters).
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
    pieces: PieceTable

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
    pieces = piece_table(morph.arc, nsegs, morph.offsets)
    geo = segment_geometry(morph.points[:, 3], pieces, ra)
    seg_offsets = geo.seg_offsets
    # Hines order: sections breadth first from each root (parents first); per section its x = 0 node
    # (roots only), its nseg centres, then its zero-area x = 1 node.
    order = morph.breadth_first()
    is_root = np.array([s.parent is None for s in morph])
    # Roots' x = 0 nodes come first (as in NEURON), then each section's centres and its x = 1 node.
    n_roots = int(is_root.sum())
    start = np.full(nsec, -1, np.int64)
    start[is_root] = np.arange(n_roots)
    sizes = nsegs + 1
    first_centre = np.zeros(nsec, np.int64)
    first_centre[order] = n_roots + np.concatenate([[0], np.cumsum(sizes[order])[:-1]])
    end = first_centre + nsegs
    sections = morph.sections
    nseg_l = nsegs.tolist()
    for k in order:  # a section attached at x = 0 of a non-root parent shares that parent's attachment
        sec = sections[k]
        if sec.parent is None:
            continue
        p, x = sec.parent, sec.parent_x
        if x >= 1.0:
            start[k] = end[p]
        elif x <= 0.0:
            start[k] = start[p]
        else:
            start[k] = first_centre[p] + min(int(nseg_l[p] * x), nseg_l[p] - 1)
    n_nodes = n_roots + int(sizes.sum())
    seg_sec = np.repeat(np.arange(nsec), nsegs)
    seg_local = np.arange(int(seg_offsets[-1])) - seg_offsets[seg_sec]
    seg_node = first_centre[seg_sec] + seg_local
    parent = np.full(n_nodes, -1, np.int64)
    parent[seg_node] = np.where(seg_local == 0, start[seg_sec], seg_node - 1)
    parent[end] = end - 1
    area = np.zeros(n_nodes)
    area[seg_node] = geo.area
    g = np.zeros(n_nodes)
    g[seg_node] = geo.g
    g[end] = 1.0 / geo.r_right[seg_offsets[1:] - 1]
    node_section = np.zeros(n_nodes, np.int64)
    node_section[seg_node] = seg_sec
    node_section[end] = np.arange(nsec)
    node_section[:n_roots] = np.flatnonzero(is_root)
    node_x = np.zeros(n_nodes)
    seg_x = (seg_local + 0.5) / nsegs[seg_sec]
    node_x[seg_node] = seg_x
    node_x[end] = 1.0
    return CompartmentTree(
        morphology=morph, nseg=nsegs, Ra=ra, cm=cms, parent=parent, area=area, g_axial=g,
        node_section=node_section, node_x=node_x, seg_offsets=seg_offsets, seg_node=seg_node, seg_x=seg_x,
        seg_area=geo.area, seg_ri=geo.ri, seg_diam=geo.diam, start_node=start, end_node=end, end_ri=geo.ri_end,
        pieces=pieces,
    )
