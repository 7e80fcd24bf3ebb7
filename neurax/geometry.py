"""NEURON's segment geometry from 3-D points (``treeset.cpp``) and its ``lambda_f`` / d_lambda rule.

Everything here reproduces NEURON's arithmetic step by step, so that segment area, axial resistance and
diameter agree with ``seg.area()``, ``seg.ri()`` and ``seg.diam`` to the last bits:

* arc lengths are accumulated in double from coordinate differences taken in float32 (NEURON stores
  3-D points as C ``float``);
* each half segment is integrated piecewise between the 3-D points and the half-segment boundaries,
  interpolating the diameter linearly (frusta, including the annulus of a diameter jump at a repeated
  point), with NEURON's clamps for zero lengths and diameters.

The integration pieces depend only on arc lengths, so :func:`piece_table` computes them once (numpy);
:func:`segment_geometry` then evaluates area, resistance and diameter from the diameters with any array
module (``numpy`` or ``jax.numpy``), which is how gradients with respect to radii stay exact.

Units: um for lengths and diameters, um^2 for areas, ohm cm for Ra, uF/cm^2 for cm, megohm for
resistances, Hz for frequencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neurax.errors import DiscretizationError

__all__ = ["arc_lengths", "PieceTable", "piece_table", "segment_geometry", "SegmentGeometry", "lambda_f",
           "d_lambda_nseg", "NSEG_MAX"]

#: NEURON's largest allowed nseg.
NSEG_MAX = 32767
#: NEURON's diameter (um) of a section that has none (``DEF_diam``).
DEFAULT_DIAM = 500.0
_PI = 3.14159265358979323846


def arc_lengths(points: np.ndarray) -> np.ndarray:
    """Cumulative arc length (um) along 3-D points, as NEURON's ``nrn_pt3dmodified`` computes it.

    Args:
        points: ``(n, >=3)`` array whose first three columns are x, y, z (float32 values).

    Returns:
        ``(n,)`` float64 arc lengths starting at 0.
    """
    xyz = np.asarray(points)[:, :3].astype(np.float32)
    step = np.diff(xyz, axis=0).astype(np.float64)  # the difference is taken in float
    seg = np.sqrt(step[:, 0] * step[:, 0] + step[:, 1] * step[:, 1] + step[:, 2] * step[:, 2])
    out = np.empty(len(xyz))
    out[0] = 0.0
    np.cumsum(seg, out=out[1:])
    return out


@dataclass(frozen=True)
class PieceTable:
    """How NEURON splits one section into integration pieces for a given nseg.

    Piece ``p`` runs from the previous piece's end to ``(x2[p], y2(p))`` and belongs to half segment
    ``half[p]`` (``2 k`` is the left half of segment ``k``, ``2 k + 1`` its right half). The diameter at a
    piece end is ``(1 - frac) |d[i0]| + frac |d[i1]|``.

    Attributes:
        nseg: number of segments.
        ds: segment length L / nseg (um).
        x2: arc position of each piece end (um).
        i0, i1, frac: diameter interpolation at each piece end.
        half: half-segment index of each piece.
    """

    nseg: int
    ds: float
    x2: np.ndarray
    i0: np.ndarray
    i1: np.ndarray
    frac: np.ndarray
    half: np.ndarray


def piece_table(arc: np.ndarray, nseg: int) -> PieceTable:
    """The integration pieces NEURON's ``diam_from_list`` walks for one section.

    Args:
        arc: arc lengths of the section's 3-D points (from :func:`arc_lengths`), at least two.
        nseg: number of segments.
    """
    n = len(arc)
    if n < 2:
        raise DiscretizationError("a section needs at least two 3-D points")
    ds = arc[-1] / float(nseg)
    # Half-segment boundaries, accumulated exactly as NEURON does (si = k ds; sip = si + ds/2; ...).
    left = np.arange(nseg, dtype=np.float64) * ds + ds / 2.0
    bounds = np.empty(2 * nseg)
    bounds[0::2] = left
    bounds[1::2] = left + ds / 2.0
    jp = np.clip(np.searchsorted(arc, bounds, side="right"), 1, n - 1)
    # On the way to boundary m NEURON passes points jp[m-1] .. jp[m]-1 (from point 1): one piece each,
    # then one piece to the boundary itself.
    consumed = np.arange(1, jp[-1])
    owner = np.searchsorted(jp, consumed, side="right")
    nb = 2 * nseg
    half = np.concatenate([owner, np.arange(nb)])
    is_point = np.concatenate([np.ones(consumed.size, bool), np.zeros(nb, bool)])
    order = np.lexsort((~is_point, half))  # by half segment, points before the boundary
    half, is_point = half[order], is_point[order]
    k = np.concatenate([consumed, np.zeros(nb, np.int64)])[order]
    m = np.concatenate([np.zeros(consumed.size, np.int64), np.arange(nb)])[order]
    i1 = np.where(is_point, k, jp[m])
    i0 = np.where(is_point, k, jp[m] - 1)
    span = arc[i1] - arc[i0]
    safe = np.where(np.abs(span) < 1e-10, 1.0, span)
    frac = np.where(is_point | (np.abs(span) < 1e-10), 1.0, (bounds[m] - arc[i0]) / safe)
    x2 = np.where(is_point, arc[k], bounds[m])
    return PieceTable(nseg=nseg, ds=float(ds), x2=x2, i0=i0, i1=i1, frac=frac, half=half)


@dataclass(frozen=True)
class SegmentGeometry:
    """Per-segment geometry of one section, as NEURON reports it.

    Attributes:
        area: membrane area of each segment (um^2), ``seg.area()``.
        diam: mean diameter of each segment (um), ``seg.diam``.
        r_left: axial resistance of each segment's left half (megohm).
        r_right: axial resistance of each segment's right half (megohm).
    """

    area: np.ndarray
    diam: np.ndarray
    r_left: np.ndarray
    r_right: np.ndarray

    @property
    def ri(self):
        """``seg.ri()`` of each segment: the resistance to the previous node (megohm).

        For segment 0 this is only its own left half (a child attached mid-section couples straight to
        the parent's node); otherwise the right half of the previous segment plus its own left half.
        """
        xp = _namespace(self.r_left)
        prev = xp.concatenate([xp.zeros(1, dtype=self.r_right.dtype), self.r_right[:-1]])
        return 1.0 / (1.0 / (prev + self.r_left))

    @property
    def ri_end(self):
        """``sec(1).ri()``: resistance from the last segment's centre to the x = 1 end (megohm)."""
        return self.r_right[-1]


def _namespace(array):
    if isinstance(array, np.ndarray):
        return np
    import jax.numpy as jnp

    return jnp


def segment_geometry(diam3d, table: PieceTable, Ra) -> SegmentGeometry:
    """Area, diameter and axial resistance of each segment from the 3-D point diameters.

    Args:
        diam3d: diameters of the section's 3-D points (um); negative values count as their absolute
            value, as in NEURON. A numpy or JAX array (JAX keeps the result differentiable).
        table: the section's :class:`PieceTable`.
        Ra: axial resistivity (ohm cm).

    Returns:
        The segments' :class:`SegmentGeometry`.
    """
    xp = _namespace(diam3d) if not isinstance(diam3d, (list, tuple)) else np
    d = xp.abs(xp.asarray(diam3d))
    y2 = (1.0 - table.frac) * d[table.i0] + table.frac * d[table.i1]
    y1 = xp.concatenate([d[:1], y2[:-1]])
    x1 = np.concatenate([[0.0], table.x2[:-1]])
    delta = table.x2 - x1
    diam_piece = (y2 + y1) * delta
    delta_c = np.maximum(delta, 1e-15)
    temp = y2 * y1 / delta_c
    temp = xp.where(temp == 0, 1e-15, temp)
    ri_piece = 1.0 / temp
    half = 0.5 * (y2 - y1)
    area_piece = (y2 + y1) * xp.sqrt(delta_c * delta_c + half * half)
    nhalf = 2 * table.nseg
    seg = table.half // 2
    if xp is np:
        ri_half = np.bincount(table.half, weights=ri_piece, minlength=nhalf)
        area = np.bincount(seg, weights=area_piece, minlength=table.nseg)
        dsum = np.bincount(seg, weights=diam_piece, minlength=table.nseg)
    else:
        ri_half = xp.zeros(nhalf).at[table.half].add(ri_piece)
        area = xp.zeros(table.nseg).at[seg].add(area_piece)
        dsum = xp.zeros(table.nseg).at[seg].add(diam_piece)
    scale = Ra / _PI * (4.0 * 0.01)
    r = ri_half * scale
    # A zero-length section gives diam = 0/0; NEURON then keeps the diam it had, 500 um for a new section.
    diam = dsum * (0.5 / table.ds) if table.ds > 0 else dsum * 0 + DEFAULT_DIAM
    return SegmentGeometry(area=area * 0.5 * _PI, diam=diam, r_left=r[0::2], r_right=r[1::2])


def lambda_f(arc: np.ndarray, diam3d: np.ndarray, freq: float, Ra: float, cm: float,
             name: str = "section") -> float:
    """NEURON's ``lambda_f(freq)``: the AC length constant (um) of a section from its 3-D points.

    Args:
        arc: arc lengths of the 3-D points (um).
        diam3d: diameters of the 3-D points (um).
        freq: frequency (Hz); NEURON's d_lambda rule uses 100.
        Ra: axial resistivity (ohm cm).
        cm: specific capacitance (uF/cm^2).
        name: section name for the error message.

    Raises:
        DiscretizationError: a 3-D point other than the last has diameter 0 (NEURON stops there too).
    """
    if cm == 0:
        return 1e10
    d = np.abs(np.asarray(diam3d, dtype=np.float64))
    zero = np.flatnonzero(d[:-1] == 0)
    if zero.size:
        raise DiscretizationError(f"{name}: 3-D point {int(zero[0])} has diameter 0, so its length constant "
                                  "(lambda_f) is undefined; use a fixed nseg for this section")
    lam = 0.0
    for i in range(1, len(arc)):  # summed in order, as hoc does
        lam += (arc[i] - arc[i - 1]) / math.sqrt(d[i - 1] + d[i])
    lam *= math.sqrt(2) * 1e-5 * math.sqrt(4 * _PI * freq * Ra * cm)
    return arc[-1] / lam


def d_lambda_nseg(length: float, lam: float, d_lambda: float) -> int:
    """NEURON's d_lambda rule: the odd nseg giving segments no longer than ``d_lambda`` length constants.

    ``nseg = int((L / (d_lambda * lambda_f(100)) + 0.9) / 2) * 2 + 1``.
    """
    return int((length / (d_lambda * lam) + 0.9) / 2) * 2 + 1
