"""SWC files, read the way NEURON's ``Import3d_SWC_read`` reads them.

Two steps, each a plain function:

1. :func:`parse_swc` reads the samples (``id type x y z radius parent``) with their line numbers and checks
   them: every problem is an error naming the line, or a repair NEURON makes, recorded in the
   :class:`~neurax.io.import3d.ImportLog` (and refused in strict mode).
2. :func:`swc_sections` splits the samples into NEURON's sections (``read_swc.hoc``: ``mark_branch``,
   ``sectionify``, ``mksection``), giving the :class:`~neurax.io.import3d.RawSection` list that
   :func:`~neurax.io.import3d.instantiate` turns into a morphology.

NEURON's reader stores every field as a C ``float`` (hoc ``sscanf("%f")``), so coordinates and radii are
rounded to float32 on reading; diameters are twice the float32 radius.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from neurax.errors import MorphologyFileError, MorphologyStructureError, MorphologySyntaxError
from neurax.io.import3d import ImportLog, RawSection

__all__ = ["SwcSamples", "parse_swc", "swc_sections", "read_swc"]

_HINT_FIELDS = "an SWC data line is 'id type x y z radius parent_id'"


@dataclass(frozen=True)
class SwcSamples:
    """The samples of an SWC file in file order (struct of arrays).

    Attributes:
        id: sample ids (int64).
        type: SWC structure type codes (int64).
        xyz: ``(n, 3)`` coordinates in um (float32 values held as float64).
        diam: diameters in um (twice the float32 radius).
        pid: parent ids, negative for a root (int64).
        line: 1-based line number of each sample.
    """

    id: np.ndarray
    type: np.ndarray
    xyz: np.ndarray
    diam: np.ndarray
    pid: np.ndarray
    line: np.ndarray

    def take(self, order: np.ndarray) -> SwcSamples:
        """The samples reordered by the index array ``order``."""
        return SwcSamples(self.id[order], self.type[order], self.xyz[order], self.diam[order],
                          self.pid[order], self.line[order])


def read_swc(path: str, log: ImportLog) -> list[RawSection]:
    """Read an SWC file into NEURON's raw sections.

    Args:
        path: the file.
        log: collects repairs (and refuses them in strict mode).

    Returns:
        The raw sections, in the order NEURON's SWC reader holds them.
    """
    from neurax.io.files import read_text

    samples = parse_swc(read_text(path), path, log)
    return swc_sections(samples, path, log)


def parse_swc(text: str, path: str, log: ImportLog) -> SwcSamples:
    """Parse and check SWC text.

    Args:
        text: the file contents.
        path: the file name used in messages.
        log: collects repairs (and refuses them in strict mode).

    Returns:
        The samples, sorted so that every parent precedes its children (as NEURON requires).

    Raises:
        MorphologySyntaxError: a data line that is not seven numbers.
        MorphologyStructureError: duplicate ids, non-integer or negative ids, a sample that is its own
            ancestor, non-finite values.
        MorphologyFileError: no samples at all.
    """
    if text.startswith("\ufeff"):
        raise MorphologySyntaxError("the file starts with a UTF-8 byte-order mark, which NEURON cannot parse (it "
                                    "skips that line)", path, 1, "save the file without the byte-order mark")
    raw_lines = text.splitlines()
    if "#" in text:  # a comment runs to the end of the line (sscanf stops there too)
        raw_lines = [line.split("#", 1)[0] for line in raw_lines]
    split = list(map(str.split, raw_lines))
    lines = [k + 1 for k, fields in enumerate(split) if fields]
    if not lines:
        raise MorphologyFileError("no SWC samples found", path, None,
                                  "the file is empty or holds only comments")
    rows = [split[k - 1] for k in lines]
    counts = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    short = np.flatnonzero(counts < 7)
    if short.size:
        k = int(short[0])
        raise MorphologySyntaxError(f"expected 7 numbers, found {counts[k]} field(s): "
                                    f"{_clip(raw_lines[lines[k] - 1].strip())!r}", path, lines[k], _HINT_FIELDS)
    if counts.max() > 7:
        rows = [row[:7] for row in rows]
    try:
        if "_" in text and re.search(r"[0-9]_[0-9]", text):  # numpy reads "1_0" as 10; C's strtof stops at the "_"
            raise ValueError
        values = np.array(rows, dtype=np.float64)
    except ValueError:
        values = _parse_slowly(rows, lines, path)
    line = np.asarray(lines, dtype=np.int64)
    # NEURON reads every field with sscanf("%f"): a C float.
    values = to_float32(values, rows)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise MorphologyStructureError(f"{_FIELD_NAMES[col]} is {rows[row][col]!r}, not a finite number",
                                       path, int(line[row]), "replace it with a real value")
    for col, name in ((0, "id"), (1, "type"), (6, "parent id")):
        frac = values[:, col] != np.round(values[:, col])
        if frac.any():
            row = int(np.flatnonzero(frac)[0])
            raise MorphologyStructureError(f"{name} {rows[row][col]!r} is not an integer", path,
                                           int(line[row]), _HINT_FIELDS)
    ids = values[:, 0].astype(np.int64)
    if (ids < 0).any():
        row = int(np.flatnonzero(ids < 0)[0])
        raise MorphologyStructureError(f"sample id {ids[row]} is negative", path, int(line[row]),
                                       "SWC ids are non-negative integers")
    radius = values[:, 5]
    samples = SwcSamples(id=ids, type=values[:, 1].astype(np.int64), xyz=values[:, 2:5].copy(),
                         diam=radius * 2.0, pid=values[:, 6].astype(np.int64), line=line)
    _check_duplicates(samples, path)
    _check_radii(samples, path, log)
    return _order_parents_first(samples, path, log)


_FIELD_NAMES = ("id", "type", "x", "y", "z", "radius", "parent id")


def to_float32(values: np.ndarray, tokens: list[list[str]]) -> np.ndarray:
    """Round decimal fields to float32 exactly as C's ``strtof`` does (returned as float64).

    Going through float64 first rounds twice, which differs from ``strtof`` when the decimal lies within
    a double's precision of a float32 midpoint (files written from float32 data do that). Those few values
    are decided exactly from the text.
    """
    out = values.astype(np.float32).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        toward = np.nextafter(out.astype(np.float32), np.where(values > out, np.inf, -np.inf).astype(np.float32))
        mid = (out + toward.astype(np.float64)) / 2.0
        risky = np.isfinite(values) & (values != out) & (np.abs(values - mid) <= 4 * np.spacing(np.abs(values)))
    for r, c in np.argwhere(risky):
        exact = Fraction(tokens[r][c])
        a, b = sorted((out[r, c], float(toward[r, c])))
        da, db = abs(exact - Fraction(a)), abs(exact - Fraction(b))
        if da == db:  # a true tie: round half to even (even float32 mantissa)
            even = a if int(np.float32(a).view(np.int32)) % 2 == 0 else b
            out[r, c] = even
        else:
            out[r, c] = a if da < db else b
    return out


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _parse_slowly(rows: list[list[str]], lines: list[int], path: str) -> np.ndarray:
    """Convert field by field to find and name the first field that is not a number."""
    out = np.empty((len(rows), 7))
    for r, fields in enumerate(rows):
        for c, text in enumerate(fields):
            try:
                if "_" in text:
                    raise ValueError
                out[r, c] = float(text)
            except ValueError:
                raise MorphologySyntaxError(f"{_FIELD_NAMES[c]} {_clip(text, 30)!r} is not a number", path,
                                            lines[r], _HINT_FIELDS) from None
    return out


def _check_duplicates(samples: SwcSamples, path: str) -> None:
    order = np.argsort(samples.id, kind="stable")
    sorted_ids = samples.id[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if dup.size:
        a, b = order[dup[0]], order[dup[0] + 1]
        first, second = sorted(int(samples.line[k]) for k in (a, b))
        raise MorphologyStructureError(
            f"sample id {int(sorted_ids[dup[0]])} is used twice (lines {first} and {second})", path,
            second, "give every sample a unique id (NEURON crashes on this file)")


def _check_radii(samples: SwcSamples, path: str, log: ImportLog) -> None:
    negative = np.flatnonzero(samples.diam < 0)
    if negative.size:
        log.repair(f"{negative.size} sample(s) have a negative radius (first: id {samples.id[negative[0]]}); "
                   "NEURON uses the absolute value", int(samples.line[negative[0]]))
    zero = np.flatnonzero(samples.diam == 0)
    if zero.size:
        log.repair(f"{zero.size} sample(s) have radius 0 (first: id {samples.id[zero[0]]}); NEURON keeps them, "
                   "giving zero membrane area and a near-infinite axial resistance there",
                   int(samples.line[zero[0]]))


def _order_parents_first(samples: SwcSamples, path: str, log: ImportLog) -> SwcSamples:
    """Sort by id as NEURON does; reorder (with a repair) files whose parents come after children."""
    n = samples.id.size
    self_parent = np.flatnonzero(samples.pid == samples.id)
    if self_parent.size:
        k = int(self_parent[0])
        raise MorphologyStructureError(f"sample {samples.id[k]} is its own parent", path, int(samples.line[k]),
                                       "a root sample has parent id -1")
    # (a parent id that is in no line is a missing parent, reported with the roots: not a reason to reorder)
    forward = np.flatnonzero((samples.pid >= samples.id) & np.isin(samples.pid, samples.id))
    if forward.size == 0:
        down = np.flatnonzero(np.diff(samples.id) <= 0)
        if down.size:
            log.repair(f"sample ids are not increasing (id {samples.id[down[0] + 1]} follows {samples.id[down[0]]}); "
                       "NEURON 9 crashes on such files, so the samples were sorted by id as Import3d intends",
                       int(samples.line[down[0] + 1]))
            samples = samples.take(np.argsort(samples.id, kind="stable"))
        return samples
    # Parents after children: NEURON refuses the file. Put parents first (depth first from each root,
    # children in file order) and renumber, so the result is what NEURON makes of the reordered file.
    k = int(forward[0])
    index_of = {int(i): j for j, i in enumerate(samples.id)}
    children: list[list[int]] = [[] for _ in range(n)]
    roots = []
    for j in range(n):
        parent = index_of.get(int(samples.pid[j]), -1) if samples.pid[j] >= 0 else -1
        (children[parent] if parent >= 0 else roots).append(j)
    order: list[int] = []
    stack = roots[::-1]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(children[j][::-1])
    if len(order) < n:
        seen = np.zeros(n, bool)
        seen[order] = True
        j = int(np.flatnonzero(~seen)[0])
        raise MorphologyStructureError(f"sample {samples.id[j]} is its own ancestor (the parent ids form a "
                                       "cycle)", path, int(samples.line[j]), "fix the parent ids")
    log.repair(f"sample {samples.id[k]} has parent {samples.pid[k]}, which is not listed before it "
               f"({forward.size} such sample(s)); NEURON refuses such files, so the samples were reordered "
               "parents-first and renumbered", int(samples.line[k]))
    order_arr = np.asarray(order)
    out = samples.take(order_arr)
    new_id = {int(samples.id[j]): pos for pos, j in enumerate(order)}
    pid = np.array([new_id.get(int(p), -1) if p >= 0 else -1 for p in out.pid], dtype=np.int64)
    return SwcSamples(np.arange(n, dtype=np.int64), out.type, out.xyz, out.diam, pid, out.line)


def swc_sections(samples: SwcSamples, path: str, log: ImportLog) -> list[RawSection]:
    """Split samples into NEURON's raw sections (``read_swc.hoc``).

    Args:
        samples: parents-first samples from :func:`parse_swc`.
        path: the file name used in messages.
        log: collects repairs (and refuses them in strict mode).

    Returns:
        NEURON's raw section list: sections in file order of their first point, each child starting
        with a copy of its parent point.
    """
    n = samples.id.size
    typ = samples.type
    index_of = np.full(int(samples.id.max()) + 1, -1, dtype=np.int64)
    index_of[samples.id] = np.arange(n)
    pid = samples.pid.copy()
    pix = _parent_index(pid, index_of)  # -1 for a root or a missing parent
    _report_roots(samples, pix, log)
    # hoc Vector subscripts truncate toward zero, so index -1 reads element 0.
    at = np.where(pix < 0, 0, pix)
    i = np.arange(n)

    # mark_branch, in units of 0.01 so that "== 1" is an exact integer test (100).
    child = pix >= 0
    noncontiguous = child & (pix != i - 1)
    type_change = child & (typ[at] != typ)
    nchild = 100 * np.bincount(pix[child], minlength=n)
    nchild += np.bincount(pix[noncontiguous], minlength=n) + np.bincount(pix[type_change], minlength=n)
    # A branch off the first point of a dendrite that is wired to the soma connects to that dendrite's
    # x = 0 (connect2prox); the parent then counts as "one child", plus the last such child's type change.
    prox_parent = (i > 1) & (typ != 1) & (typ[at] == 1)
    prox_parent[0] = typ[0] != 1
    connect2prox = noncontiguous & prox_parent[at]
    if connect2prox.any():
        last = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last, pix[connect2prox], i[connect2prox])
        parents = np.flatnonzero(last >= 0)
        nchild[parents] = 100 + type_change[last[parents]]

    # sectionify: soma points chained one after another stay one section.
    soma_child = (typ == 1) & child & (typ[at] == 1) & (i > 0)
    nchild_soma = np.bincount(pix[soma_child], minlength=n)
    soma3geom = int(np.count_nonzero(typ == 1)) == 3 and _neuromorpho_sphere(samples, pix, nchild)
    if soma3geom:
        pid[2] = samples.id[1]
        pix[2] = 1
    chained = (typ[:-1] == 1) & (typ[1:] == 1) & (pix[1:] == i[:-1]) & ~((i[:-1] != 0) & (nchild_soma[:-1] > 1))
    nchild[:-1][chained] = 100
    sec_last = np.flatnonzero(nchild != 100)
    point2sec = np.zeros(n, dtype=np.int64)
    point2sec[1:] = np.searchsorted(sec_last, i[1:], side="left")
    starts = np.flatnonzero(np.diff(point2sec)) + 1
    bounds = [0, *starts.tolist(), n]

    # mksection: parent point, parent_x and wires.
    typ_l, pix_l, nsoma_l, line_l = typ.tolist(), pix.tolist(), nchild_soma.tolist(), samples.line.tolist()
    prox_l, p2s = connect2prox.tolist(), point2sec.tolist()
    meta: list[tuple[int, float, int, int]] = []  # parent section, parent_x, wire, number of points
    sec_type: list[int] = []
    gather: list[int] = []
    for isec in range(len(bounds) - 1):
        first, stop = bounds[isec], bounds[isec + 1]
        if isec == 0:
            if soma3geom:
                stop = 1
            gather.extend(range(first, stop))
            meta.append((-1, 1.0, 0, stop - first))
            sec_type.append(typ_l[first])
            continue
        pp = pix_l[first]
        pp0 = 0 if pp == -1 else pp
        psec = p2s[pp0]
        ptype = sec_type[psec]
        psec_first = bounds[psec]
        psec_size = meta[psec][3]
        nown = stop - first
        den_con_soma = ptype == 1 and typ_l[first] != 1
        parent_x, wire, handled = 1.0, 0, False
        if psec == 0:
            handled = True
            if den_con_soma and psec_size == 1:
                parent_x, wire = 0.5, int(nown > 1)
            elif pp == psec_first:
                parent_x = 0.0
                wire = int(typ_l[first] != 1 and nsoma_l[pp0] > 1)
            else:
                handled = False
        if not handled and ptype == 1:
            offset = -1 if psec_first == 0 else -2
            if pp < psec_first + psec_size + offset:
                parent_x, wire = 0.5, int(den_con_soma and nown > 1)
            elif nown > 1 and nsoma_l[pp0] > 1 and typ_l[first] != 1:
                wire = 1
        if prox_l[first]:
            parent_x = 0.0
        gather.append(pp0)
        gather.extend(range(first, stop))
        meta.append((psec, parent_x, wire, nown + 1))
        sec_type.append(typ_l[first])

    points = np.column_stack([samples.xyz, samples.diam])[np.asarray(gather, dtype=np.int64)]
    offsets = np.cumsum([0] + [m[3] for m in meta])
    sections = []
    for isec, (psec, parent_x, wire, _) in enumerate(meta):
        pts = points[offsets[isec]:offsets[isec + 1]]
        if psec >= 0 and sec_type[psec] == 1 and sec_type[isec] != 1:
            pts[0, 3] = pts[1, 3]  # a neurite on the soma starts with its own diameter
        sections.append(RawSection(type=sec_type[isec], points=pts, parent=None if psec < 0 else psec,
                                   parent_x=parent_x, first=wire, line=line_l[bounds[isec]]))
    return sections


def _parent_index(pid: np.ndarray, index_of: np.ndarray) -> np.ndarray:
    ok = (pid >= 0) & (pid < index_of.size)
    return np.where(ok, index_of[np.where(ok, pid, 0)], -1)


def _neuromorpho_sphere(samples: SwcSamples, pix: np.ndarray, nchild: np.ndarray) -> bool:
    """NEURON's special case for NeuroMorpho.Org's three-point soma (``neuromorph_3point_soma``)."""
    if samples.id.size < 3 or pix[1] != 0 or pix[2] != 0 or nchild[1] != 0 or nchild[2] != 0:
        return False
    d = samples.diam
    if d[1] != d[0] or d[2] != d[0]:
        return False
    xyz = samples.xyz
    length = float(np.sqrt(np.sum((xyz[1] - xyz[0]) ** 2))) + float(np.sqrt(np.sum((xyz[2] - xyz[0]) ** 2)))
    return bool(d[0] > 0) and abs(length / d[0] - 1) < 0.01  # (NEURON divides by 0 and crashes on d = 0)


def _report_roots(samples: SwcSamples, pix: np.ndarray, log: ImportLog) -> None:
    """Repairs NEURON makes to samples that are not children of the first root."""
    roots = np.flatnonzero(samples.pid < 0)
    missing = np.flatnonzero((samples.pid >= 0) & (pix < 0))
    if roots.size > 1:
        lines = ", ".join(str(int(samples.line[k])) for k in roots[1:6])
        log.repair(f"{roots.size} root samples (parent -1); NEURON attaches every tree after the first to the "
                   f"first root section (extra roots at line(s) {lines})", int(samples.line[roots[1]]))
    if missing.size:
        k = int(missing[0])
        # NEURON attaches a sample whose missing parent id is below its own to the first root section; one
        # whose missing parent id is above its own stops NEURON's reader ("pid not less than id").
        what = ("NEURON attaches it to the first root section" if samples.pid[k] < samples.id[k] else
                "NEURON stops on this file (parent id not less than id); neurax attaches it to the first root "
                "section, as NEURON does where the missing parent id is the smaller")
        log.repair(f"sample {samples.id[k]} refers to parent {samples.pid[k]}, which does not exist "
                   f"({len(missing)} such sample(s)); {what}", int(samples.line[k]))
