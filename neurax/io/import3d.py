"""NEURON's Import3d, the part shared by every file format.

A reader (``swc.py``, ``asc.py``, ``h5.py``) turns a file into a list of :class:`RawSection`, exactly the
list NEURON's ``Import3d_*_read.sections`` holds after ``input()``: points in file units, parents,
``parentx``, wires (``first = 1``) and soma contours. :func:`instantiate` then does what
``Import3d_GUI.instantiate`` does: drop degenerate sections, name sections, turn soma contours into a
centroid, turn a one-point soma into a sphere of three points, and round every 3-D point the way
``pt3dadd`` stores it (printed with ``%.8g``, parsed, kept as float32).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from neurax.errors import MorphologyError, MorphologyRepairWarning, StrictModeError

__all__ = ["RawSection", "ImportLog"]


@dataclass
class RawSection:
    """One section as NEURON's Import3d reader holds it before instantiation.

    Attributes:
        type: SWC type code (1 soma, 2 axon, 3 dend, 4 apic, other values custom).
        points: ``(n, 4)`` float64 array of x, y, z (um) and diameter (um), including the repeated parent
            point that a child section starts with (``Import3d_Section.raw`` and ``.d``).
        parent: index of the parent section in the reader's list, or ``None`` for a root.
        parent_x: where on the parent the section attaches (0, 0.5 or 1).
        first: 1 if the first point is only a logical connection (a "wire") and is dropped when the
            section is instantiated, else 0.
        line: 1-based file line of the section's first own point (for messages).
        is_contour: the section is a soma contour (Neurolucida) to be replaced by its centroid.
        contour_stack: for the main contour of a stack, the indices of the other contours of the stack.
        is_subsidiary: the section is a non-main contour of a stack and is not instantiated.
    """

    type: int
    points: np.ndarray
    parent: int | None = None
    parent_x: float = 1.0
    first: int = 0
    line: int | None = None
    is_contour: bool = False
    contour_stack: list[int] = field(default_factory=list)
    is_subsidiary: bool = False


class ImportLog:
    """Collects the repairs an import makes, or refuses them in strict mode.

    Args:
        path: the file being read (for messages).
        strict: if true, :meth:`repair` raises :class:`~neurax.errors.StrictModeError` instead of
            recording the repair.
    """

    def __init__(self, path: str, strict: bool = False) -> None:
        self.path = path
        self.strict = strict
        self.messages: list[str] = []

    def repair(self, message: str, line: int | None = None, hint: str | None = None) -> None:
        """Record (or, in strict mode, refuse) a repair NEURON makes silently or with a printout."""
        if self.strict:
            raise StrictModeError(message, self.path, line,
                                  hint or "strict=False imports the file the way NEURON does")
        where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        self.messages.append(where + message)

    def emit(self, stacklevel: int = 3) -> None:
        """Issue every recorded repair as a :class:`~neurax.errors.MorphologyRepairWarning`."""
        for message in self.messages:
            warnings.warn(message, MorphologyRepairWarning, stacklevel=stacklevel)


_TYPE_NAMES = {1: "soma", 2: "axon", 3: "dend", 4: "apic"}


def type_name(type_code: int) -> str:
    """NEURON's section base name for an SWC type code: soma, axon, dend, apic, dend_K or minus_K."""
    if type_code in _TYPE_NAMES:
        return _TYPE_NAMES[type_code]
    if type_code < 0:
        return f"minus_{-type_code}"
    return f"dend_{type_code}"


def hoc_pt3d(values: np.ndarray) -> np.ndarray:
    """Round values the way ``Import3d_GUI.instantiate`` stores them in ``pt3dadd``.

    NEURON prints each value with ``%.8g``, parses the text back into a double, and stores a C ``float``.
    The result (float64 holding float32 values) is bit-identical to what ``x3d()``/``diam3d()`` return.
    """
    v = np.asarray(values, dtype=np.float64)
    out = v.copy()
    mask = np.isfinite(v) & (v != 0)
    a = np.abs(v[mask])
    k = 7 - np.floor(np.log10(a)).astype(np.int64)
    scaled = _scale10(a, k)
    # log10 can be off by one next to powers of ten: bring scaled into [1e7, 1e8).
    low = scaled < 1e7
    k[low] += 1
    high = scaled >= 1e8
    k[high] -= 1
    scaled = np.where(low | high, _scale10(a, k), scaled)
    rounded = np.rint(scaled)
    fraction = scaled - np.floor(scaled)
    result = _unscale10(rounded, k)
    exact = (np.abs(fraction - 0.5) > 1e-6) & (np.abs(k) <= 22)
    if not exact.all():  # near a tie or out of range: let Python's correctly rounded printf decide
        slow = np.flatnonzero(~exact)
        result[slow] = [float(f"{x:.8g}") for x in a[slow]]
    out[mask] = np.copysign(result, v[mask])
    return out.astype(np.float32).astype(np.float64)


def _scale10(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    kk = np.clip(k, -22, 22)
    return np.where(kk >= 0, a * 10.0 ** np.maximum(kk, 0), a / 10.0 ** np.maximum(-kk, 0))


def _unscale10(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    kk = np.clip(k, -22, 22)
    return np.where(kk >= 0, n / 10.0 ** np.maximum(kk, 0), n * 10.0 ** np.maximum(-kk, 0))


def _sphere(point: np.ndarray) -> np.ndarray:
    """NEURON's ``sphere_rep``: a one-point soma becomes three points along x with L = diam."""
    x, y, z, d = point
    return np.array([[x - d / 2, y, z, d], [x, y, z, d], [x + d / 2, y, z, d]])


def _same_point(two: np.ndarray) -> bool:
    """NEURON's ``Vector.eq`` on two points' x, y, z: equal within 1e-11."""
    return bool(np.all(np.abs(two[0, :3] - two[1, :3]) < 1e-11))


def remove_degenerate(sections: list[RawSection], log: ImportLog) -> list[RawSection]:
    """NEURON's ``chk_valid``: drop one-point and zero-length two-point non-root sections.

    Children of a removed section are re-attached to its parent at its ``parent_x``. Indices in the
    returned list are renumbered.
    """
    doomed = [i for i, s in enumerate(sections) if s.parent is not None and (
        len(s.points) - s.first <= 1 or (len(s.points) - s.first == 2 and _same_point(s.points[s.first:s.first + 2])))]
    if not doomed:
        return sections
    alive = list(range(len(sections)))
    parent = [s.parent for s in sections]
    parent_x = [s.parent_x for s in sections]
    for i in range(len(sections) - 1, -1, -1):
        sec = sections[i]
        if parent[i] is None:
            continue
        own = sec.points[sec.first:]
        if len(own) <= 1:
            reason = "a one-point section"
        elif len(own) == 2 and _same_point(own):
            reason = "a two-point section of zero length"
        else:
            continue
        log.repair(f"{reason} ({type_name(sec.type)}) was removed, as NEURON does; its children were "
                   "re-attached to its parent", sec.line)
        alive.remove(i)
        for j in alive:
            if j > i and parent[j] == i:
                parent[j] = parent[i]
                parent_x[j] = parent_x[i]
    new_index = {old: new for new, old in enumerate(alive)}
    out = []
    for old in alive:
        s = sections[old]
        out.append(RawSection(type=s.type, points=s.points, parent=None if parent[old] is None else
                              new_index[parent[old]], parent_x=parent_x[old], first=s.first, line=s.line,
                              is_contour=s.is_contour,
                              contour_stack=[new_index[c] for c in s.contour_stack if c in new_index],
                              is_subsidiary=s.is_subsidiary))
    return out


def instantiate(sections: list[RawSection], log: ImportLog, source: str | None = None):
    """Build the morphology NEURON's ``Import3d_GUI.instantiate`` would build from raw sections.

    Args:
        sections: the reader's raw sections.
        log: the import's repair log.
        source: the file the sections came from.

    Returns:
        A :class:`~neurax.morphology.Morphology` with sections in NEURON's creation order (by type
        code, then by index within the type).
    """
    from neurax.morphology import Morphology, Section

    sections = remove_degenerate(sections, log)
    counters: dict[int, int] = {}
    names: dict[int, str] = {}
    for i, sec in enumerate(sections):
        if sec.is_subsidiary:
            continue
        k = counters.get(sec.type, 0)
        counters[sec.type] = k + 1
        names[i] = f"{type_name(sec.type)}[{k}]"
    order = sorted(names, key=lambda i: (sections[i].type, int(names[i].rsplit("[", 1)[1][:-1])))
    position = {old: new for new, old in enumerate(order)}
    blocks = []
    for old in order:
        sec = sections[old]
        pts = sec.points[sec.first:]
        if sec.is_contour:
            from neurax.io.contour import contour2centroid, contourstack2centroid

            stack = [sections[c].points[sections[c].first:] for c in sec.contour_stack]
            try:
                pts = contourstack2centroid(pts, stack) if stack else contour2centroid(pts)
            except MorphologyError as err:  # the contour functions know no file: name it and the line
                if err.path is not None:
                    raise
                raise type(err)(err.message, source, sec.line, err.hint) from None
        if len(pts) == 1:
            pts = _sphere(pts[0])
        blocks.append(pts)
    everything = hoc_pt3d(np.concatenate(blocks)) if blocks else np.zeros((0, 4))
    everything.setflags(write=False)
    bounds = np.cumsum([0] + [len(b) for b in blocks])
    built = []
    for new, old in enumerate(order):
        sec = sections[old]
        parent = None if sec.parent is None else position[sec.parent]
        built.append(Section(index=new, name=names[old], type=sec.type, parent=parent,
                             parent_x=None if parent is None else float(sec.parent_x),
                             points=everything[bounds[new]:bounds[new + 1]], line=sec.line, wire=bool(sec.first)))
    return Morphology(built, source=source, repairs=tuple(log.messages))
