"""The immutable morphology: NEURON-style sections, section lists and locations.

A :class:`Morphology` is what :func:`neurax.load` returns: sections in NEURON's creation order with their
names (``soma[0]``, ``dend[3]``, ...), parents, attachment points (``parent_x``) and float32 3-D points,
plus the section lists NEURON users know (``all``, ``somatic``, ``axonal``, ``basal``, ``apical``, and one
per custom type, e.g. ``dend_5``). Queries: sections of a list, ``sec(x)`` locations from strings such as
``"dend[3](0.7)"``, and path distances along the tree (NEURON's ``distance()``).

Units: um.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import numpy as np

from neurax.errors import LocationError
from neurax.geometry import arc_lengths

__all__ = ["Section", "Morphology", "Location", "STANDARD_LISTS"]

#: The section lists every morphology has, and the base name whose sections each one holds.
STANDARD_LISTS = {"somatic": "soma", "axonal": "axon", "basal": "dend", "apical": "apic"}


@dataclass(frozen=True, eq=False)
class Section:
    """One unbranched cable, as NEURON's Import3d creates it.

    Attributes:
        index: position in :attr:`Morphology.sections` (NEURON's creation order).
        name: NEURON's name, e.g. ``"dend[3]"``.
        type: SWC type code (1 soma, 2 axon, 3 basal dendrite, 4 apical dendrite, others custom).
        parent: index of the parent section, ``None`` for a root.
        parent_x: where on the parent the section's 0 end attaches (0..1), ``None`` for a root.
        points: read-only ``(n, 4)`` array of x, y, z and diameter (um), float32 values as NEURON stores.
        line: file line of the section's first sample, if known.
        wire: the section was attached by a logical connection (NEURON's ``pt3dstyle(1)``): its first
            sample lay away from the parent and that gap carries no membrane or resistance.
        length: for a section defined by ``L`` and ``diam`` instead of 3-D points (NEURON's stylized
            sections, as ported models have them), its exact length; ``points`` then holds two points
            ``L`` apart with the section's (float64) diameter, which give NEURON's cylinder geometry.
    """

    index: int
    name: str
    type: int
    parent: int | None
    parent_x: float | None
    points: np.ndarray
    line: int | None = None
    wire: bool = False
    length: float | None = None

    @cached_property
    def arc(self) -> np.ndarray:
        """Arc length (um) of each 3-D point from the section's 0 end, as NEURON's ``arc3d``."""
        if self.length is not None:
            return np.array([0.0, self.length])
        return arc_lengths(self.points)

    @property
    def L(self) -> float:  # noqa: N802 - NEURON's name
        """Section length (um), NEURON's ``L``: the last arc length, but at least 1e-9 as NEURON clamps it."""
        length = float(self.arc[-1])
        return length if length > 1e-9 else 1e-9

    @property
    def base(self) -> str:
        """The name without its index (and without a cell's prefix): ``"dend"`` for ``"dend[3]"`` and for
        ``"L5PC[0].dend[3]"``.
        """
        return self.name.rsplit(".", 1)[-1].split("[", 1)[0]

    def __repr__(self) -> str:
        parent = "" if self.parent is None else f", parent={self.parent}, parent_x={self.parent_x}"
        return f"Section({self.name!r}, L={self.L:.6g}, n3d={len(self.points)}{parent})"


@dataclass(frozen=True)
class Location:
    """A point on the cell: a section and a relative position ``x`` in [0, 1] along it."""

    section: int
    x: float


_LOCATION = re.compile(r"^\s*([^()\s]+?)\s*(?:\(\s*([^()]*)\s*\))?\s*$")


class Morphology:
    """An immutable reconstructed neuron: sections, section lists and geometry queries.

    Args:
        sections: the sections in NEURON's creation order (``Section.index`` must equal the position).
        source: the file the morphology came from, if any.
        repairs: the repairs made while importing (the messages of the warnings issued).
        sectionlists: section lists by name (section names), where they are not the standard ones made
            from the sections' base names (a ported model's own SectionLists).
    """

    def __init__(self, sections: list[Section], source: str | None = None, repairs: tuple[str, ...] = (),
                 sectionlists: Mapping[str, tuple[str, ...]] | None = None):
        self._sections = tuple(sections)
        self.source = source
        self.repairs = tuple(repairs)
        self._lists = None if sectionlists is None else {k: tuple(v) for k, v in sectionlists.items()}
        self._by_name = {s.name: s for s in self._sections}
        for i, s in enumerate(self._sections):
            if s.index != i:
                raise ValueError(f"section {s.name} has index {s.index} at position {i}")
            if s.parent is not None and not 0 <= s.parent < len(self._sections):
                raise ValueError(f"section {s.name} has parent {s.parent}, which does not exist")
        counts = [len(sec.points) for sec in self._sections]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        """Points of section ``k`` are ``points[offsets[k]:offsets[k+1]]``."""
        children: list[list[int]] = [[] for _ in self._sections]
        for s in self._sections:
            if s.parent is not None:
                children[s.parent].append(s.index)
        self._children = tuple(tuple(c) for c in children)

    # -- sections -------------------------------------------------------------------------------
    @property
    def sections(self) -> tuple[Section, ...]:
        """All sections in NEURON's creation order."""
        return self._sections

    def __len__(self) -> int:
        return len(self._sections)

    def __iter__(self) -> Iterator[Section]:
        return iter(self._sections)

    def __getitem__(self, key: int | str) -> Section:
        """A section by index or by name (``"dend[3]"``; a bare ``"soma"`` means ``"soma[0]"``)."""
        if isinstance(key, (int, np.integer)):
            return self._sections[key]
        return self.section(key)

    def label(self, key: int | str) -> str:
        """``"cell.swc:12: dend[3]"`` for messages about a section (file and line where known)."""
        sec = self[key]
        where = ":".join(str(x) for x in (self.source, sec.line) if x is not None)
        return f"{where}: {sec.name}" if where else sec.name

    def section(self, name: str) -> Section:
        """The section called ``name``.

        Raises:
            LocationError: no section has that name.
        """
        sec = self._by_name.get(name) or self._by_name.get(f"{name}[0]")
        if sec is None:
            raise LocationError(f"no section named {name!r}; this cell has {self._name_summary()}")
        return sec

    def _name_summary(self) -> str:
        counts: dict[str, int] = {}
        for s in self._sections:
            counts[s.base] = counts.get(s.base, 0) + 1
        return ", ".join(f"{base}[0..{n - 1}]" for base, n in counts.items()) or "no sections"

    def children(self, section: int | str) -> tuple[Section, ...]:
        """The sections attached to ``section``, in creation order."""
        index = self[section].index
        return tuple(self._sections[c] for c in self._children[index])

    def breadth_first(self) -> list[int]:
        """Section indices breadth first from each root (every parent before its children)."""
        order: list[int] = []
        for root in self.roots:
            level = [root.index]
            while level:
                order.extend(level)
                level = [c for k in level for c in self._children[k]]
        return order

    @property
    def roots(self) -> tuple[Section, ...]:
        """Sections without a parent (one per tree)."""
        return tuple(s for s in self._sections if s.parent is None)

    @cached_property
    def points(self) -> np.ndarray:
        """All 3-D points, section after section (see :attr:`offsets`): x, y, z, diam (um)."""
        if not self._sections:
            return np.zeros((0, 4))
        return np.concatenate([s.points for s in self._sections])

    @cached_property
    def arc(self) -> np.ndarray:
        """Arc length of every 3-D point from its section's 0 end (um), NEURON's ``arc3d``."""
        arc = arc_lengths(self.points, self.offsets)
        for s in self._sections:
            if s.length is not None:
                arc[self.offsets[s.index]:self.offsets[s.index + 1]] = s.arc
        return arc

    # -- section lists ----------------------------------------------------------------------------
    @cached_property
    def sectionlists(self) -> Mapping[str, tuple[str, ...]]:
        """Section lists by name, as tuples of section names.

        ``all`` holds every section; ``somatic``, ``axonal``, ``basal`` and ``apical`` hold the ``soma``,
        ``axon``, ``dend`` and ``apic`` sections (``basal`` holds exactly the ``dend`` sections: unlike
        NEURON's HOC templates, it does not also catch ``dend_5``); every other base name (a custom type,
        ``dend_5``, ``dend_0``, ``minus_1``) has a list of its own under that name.
        """
        lists: dict[str, list[str]] = {"all": [s.name for s in self._sections]}
        if self._lists is not None:
            lists.update({k: list(v) for k, v in self._lists.items()})
            return MappingProxyType({k: tuple(v) for k, v in lists.items()})
        for list_name in STANDARD_LISTS:
            lists[list_name] = []
        reverse = {base: name for name, base in STANDARD_LISTS.items()}
        for s in self._sections:
            lists.setdefault(reverse.get(s.base, s.base), []).append(s.name)
        return MappingProxyType({k: tuple(v) for k, v in lists.items()})

    def sectionlist(self, name: str) -> tuple[Section, ...]:
        """The sections of a section list (see :attr:`sectionlists`).

        Raises:
            LocationError: there is no such list.
        """
        try:
            names = self.sectionlists[name]
        except KeyError:
            raise LocationError(f"no section list named {name!r}; lists are "
                                f"{', '.join(self.sectionlists)}") from None
        return tuple(self._by_name[n] for n in names)

    # -- locations and distances -------------------------------------------------------------------
    def location(self, where: str | Location | tuple[str, float]) -> Location:
        """Resolve ``"dend[3](0.7)"`` (or ``("dend[3]", 0.7)``; ``"soma"`` means ``soma[0](0.5)``).

        Raises:
            LocationError: no such section, or x outside [0, 1].
        """
        if isinstance(where, Location):
            name, x = self._sections[where.section].name, where.x
        elif isinstance(where, tuple):
            name, x = where
        else:
            match = _LOCATION.match(where)
            if not match:
                raise LocationError(f"cannot read location {where!r}; write it as NAME[INDEX](X), "
                                    "e.g. 'dend[3](0.7)'")
            name, xs = match.groups()
            try:
                x = 0.5 if xs is None or not xs.strip() else float(xs)
            except ValueError:
                raise LocationError(f"x in {where!r} is not a number") from None
        if not 0.0 <= float(x) <= 1.0:
            raise LocationError(f"x = {x} in {where!r} is outside [0, 1]")
        return Location(self.section(name).index, float(x))

    def distance(self, a: str | Location, b: str | Location | None = None) -> float:
        """Path distance (um) along the tree between two locations, like NEURON's ``distance()``.

        Args:
            a: a location.
            b: another location; by default the middle of the first root section (``soma[0](0.5)``
                when the cell has a soma).

        Raises:
            LocationError: a bad location, or the two locations lie on different trees.
        """
        la = self.location(a)
        lb = self.location(b) if b is not None else Location(self.roots[0].index, 0.5)
        chain_a = self._chain(la)
        chain_b = self._chain(lb)
        if chain_a[-1][0] != chain_b[-1][0]:
            raise LocationError("the two locations are on different trees (no path joins them)")
        pos_b = {sec: (i, x) for i, (sec, x) in enumerate(chain_b)}
        for i, (sec, x) in enumerate(chain_a):
            if sec in pos_b:
                j, xb = pos_b[sec]
                length = self._sections[sec].L
                up_a = sum(self._sections[s].L * xx for s, xx in chain_a[:i])
                up_b = sum(self._sections[s].L * xx for s, xx in chain_b[:j])
                return up_a + up_b + abs(x - xb) * length
        raise AssertionError("unreachable: trees share their root")  # pragma: no cover

    def _chain(self, loc: Location) -> list[tuple[int, float]]:
        """(section, x) from the location up to its root: the position reached in each section."""
        chain = [(loc.section, loc.x)]
        sec = self._sections[loc.section]
        while sec.parent is not None:
            chain.append((sec.parent, sec.parent_x))
            sec = self._sections[sec.parent]
        return chain

    # -- summaries ---------------------------------------------------------------------------------
    @property
    def total_length(self) -> float:
        """Sum of all section lengths (um)."""
        return float(sum(s.L for s in self._sections))

    def __repr__(self) -> str:
        src = f" from {self.source!r}" if self.source else ""
        return f"<Morphology{src}: {len(self)} sections ({self._name_summary()})>"
