"""Neurolucida data as NEURON's Import3d understands it, and what NEURON makes of it.

:class:`NeurolucidaData` holds what a Neurolucida file (or an equivalent MorphIO H5 file) contributes:
contours and trees of branches, in file order. :func:`neurolucida_to_raw_sections` applies the semantic
actions of NEURON's ``read_nlcda3.hoc``: which contours become somata, the order of NEURON's ``sections``
list (contours first), the parent point a child section copies, contour stacks (overlapping contours), and
the wiring of trees to the soma (inside the soma's bounding box, or to the nearest soma centre with a
repair). The ASC parser (``asc.py``) and the H5 reader (``h5.py``) both end here.

Coordinates and diameters are in um (float64).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neurax.errors import MorphologyStructureError
from neurax.io.contour import HOC_EPSILON, contourcenter, stk_center
from neurax.io.import3d import ImportLog, RawSection

__all__ = ["Contour", "Branch", "Tree", "NeurolucidaData", "neurolucida_to_raw_sections", "SOMA_CONTOUR_NAMES"]

#: Contour names NEURON turns into a soma (when the contour has at least 3 points).
SOMA_CONTOUR_NAMES = ("CellBody", "Cell Body", "Soma")

# ---------------------------------------------------------------------------------------------------------
# Parsed file
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Contour:
    """A closed outline: ``("name" (properties) (x y z d) ...)``.

    Attributes:
        name: the quoted name (``"CellBody"`` makes a soma).
        points: ``(n, 4)`` x, y, z, d in um.
        lines: ``(n,)`` file line of every point (None when not read from text).
        line: line of the name.
    """

    name: str
    points: np.ndarray
    lines: np.ndarray | None = None
    line: int | None = None


@dataclass
class Branch:
    """One unbranched piece of a tree: its own points and its child branches in file order."""

    points: np.ndarray
    lines: np.ndarray | None = None
    children: list[Branch] = field(default_factory=list)


@dataclass
class Tree:
    """A neurite tree: the type NEURON gives it and its root branch.

    Attributes:
        type: 2 axon, 3 dendrite, 4 apical, 0 other (ASC); H5 files keep any type code.
        root: the first branch.
        line: line of the tree's first point.
        notes: ``(message, line)`` NEURON quirks met while reading the tree (reported as repairs).
    """

    type: int
    root: Branch
    line: int | None = None
    notes: list[tuple[str, int | None]] = field(default_factory=list)


@dataclass
class NeurolucidaData:
    """Everything of a Neurolucida file that NEURON uses: contours and trees, each in file order.

    Contours are listed in the order NEURON reads them (a contour inside a ``(Set ...)`` of a tree's
    properties is read twice by NEURON's tree-or-text look-ahead, and appears twice here too).
    """

    path: str
    contours: list[Contour] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    spines: int = 0


# ---------------------------------------------------------------------------------------------------------
# Semantics: NEURON's sections list
# ---------------------------------------------------------------------------------------------------------

_TYPE_NAMES = {1: "soma", 2: "axon", 3: "dendrite", 4: "apical dendrite"}


def _bbox(points: np.ndarray) -> tuple[float, ...]:
    """``bounding_box``: xmin, ymin, zmin, xmax, ymax, zmax."""
    lo = points[:, :3].min(axis=0)
    hi = points[:, :3].max(axis=0)
    return (*lo.tolist(), *hi.tolist())


def _xy_intersect(b1: tuple[float, ...], b2: tuple[float, ...]) -> bool:
    """``xy_intersect`` with hoc's fuzzy ``>``."""
    for i in (0, 1):
        if b1[i] > b2[3 + i] + HOC_EPSILON or b2[i] > b1[3 + i] + HOC_EPSILON:
            return False
    return True


def _inside(x: float, y: float, xmin: float, ymin: float, xmax: float, ymax: float) -> bool:
    """``GUIMath.inside``: the arguments become InterViews ``Coord`` (float32) before comparing."""
    f = np.float32
    return bool(f(xmin) <= f(x) <= f(xmax) and f(ymin) <= f(y) <= f(ymax))


def _same_point(a: np.ndarray, b: np.ndarray) -> bool:
    """Hoc ``==`` on x, y and z (each within 1e-11)."""
    for k in range(3):
        if not (a[k] <= b[k] + HOC_EPSILON and a[k] >= b[k] - HOC_EPSILON):
            return False
    return True


def _check_stack(secs: list[RawSection], main: int, log: ImportLog) -> None:
    """``somastack_makes_sense``: NEURON's advice on a contour stack (it changes nothing)."""
    sec = secs[main]
    z = sec.points[0, 2]

    def constant(s: RawSection, z0: float) -> bool:
        return all(v <= z0 + HOC_EPSILON and v >= z0 - HOC_EPSILON for v in s.points[1:, 2].tolist())

    if not constant(sec, z):
        log.repair("the first contour of a soma stack does not have a constant z; NEURON warns that its soma "
                   "area may be seriously wrong", sec.line)
        return
    dz = 0
    for k, j in enumerate(sec.contour_stack):
        other = secs[j]
        z2 = other.points[0, 2]
        diff = z2 - z
        if diff <= HOC_EPSILON and diff >= -HOC_EPSILON:
            log.repair(f"contour {k} of a soma stack has the same z as the previous one", other.line)
            return
        step = 1 if diff > HOC_EPSILON else -1
        if dz == 0:
            dz = step
        elif dz != step:
            log.repair(f"contour {k} of a soma stack is not monotonic in z; NEURON warns that the soma surface is "
                       "nonsense (reorder or remove contours)", other.line)
            return
        z = z2
        if not constant(other, z):
            log.repair(f"contour {k} of a soma stack does not have a constant z; NEURON warns that its soma area "
                       "may be seriously wrong", other.line)
            return


def _wire(sec: RawSection, parent: int, center: np.ndarray) -> None:
    """Connect a root to a soma with a logical connection: the soma centre, diameter 0.01, ``first = 1``."""
    wire = np.array([[center[0], center[1], center[2], 0.01]])
    sec.points = np.concatenate([wire, sec.points])
    sec.parent = parent
    sec.parent_x = 0.5
    sec.first = 1


def neurolucida_to_raw_sections(data: NeurolucidaData, log: ImportLog) -> list[RawSection]:
    """NEURON's ``sections`` list for parsed Neurolucida data (``newsec``, ``connect2soma`` and helpers).

    * Soma contours (named ``CellBody``, ``Cell Body`` or ``Soma``, >= 3 points) come first, in file order;
      a soma contour with fewer points is ignored (a repair). Other contours are ignored.
    * Then the branches of every tree, depth first. A child branch whose first point is not its parent's last
      point (hoc ``==``, i.e. within 1e-11 in x, y and z) starts with a copy of that parent point carrying the
      child's first diameter (``first`` stays 0: it is a real frustum).
    * Soma contours whose xy bounding boxes intersect the previous contour's form a stack: the first contour
      of the stack lists the others in ``contour_stack``; they are marked ``is_subsidiary``.
    * A tree whose first point lies in a soma's xy box (+-0.5 um around a single contour; the exact box of a
      stack) is wired to that soma: the soma centre is prepended with diameter 0.01, ``first = 1``, attached at
      0.5. Trees outside every box are wired to the nearest soma centre (a repair NEURON prints).

    Args:
        data: the parsed file.
        log: receives the repairs.

    Returns:
        The raw sections, in NEURON's order, with indices as parents.
    """
    somas: list[RawSection] = []
    for c in data.contours:
        if c.name not in SOMA_CONTOUR_NAMES:
            continue
        if len(c.points) > 2:
            line = int(c.lines[0]) if c.lines is not None and len(c.lines) else c.line
            somas.append(RawSection(type=1, points=np.array(c.points, dtype=np.float64), line=line,
                                    is_contour=True))
        else:
            log.repair(f'the soma contour "{c.name}" has {len(c.points)} point(s); NEURON ignores soma contours '
                       "with fewer than 3 points", c.line)
    secs: list[RawSection] = list(somas)
    roots: list[int] = []

    def add(branch: Branch, sectype: int, parent: int | None) -> int:
        pts = np.array(branch.points, dtype=np.float64)
        if len(pts) == 0:
            raise MorphologyStructureError("a branch has no points", data.path)
        line = int(branch.lines[0]) if branch.lines is not None and len(branch.lines) else None
        sec = RawSection(type=sectype, points=pts, parent=parent, line=line)
        if parent is not None:
            last = secs[parent].points[-1]
            if not _same_point(last, pts[0]):
                sec.points = np.concatenate([[[last[0], last[1], last[2], pts[0, 3]]], pts])
        else:
            roots.append(len(secs))
        secs.append(sec)
        return len(secs) - 1

    for tree in data.trees:
        for message, line in tree.notes:
            log.repair(message, line)
        stack: list[tuple[Branch, int | None]] = [(tree.root, None)]
        while stack:  # depth first, children in file order (NEURON's newsec order)
            branch, parent = stack.pop()
            me = add(branch, tree.type, parent)
            stack.extend((child, me) for child in reversed(branch.children))

    if not somas:
        return secs
    # soma_contour_stack: a contour whose box meets the previous contour's box joins the current stack
    mains = [0]
    box_prev = _bbox(secs[0].points)
    for j in range(1, len(somas)):
        box = _bbox(secs[j].points)
        if _xy_intersect(box_prev, box):
            secs[mains[-1]].contour_stack.append(j)
            secs[j].is_subsidiary = True
        else:
            mains.append(j)
        box_prev = box
    for m in mains:
        if secs[m].contour_stack:
            _check_stack(secs, m, log)
    # connect2soma_2: wire the roots that start inside a soma's box
    centers = []
    for m in mains:
        main = secs[m]
        if main.contour_stack:
            others = [secs[j].points for j in main.contour_stack]
            center = stk_center(main.points, others)
            box = list(_bbox(main.points))  # stk_bbox: no 0.5 um margin, hoc's fuzzy comparisons
            for pts in others:
                b = _bbox(pts)
                for k in range(3):
                    if box[k] > b[k] + HOC_EPSILON:
                        box[k] = b[k]
                    if box[k + 3] < b[k + 3] - HOC_EPSILON:
                        box[k + 3] = b[k + 3]
            xmin, xmax, ymin, ymax = box[0], box[3], box[1], box[4]
        else:
            p = main.points
            xmin, xmax = float(p[:, 0].min()) - 0.5, float(p[:, 0].max()) + 0.5
            ymin, ymax = float(p[:, 1].min()) - 0.5, float(p[:, 1].max()) + 0.5
            center = contourcenter(p[:, 0], p[:, 1], p[:, 2])[0]
        centers.append(center)
        for k in range(len(roots) - 1, -1, -1):
            sec = secs[roots[k]]
            if _inside(sec.points[0, 0], sec.points[0, 1], xmin, ymin, xmax, ymax):
                _wire(sec, m, center)
                del roots[k]
    # the other roots: logical connection to the nearest soma centre
    imin = 0
    for r in roots:
        sec = secs[r]
        first = sec.points[0]
        dmin = 1e9
        for j, c in enumerate(centers):
            dx, dy, dz = first[0] - c[0], first[1] - c[1], first[2] - c[2]
            d = math.sqrt(dx * dx + dy * dy + dz * dz)
            if d < dmin - HOC_EPSILON:
                imin, dmin = j, d
        what = _TYPE_NAMES.get(sec.type, f"type {sec.type}")
        log.repair(f"the {what} tree starting here lies outside every soma contour's bounding box; NEURON makes a "
                   "logical connection (a wire) to the centre of the nearest soma", sec.line)
        _wire(sec, mains[imin], centers[imin])
    return secs
