"""NEURON's segment geometry from 3-D points (``treeset.cpp``) and its ``lambda_f`` / d_lambda rule.

Everything here reproduces NEURON's arithmetic step by step, so that segment area, axial resistance and
diameter agree with ``seg.area()``, ``seg.ri()`` and ``seg.diam`` to the last bits:

* arc lengths are accumulated in double from coordinate differences taken in float32 (NEURON stores
  3-D points as C ``float``);
* each half segment is integrated piecewise between the 3-D points and the half-segment boundaries,
  interpolating the diameter linearly (frusta, including the annulus of a diameter jump at a repeated
  point), with NEURON's clamps for zero lengths and diameters; sums run in NEURON's order.

All functions work on many sections at once: points of section ``k`` are ``points[offsets[k]:offsets[k+1]]``.
The integration pieces depend only on arc lengths, so :func:`piece_table` computes them once (numpy);
:func:`segment_geometry` then evaluates area, resistance and diameter from the diameters with any array
module (``numpy`` or ``jax.numpy``), which keeps gradients with respect to radii exact.

Units: um for lengths and diameters, um^2 for areas, ohm cm for Ra, uF/cm^2 for cm, megohm for
resistances, Hz for frequencies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurax.errors import DiscretizationError

__all__ = ["arc_lengths", "PieceTable", "piece_table", "segment_geometry", "SegmentGeometry", "lambda_f",
           "d_lambda_nseg", "NSEG_MAX", "NSEG_CAP", "DEFAULT_DIAM"]

#: NEURON's largest allowed nseg.
NSEG_MAX = 32767
#: d_lambda_nseg's rule value is capped here, far above any valid nseg, so that it cannot overflow int64.
NSEG_CAP = 2**40
#: NEURON's diameter (um) of a section that has none (``DEF_diam``).
DEFAULT_DIAM = 500.0
_PI = 3.14159265358979323846


def _offsets(n: int, offsets) -> np.ndarray:
    return np.array([0, n], dtype=np.int64) if offsets is None else np.asarray(offsets, dtype=np.int64)


def arc_lengths(points: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Cumulative arc length (um) along 3-D points, as NEURON's ``nrn_pt3dmodified`` computes it.

    Args:
        points: ``(n, >=3)`` array whose first three columns are x, y, z (float32 values).
        offsets: section boundaries (arc length restarts at 0 in each section); by default one section.

    Returns:
        ``(n,)`` float64 arc lengths.
    """
    xyz = np.asarray(points)[:, :3].astype(np.float32)
    step = np.diff(xyz, axis=0).astype(np.float64)  # the difference is taken in float, as in NEURON
    seg = np.sqrt(step[:, 0] * step[:, 0] + step[:, 1] * step[:, 1] + step[:, 2] * step[:, 2])
    offsets = _offsets(len(xyz), offsets)
    out = np.empty(len(xyz))
    for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        out[a] = 0.0
        np.cumsum(seg[a:b - 1], out=out[a + 1:b])  # sequential, like NEURON's running sum
    return out


@dataclass(frozen=True)
class PieceTable:
    """How NEURON splits sections into integration pieces for given nseg.

    Piece ``p`` runs from the previous piece's end (or the section's first point) to arc position
    ``x2[p]``, where the diameter is ``(1 - frac) |d[i0]| + frac |d[i1]|`` (global point indices), and
    belongs to half segment ``half[p]`` (global: ``2 k`` is the left half of segment ``k``, ``2 k + 1`` its
    right half; segments numbered section after section).

    Attributes:
        nseg: nseg of each section.
        seg_offsets: segments of section ``k`` are ``seg_offsets[k]:seg_offsets[k+1]``.
        ds: segment length L / nseg of each section (um).
        first: the first piece of each section (its start is the section's first point).
        first_point: global index of the first point of each piece's section.
        x1: arc position where each piece starts (um).
        x2, i0, i1, frac, half: see above.
    """

    nseg: np.ndarray
    seg_offsets: np.ndarray
    ds: np.ndarray
    first: np.ndarray
    first_point: np.ndarray
    x1: np.ndarray
    x2: np.ndarray
    i0: np.ndarray
    i1: np.ndarray
    frac: np.ndarray
    half: np.ndarray


def piece_table(arc: np.ndarray, nseg, offsets: np.ndarray | None = None) -> PieceTable:
    """The integration pieces NEURON's ``diam_from_list`` walks, for every section at once.

    Args:
        arc: arc lengths of the 3-D points (from :func:`arc_lengths`); at least two points per section.
        nseg: number of segments (one int, or one per section).
        offsets: section boundaries in ``arc``; by default one section.
    """
    arc = np.asarray(arc, dtype=np.float64)
    offsets = _offsets(len(arc), offsets)
    nsec = len(offsets) - 1
    npts = np.diff(offsets)
    if np.any(npts < 2):
        raise DiscretizationError("every section needs at least two 3-D points")
    nseg = np.broadcast_to(np.asarray(nseg, dtype=np.int64), (nsec,)).copy()
    seg_offsets = np.concatenate([[0], np.cumsum(nseg)])
    length = arc[offsets[1:] - 1]
    ds = length / nseg.astype(np.float64)
    # Half-segment boundaries, computed exactly as NEURON does: si = k ds; sip = si + ds/2; si = sip; ...
    nhalf = 2 * int(seg_offsets[-1])
    half_sec = np.repeat(np.arange(nsec), 2 * nseg)
    local = np.arange(nhalf) - 2 * seg_offsets[half_sec]
    d_half = ds[half_sec]
    left = (local // 2) * d_half + d_half / 2.0
    bounds = np.where(local % 2 == 1, left + d_half / 2.0, left)
    # Per section, the number of points with arc <= boundary (searchsorted 'right'), by one merge sort.
    pt_sec = np.repeat(np.arange(nsec), npts)
    keys_sec = np.concatenate([pt_sec, half_sec])
    keys_val = np.concatenate([arc, bounds])
    kind = np.concatenate([np.zeros(len(arc), np.int8), np.ones(nhalf, np.int8)])
    order = np.lexsort((kind, keys_val, keys_sec))
    count = np.cumsum(kind[order] == 0)
    where_b = np.empty(nhalf, np.int64)
    where_b[order[order >= len(arc)] - len(arc)] = np.flatnonzero(order >= len(arc))
    t_local = count[where_b] - offsets[half_sec]
    jp = np.clip(t_local, 1, npts[half_sec] - 1)  # local index of the point after the boundary
    # Points passed on the way to boundary m: jp[m-1] .. jp[m]-1 within the section (from point 1).
    first_half = 2 * seg_offsets[:-1]
    prev = np.concatenate([[1], jp[:-1]])
    prev[first_half] = 1
    consumed = jp - prev
    per_half = consumed + 1
    n_events = int(per_half.sum())
    ev_half = np.repeat(np.arange(nhalf), per_half)
    ev_start = np.concatenate([[0], np.cumsum(per_half)[:-1]])
    pos = np.arange(n_events) - ev_start[ev_half]
    is_point = pos < consumed[ev_half]
    sec = half_sec[ev_half]
    base = offsets[sec]
    k_point = base + prev[ev_half] + pos
    j1 = base + jp[ev_half]
    i1 = np.where(is_point, k_point, j1)
    i0 = np.where(is_point, k_point, j1 - 1)
    span = arc[i1] - arc[i0]
    tiny = np.abs(span) < 1e-10
    b = bounds[ev_half]
    frac = np.where(is_point | tiny, 1.0, (b - arc[i0]) / np.where(tiny, 1.0, span))
    x2 = np.where(is_point, arc[np.where(is_point, k_point, 0)], b)
    first = np.zeros(n_events, bool)
    first[ev_start[first_half]] = True
    x1 = np.concatenate([[0.0], x2[:-1]])
    x1 = np.where(first, arc[base], x1)
    return PieceTable(nseg=nseg, seg_offsets=seg_offsets, ds=ds, first=first, first_point=base, x1=x1, x2=x2,
                      i0=i0, i1=i1, frac=frac, half=ev_half)


@dataclass(frozen=True)
class SegmentGeometry:
    """Per-segment geometry, as NEURON reports it (segments numbered section after section).

    Attributes:
        area: membrane area of each segment (um^2), ``seg.area()``.
        diam: mean diameter of each segment (um), ``seg.diam``.
        r_left: axial resistance of each segment's left half (megohm).
        r_right: axial resistance of each segment's right half (megohm).
        seg_offsets: segments of section ``k`` are ``seg_offsets[k]:seg_offsets[k+1]``.
    """

    area: object
    diam: object
    r_left: object
    r_right: object
    seg_offsets: np.ndarray

    @property
    def g(self):
        """NEURON's ``NODERINV`` of each segment's node (uS): 1 / (previous right half + own left half).

        The first segment of a section has only its own left half (a child couples straight to the
        parent's node).
        """
        xp = _namespace(self.r_left)
        prev = xp.concatenate([xp.zeros(1, dtype=self.r_right.dtype), self.r_right[:-1]])
        first = np.zeros(int(self.seg_offsets[-1]), bool)
        first[self.seg_offsets[:-1]] = True
        prev = xp.where(first, 0.0, prev)
        return 1.0 / (prev + self.r_left)

    @property
    def ri(self):
        """``seg.ri()`` of each segment (megohm): the reciprocal of :attr:`g`."""
        return 1.0 / self.g

    @property
    def ri_end(self):
        """``sec(1).ri()`` of each section: last segment's right half, as NEURON reports it (megohm)."""
        return 1.0 / (1.0 / self.r_right[self.seg_offsets[1:] - 1])


def _namespace(array):
    if isinstance(array, (np.ndarray, list, tuple, float, int)):
        return np
    from neurax._jax import jnp

    return jnp


def segment_geometry(diam3d, table: PieceTable, Ra) -> SegmentGeometry:
    """Area, diameter and axial resistance of each segment from the 3-D point diameters.

    Args:
        diam3d: diameters of the 3-D points (um); negative values count as their absolute value, as in
            NEURON. A numpy or JAX array (JAX keeps the result differentiable).
        table: the sections' :class:`PieceTable`.
        Ra: axial resistivity (ohm cm), one value or one per section.

    Returns:
        The segments' :class:`SegmentGeometry`.
    """
    xp = _namespace(diam3d)
    d = xp.abs(xp.asarray(diam3d))
    y2 = (1.0 - table.frac) * d[table.i0] + table.frac * d[table.i1]
    y1 = xp.where(table.first, d[table.first_point], xp.concatenate([d[:1], y2[:-1]]))
    delta = table.x2 - table.x1
    diam_piece = (y2 + y1) * delta
    delta_c = np.maximum(delta, 1e-15)
    temp = y2 * y1 / delta_c
    temp = xp.where(temp == 0, 1e-15, temp)
    ri_piece = 1.0 / temp
    half = 0.5 * (y2 - y1)
    area_piece = (y2 + y1) * xp.sqrt(delta_c * delta_c + half * half)
    nseg_total = int(table.seg_offsets[-1])
    seg = table.half // 2
    if xp is np:  # bincount adds in input order: NEURON's sequential sums, bit for bit
        ri_half = np.bincount(table.half, weights=ri_piece, minlength=2 * nseg_total)
        area = np.bincount(seg, weights=area_piece, minlength=nseg_total)
        dsum = np.bincount(seg, weights=diam_piece, minlength=nseg_total)
    else:
        ri_half = xp.zeros(2 * nseg_total).at[table.half].add(ri_piece)
        area = xp.zeros(nseg_total).at[seg].add(area_piece)
        dsum = xp.zeros(nseg_total).at[seg].add(diam_piece)
    nsec = len(table.nseg)
    seg_sec = np.repeat(np.arange(nsec), table.nseg)
    ra = xp.broadcast_to(xp.asarray(Ra, dtype=d.dtype), (nsec,))
    scale = (ra / _PI * (4.0 * 0.01))[np.repeat(seg_sec, 2)]
    r = ri_half * scale
    ds = table.ds[seg_sec]
    # A zero-length section gives diam = 0/0; NEURON then keeps the diam it had: 500 um for a new section.
    diam = xp.where(ds > 0, dsum * (0.5 / np.where(ds > 0, ds, 1.0)), DEFAULT_DIAM)
    return SegmentGeometry(area=area * 0.5 * _PI, diam=diam, r_left=r[0::2], r_right=r[1::2],
                           seg_offsets=table.seg_offsets)


def lambda_f(arc: np.ndarray, diam3d: np.ndarray, freq: float, Ra, cm, offsets: np.ndarray | None = None,
             names: list[str] | None = None) -> np.ndarray:
    """NEURON's ``lambda_f(freq)``: the AC length constant (um) of each section from its 3-D points.

    Args:
        arc: arc lengths of the 3-D points (um).
        diam3d: diameters of the 3-D points (um).
        freq: frequency (Hz); NEURON's d_lambda rule uses 100.
        Ra: axial resistivity (ohm cm), one value or one per section.
        cm: specific capacitance (uF/cm^2), one value or one per section.
        offsets: section boundaries; by default one section.
        names: section names for the error message.

    Raises:
        DiscretizationError: a 3-D point other than a section's last has diameter 0, or a section has
            zero length (NEURON stops there too).
    """
    arc = np.asarray(arc, dtype=np.float64)
    offsets = _offsets(len(arc), offsets)
    nsec = len(offsets) - 1
    d = np.abs(np.asarray(diam3d, dtype=np.float64))
    last = np.zeros(len(arc), bool)
    last[offsets[1:] - 1] = True
    zero = np.flatnonzero((d < 1e-11) & ~last)  # hoc's == compares within 1e-11
    if zero.size:
        k = int(np.searchsorted(offsets, zero[0], side="right") - 1)
        name = names[k] if names else f"section {k}"
        raise DiscretizationError(f"{name}: 3-D point {int(zero[0] - offsets[k])} has diameter 0, so its length "
                                  "constant (lambda_f) is undefined; use a fixed nseg for this section")
    step = np.ones(len(arc), bool)
    step[offsets[:-1]] = False
    idx = np.flatnonzero(step)
    sec = np.searchsorted(offsets, idx, side="right") - 1
    terms = (arc[idx] - arc[idx - 1]) / np.sqrt(d[idx - 1] + d[idx])
    lam = np.bincount(sec, weights=terms, minlength=nsec)  # summed in order, as hoc does
    ra = np.broadcast_to(np.asarray(Ra, dtype=np.float64), (nsec,))
    c = np.broadcast_to(np.asarray(cm, dtype=np.float64), (nsec,))
    lam = lam * (np.sqrt(2) * 1e-5 * np.sqrt(4 * _PI * freq * ra * c))
    flat = np.flatnonzero((lam == 0) & (c != 0))
    if flat.size:
        name = names[int(flat[0])] if names else f"section {int(flat[0])}"
        raise DiscretizationError(f"{name} has zero length, so lambda_f divides by zero (as in NEURON); use a "
                                  "fixed nseg for this section")
    length = arc[offsets[1:] - 1]
    length = np.where(length > 1e-9, length, 1e-9)  # NEURON's L is at least 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c == 0, 1e10, length / lam)


def d_lambda_nseg(length, lam, d_lambda: float):
    """NEURON's d_lambda rule: the odd nseg giving segments no longer than ``d_lambda`` length constants.

    ``nseg = int((L / (d_lambda * lambda_f(100)) + 0.9) / 2) * 2 + 1`` (works elementwise on arrays).
    """
    value = (np.asarray(length, dtype=np.float64) / (d_lambda * np.asarray(lam)) + 0.9) / 2
    value = np.minimum(value, float(NSEG_CAP))  # NEURON rejects such an nseg too; here without an overflow
    return (np.trunc(value).astype(np.int64) * 2 + 1) if np.ndim(value) else int(value) * 2 + 1
