"""Soma contours to centroids, computed exactly as NEURON's Import3d does it.

A Neurolucida soma is an outline (a *contour*) or a stack of outlines at several depths. NEURON replaces it
by a centroid before it makes the soma section:

* one contour (:func:`contour2centroid`): the outline is resampled at 101 points evenly spaced along its
  length, the principal axes of those points are found, and the soma becomes 21 frusta along the major axis
  whose diameters are the contour's width across that axis;
* a stack (:func:`contourstack2centroid`): every contour becomes one point at its centre, with a diameter
  made from its mean radius and its perimeter.

The functions here follow ``Import3d_Section.contourcenter``, ``approximate_contour_by_circle``,
``stk_center`` and ``stk_triang_area`` (``import3d_sec.hoc``) and ``Import3d_GUI.contour2centroid`` /
``contourstack2centroid`` (``import3d_gui.hoc``) step by step, in the same floating-point order, so the
results equal NEURON's double values bit for bit. Three details matter for that:

* hoc's comparison operators are fuzzy: ``a < b`` means ``a < b - 1e-11`` (``float_epsilon``), ``a == b``
  means ``|a - b| <= 1e-11``; the helpers ``_lt``, ``_le``, ``_gt``, ``_eq`` reproduce them;
* ``Vector.sum``/``mean``/``dot``/``mag`` add left to right (``std::accumulate``), never pairwise;
* ``Matrix.symmeig`` is Eigen's general ``EigenSolver``; for symmetric outlines its rounding decides the axes,
  so :func:`_symmeig` repeats Eigen's operations one by one.

All coordinates are in um. Results are float64, before the ``%.8g``/float32 rounding that ``pt3dadd`` applies.
"""

from __future__ import annotations

import math

import numpy as np

from neurax.errors import MorphologyStructureError

__all__ = [
    "HOC_EPSILON",
    "contourcenter",
    "approximate_contour_by_circle",
    "stk_center",
    "stk_triang_area",
    "contour2centroid",
    "contourstack2centroid",
]

#: hoc's ``float_epsilon``: the tolerance of every hoc comparison operator.
HOC_EPSILON = 1e-11
#: hoc's ``PI``.
_PI = 3.14159265358979323846


def _lt(a: float, b: float) -> bool:
    """Hoc ``a < b``."""
    return a < b - HOC_EPSILON


def _le(a: float, b: float) -> bool:
    """Hoc ``a <= b``."""
    return a <= b + HOC_EPSILON


def _gt(a: float, b: float) -> bool:
    """Hoc ``a > b``."""
    return a > b + HOC_EPSILON


def _eq(a: float, b: float) -> bool:
    """Hoc ``a == b``."""
    return a <= b + HOC_EPSILON and a >= b - HOC_EPSILON


def _seq_sum(values) -> float:
    """Left-to-right sum starting from 0.0, like ``std::accumulate`` (not pairwise, not compensated)."""
    total = 0.0
    for v in values:
        total += v
    return total


def _mag3(a: float, b: float, c: float) -> float:
    """``Vector.mag`` of a 3-vector: ``sqrt(((0 + a*a) + b*b) + c*c)``."""
    return math.sqrt(a * a + b * b + c * c)


def _interpolate(xd: list[float], xs: list[float], ys_list: list[list[float]]) -> list[list[float]]:
    """``Vector.interpolate``: the table ``(xs, ys)`` sampled at ``xd`` (linear; ends held constant).

    Segments where ``xs`` does not increase are skipped, exactly like the C++ loop. Several ``ys`` are
    interpolated at once (the weights depend on ``xd`` and ``xs`` only).
    """
    nd, ns = len(xd), len(xs)
    out = [[0.0] * nd for _ in ys_list]
    i = 0
    while i < nd and xd[i] <= xs[0]:
        for o, ys in zip(out, ys_list, strict=True):
            o[i] = ys[0]
        i += 1
    s = 1
    while s < ns and i < nd:
        if xs[s] <= xs[s - 1]:
            s += 1
            continue
        while xd[i] <= xs[s]:
            thet = (xd[i] - xs[s - 1]) / (xs[s] - xs[s - 1])
            for o, ys in zip(out, ys_list, strict=True):
                o[i] = (1.0 - thet) * ys[s - 1] + thet * ys[s]
            i += 1
            if i >= nd:
                break
        s += 1
    while i < nd:
        for o, ys in zip(out, ys_list, strict=True):
            o[i] = ys[ns - 1]
        i += 1
    return out


def _xyz_lists(points) -> tuple[list[float], list[float], list[float]]:
    """The x, y and z columns of an ``(n, 3+)`` array as Python float lists."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3 or pts.shape[0] < 1:
        raise ValueError(f"a contour needs an (n, 3) or (n, 4) array of points, got shape {pts.shape}")
    return pts[:, 0].tolist(), pts[:, 1].tolist(), pts[:, 2].tolist()


def contourcenter(x, y, z) -> tuple[np.ndarray, np.ndarray]:
    """Centre of a contour and the contour resampled at 101 points (``Import3d_Section.contourcenter``).

    The perimeter is measured in the xy plane only (z is ignored) and along the *open* polyline from the
    first to the last point: the closing edge back to the first point is not part of it (a file that repeats
    the first point at the end closes the outline itself). The polyline is resampled at 101 positions
    ``k * L / 100`` (``Vector.indgen``) by ``Vector.interpolate``; the centre is the mean of those samples.

    Args:
        x: x coordinates of the contour points (um), n >= 1 of them.
        y: y coordinates (um).
        z: z coordinates (um).

    Returns:
        ``(center, resampled)``: the centre (3,) and the resampled points (101, 3), in um.
    """
    xs = [float(v) for v in x]
    ys = [float(v) for v in y]
    zs = [float(v) for v in z]
    n = len(xs)
    perim = [0.0] * n
    for i in range(1, n):
        dx = xs[i] - xs[i - 1]
        dy = ys[i] - ys[i - 1]
        perim[i] = perim[i - 1] + math.sqrt(dx * dx + dy * dy + 0.0 * 0.0)
    step = perim[n - 1] / 100
    pos = [float(k) * step + 0.0 for k in range(101)]
    xr, yr, zr = _interpolate(pos, perim, [xs, ys, zs])
    center = np.array([_seq_sum(xr) / 101, _seq_sum(yr) / 101, _seq_sum(zr) / 101])
    return center, np.column_stack([xr, yr, zr])


def approximate_contour_by_circle(points) -> tuple[np.ndarray, float]:
    """Centre and equivalent diameter of one contour (``approximate_contour_by_circle``).

    The "diameter" is NEURON's: the mean distance of the 101 resampled points from the centre plus
    ``perimeter / (2 pi)``, where the perimeter is the closed 3-D polygon (closing edge included).

    Args:
        points: ``(n, 3)`` or ``(n, 4)`` contour points (um); a 4th column is ignored.

    Returns:
        ``(center, diameter)`` in um.
    """
    x, y, z = _xyz_lists(points)
    n = len(x)
    perim = 0.0
    for i in range(n):
        j = (i + 1) % n
        dx, dy, dz = x[i] - x[j], y[i] - y[j], z[i] - z[j]
        perim += math.sqrt(dx * dx + dy * dy + dz * dz)
    center, res = contourcenter(x, y, z)
    cx, cy, cz = center.tolist()
    dist = [math.sqrt(((px - cx) * (px - cx) + (py - cy) * (py - cy)) + (pz - cz) * (pz - cz))
            for px, py, pz in res.tolist()]
    return center, _seq_sum(dist) / 101 + perim / (2 * _PI)


def stk_center(main, others) -> np.ndarray:
    """Centre of a soma contour stack (``Import3d_Section.stk_center``), in um.

    The centres of the contours (in stack order) form a polyline; the result is the point halfway along it.

    Args:
        main: points of the stack's first contour, ``(n, 3+)``.
        others: points of the other contours of the stack, in stack order.
    """
    centers = [contourcenter(*_xyz_lists(main))[0]]
    lengths = [0.0]
    total = 0.0
    for pts in others:
        c = contourcenter(*_xyz_lists(pts))[0]
        prev = centers[-1]
        centers.append(c)
        total += _mag3(c[0] - prev[0], c[1] - prev[1], c[2] - prev[2])
        lengths.append(total)
    half = total / 2
    if _eq(half, 0.0):
        return centers[0].copy()
    # Vector.indwhere(">", half) compares with hoc's tolerance too
    i = next((k for k, v in enumerate(lengths) if v > half + HOC_EPSILON), -1)
    if i <= 0:
        raise MorphologyStructureError(
            "the centres of the soma contour stack are too close together for NEURON's stk_center "
            f"(half length {half:g} um)")
    th = (half - lengths[i - 1]) / (lengths[i] - lengths[i - 1])
    a, b = centers[i], centers[i - 1]
    return np.array([th * a[j] + (1 - th) * b[j] for j in range(3)])


def _stack_indices(pts: np.ndarray, ref: np.ndarray) -> list[int]:
    """Point order of one stack contour for the triangulation (``stk_contour_indices``)."""
    n = pts.shape[0]
    idx = list(range(n))
    c = contourcenter(pts[:, 0], pts[:, 1], pts[:, 2])[0]
    a = pts[0, :3] - c
    b = pts[1, :3] - c if n > 1 else pts[0, :3] - c
    if _gt(a[0] * b[1] - a[1] * b[0], 0.0):
        idx.reverse()
    imin, dmin = -1, 1e9
    for i in range(n):
        p = pts[idx[i]]
        d = _mag3(p[0] - ref[0], p[1] - ref[1], p[2] - ref[2])
        if _lt(d, dmin):
            dmin, imin = d, i
    shift = (-imin) % n  # Vector.rotate(-imin)
    idx = idx[-shift:] + idx[:-shift] if shift else idx
    return idx + [idx[0]]


def _triangle_area(a: float, b: float, c: float) -> float:
    """Kahan's triangle area from three side lengths (``accurate_triangle_area``); raises if not a triangle."""
    s0, s1, s2 = sorted((a, b, c))
    if (s0 - (s2 - s1)) < 0:
        raise MorphologyStructureError(
            "NEURON's Import3d fails on this soma contour stack (accurate_triangle_area: not a triangle): two "
            "neighbouring contours give a degenerate triangle in NEURON's surface triangulation",
            hint="move the contours of the stack apart in z or remove a duplicate point")
    return 0.25 * math.sqrt((s2 + (s1 + s0)) * (s0 - (s2 - s1)) * (s0 + (s2 - s1)) * (s2 + (s1 - s0)))


def _pair_area(p1: np.ndarray, p2: np.ndarray) -> float:
    """Triangulated band area between two neighbouring stack contours (``mk_stk_triang_vec`` + area1)."""
    ref = p1[0, :3]
    i1 = _stack_indices(p1, ref)
    i2 = _stack_indices(p2, ref)
    n1, n2 = len(i1) - 1, len(i2) - 1
    i = j = 0
    trv: list[int] = []
    while i < n1 or j < n2:
        trv += [i1[i], i2[j]]
        if i < n1 and j < n2:
            a, b = p1[i1[i]], p2[i2[j + 1]]
            d1 = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
            a, b = p1[i1[i + 1]], p2[i2[j]]
            d2 = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
            if _lt(d2, d1):
                i += 1
            else:
                j += 1
        elif i < n1:
            i += 1
        else:
            j += 1
    trv += [i1[i], i2[j]]

    def edge(u: np.ndarray, v: np.ndarray) -> float:
        return _mag3(u[0] - v[0], u[1] - v[1], u[2] - v[2])

    k1, k2 = trv[0], trv[1]
    side_a = edge(p1[k1], p2[k2])
    area = 0.0
    for k in range(2, len(trv), 2):
        j1, j2 = trv[k], trv[k + 1]
        side_b = edge(p1[j1], p2[j2])
        side_c = edge(p2[k2], p2[j2]) if k1 == j1 else edge(p1[k1], p1[j1])
        area += _triangle_area(side_a, side_b, side_c)
        k1, k2, side_a = j1, j2, side_b
    return area


def stk_triang_area(main, others) -> float:
    """Lateral area (um2) of NEURON's triangulation of a contour stack (``stk_triang_area``).

    NEURON computes (and only prints) this when it instantiates a stack; it fails with "not a triangle" when
    rounding makes one of the triangles degenerate. The same failure is raised here as
    :class:`~neurax.errors.MorphologyStructureError`.
    """
    stack = [np.asarray(main, dtype=np.float64)] + [np.asarray(p, dtype=np.float64) for p in others]
    return _seq_sum(_pair_area(stack[k - 1], stack[k]) for k in range(1, len(stack)))


# ---------------------------------------------------------------------------------------------------------
# Matrix.symmeig: Eigen's EigenSolver, step by step
# ---------------------------------------------------------------------------------------------------------
# NEURON 9's Matrix.symmeig runs Eigen::EigenSolver<MatrixXd> (a general, non-symmetric solver): real Schur
# form by Hessenberg reduction and Francis double-shift QR, then eigenvectors by back substitution. For nearly
# symmetric contours (squares, circles) the eigenvectors are decided by rounding, so the same operations are
# repeated here in the same order (Eigen 3.4; SSE2 without FMA, as in the NEURON wheels). The result equals
# NEURON's bit for bit on every symmetric 3x3 matrix tried (tests/io/test_contour.py).

_DBL_EPS = 2.220446049250313e-16
_DBL_MIN = 2.2250738585072014e-308


def _householder(v: list[float]) -> tuple[list[float], float, float]:
    """``makeHouseholder``: essential part, tau and beta of the reflector that maps v onto (beta, 0, ...)."""
    c0 = v[0]
    tail = v[1:]
    sq = 0.0
    if tail:
        sq = tail[0] * tail[0]
        if len(tail) == 2:
            sq = sq + tail[1] * tail[1]
    if sq <= _DBL_MIN:
        return [0.0] * len(tail), 0.0, c0
    beta = math.sqrt(c0 * c0 + sq)
    if c0 >= 0.0:
        beta = -beta
    den = c0 - beta
    return [t / den for t in tail], (beta - c0) / beta, beta


def _reflect_rows(m: list[list[float]], r0: int, c0: int, nr: int, nc: int, ess: list[float], tau: float) -> None:
    """``applyHouseholderOnTheLeft`` on the block of m at (r0, c0) of size nr x nc."""
    if nr == 1:
        f = 1.0 - tau
        for c in range(c0, c0 + nc):
            m[r0][c] = m[r0][c] * f
        return
    if tau == 0.0:
        return
    for c in range(c0, c0 + nc):
        s = 0.0
        for k, e in enumerate(ess):
            s = s + e * m[r0 + 1 + k][c]
        tmp = s + m[r0][c]
        m[r0][c] = m[r0][c] - tau * tmp
        for k, e in enumerate(ess):
            m[r0 + 1 + k][c] = m[r0 + 1 + k][c] - tmp * (tau * e)


def _reflect_cols(m: list[list[float]], r0: int, c0: int, nr: int, nc: int, ess: list[float], tau: float) -> None:
    """``applyHouseholderOnTheRight`` on the block of m at (r0, c0) of size nr x nc."""
    if nc == 1:
        f = 1.0 - tau
        for r in range(r0, r0 + nr):
            m[r][c0] = m[r][c0] * f
        return
    if tau == 0.0:
        return
    for r in range(r0, r0 + nr):
        s = 0.0
        for k, e in enumerate(ess):
            s = s + m[r][c0 + 1 + k] * e
        tmp = s + m[r][c0]
        m[r][c0] = m[r][c0] - tau * tmp
        tt = tau * tmp
        for k, e in enumerate(ess):
            m[r][c0 + 1 + k] = m[r][c0 + 1 + k] - e * tt


def _givens(p: float, q: float) -> tuple[float, float]:
    """``JacobiRotation::makeGivens`` (real case): c and s."""
    if q == 0.0:
        return (-1.0 if p < 0.0 else 1.0), 0.0
    if p == 0.0:
        return 0.0, (1.0 if q < 0.0 else -1.0)
    if abs(p) > abs(q):
        t = q / p
        u = math.sqrt(1.0 + t * t)
        u = -u if p < 0.0 else u
        c = 1.0 / u
        return c, -t * c
    t = p / q
    u = math.sqrt(1.0 + t * t)
    u = -u if q < 0.0 else u
    s = -1.0 / u
    return -t * s, s


def _rotate(m: list[list[float]], cells_x: list[tuple[int, int]], cells_y: list[tuple[int, int]],
            c: float, s: float) -> None:
    """``apply_rotation_in_the_plane``: x <- c x + s y, y <- -s x + c y on pairs of cells of m."""
    if c == 1.0 and s == 0.0:
        return
    for (rx, cx), (ry, cy) in zip(cells_x, cells_y, strict=True):
        x, y = m[rx][cx], m[ry][cy]
        m[rx][cx] = c * x + s * y
        m[ry][cy] = -s * x + c * y


def _packet_sum(vals: list[float], offset: int) -> float:
    """Eigen's vectorised sum of a short column (2-double packets): the order depends on memory alignment."""
    start = offset % 2  # index of the first 16-byte aligned element
    if len(vals) - start >= 2:
        res = vals[start] + vals[start + 1]
        for i in range(start):
            res = res + vals[i]
        for i in range(start + 2, len(vals)):
            res = res + vals[i]
        return res
    res = vals[0]
    for v in vals[1:]:
        res = res + v
    return res


def _schur(a: list[list[float]]) -> tuple[list[list[float]], list[list[float]]]:
    """``RealSchur::compute``: T (quasi-triangular) and U with a = U T U^T, for a 3x3 matrix."""
    n = 3
    scale = max(abs(v) for row in a for v in row)
    if scale < _DBL_MIN:
        return [[0.0] * n for _ in range(n)], [[float(i == j) for j in range(n)] for i in range(n)]
    h = [[v / scale for v in row] for row in a]
    # HessenbergDecomposition
    coeffs = []
    for i in range(n - 1):
        rem = n - i - 1
        ess, tau, beta = _householder([h[i + 1 + k][i] for k in range(rem)])
        h[i + 1][i] = beta
        for k, e in enumerate(ess):
            h[i + 2 + k][i] = e
        coeffs.append(tau)
        _reflect_rows(h, i + 1, i + 1, rem, rem, ess, tau)
        _reflect_cols(h, 0, i + 1, n, rem, ess, tau)
    u = [[float(i == j) for j in range(n)] for i in range(n)]
    for k in range(n - 2, -1, -1):  # HouseholderSequence::evalTo
        corner = n - k - 1
        _reflect_rows(u, n - corner, n - corner, corner, corner, [h[k + 2 + m][k] for m in range(corner - 1)],
                      coeffs[k])
    t = [row[:] for row in h]
    for i in range(2, n):
        for j in range(i - 1):
            t[i][j] = 0.0
    # computeFromHessenberg
    norm = 0.0
    for j in range(n):
        norm += _packet_sum([abs(t[r][j]) for r in range(min(n, j + 2))], j * n)
    tiny = max(norm * (_DBL_EPS * _DBL_EPS), _DBL_MIN)
    iu, it, total, exshift = n - 1, 0, 0, 0.0
    while norm != 0.0 and iu >= 0:
        il = iu
        while il > 0:
            s = max((abs(t[il - 1][il - 1]) + abs(t[il][il])) * _DBL_EPS, tiny)
            if abs(t[il][il - 1]) <= s:
                break
            il -= 1
        if il == iu:  # one root
            t[iu][iu] = t[iu][iu] + exshift
            if iu > 0:
                t[iu][iu - 1] = 0.0
            iu, it = iu - 1, 0
        elif il == iu - 1:  # two roots: splitOffTwoRows
            p = 0.5 * (t[iu - 1][iu - 1] - t[iu][iu])
            q = p * p + t[iu][iu - 1] * t[iu - 1][iu]
            t[iu][iu] += exshift
            t[iu - 1][iu - 1] += exshift
            if q < 0.0:
                raise MorphologyStructureError("the soma contour's scatter matrix has complex eigenvalues")
            z = math.sqrt(abs(q))
            c, s = _givens(p + z if p >= 0.0 else p - z, t[iu][iu - 1])
            _rotate(t, [(iu - 1, j) for j in range(iu - 1, n)], [(iu, j) for j in range(iu - 1, n)], c, -s)
            _rotate(t, [(r, iu - 1) for r in range(iu + 1)], [(r, iu) for r in range(iu + 1)], c, -s)
            t[iu][iu - 1] = 0.0
            _rotate(u, [(r, iu - 1) for r in range(n)], [(r, iu) for r in range(n)], c, -s)
            if iu > 1:
                t[iu - 1][iu - 2] = 0.0
            iu, it = iu - 2, 0
        else:  # Francis double-shift QR step
            shift = [t[iu][iu], t[iu - 1][iu - 1], t[iu][iu - 1] * t[iu - 1][iu]]
            if it == 10:
                exshift += shift[0]
                for i in range(iu + 1):
                    t[i][i] -= shift[0]
                s = abs(t[iu][iu - 1]) + abs(t[iu - 1][iu - 2])
                shift = [0.75 * s, 0.75 * s, -0.4375 * s * s]
            if it == 30:
                s = (shift[1] - shift[0]) / 2.0
                s = s * s + shift[2]
                if s > 0.0:
                    s = math.sqrt(s)
                    if shift[1] < shift[0]:
                        s = -s
                    s = s + (shift[1] - shift[0]) / 2.0
                    s = shift[0] - shift[2] / s
                    exshift += s
                    for i in range(iu + 1):
                        t[i][i] -= s
                    shift = [0.964, 0.964, 0.964]
            it += 1
            total += 1
            if total > 40 * n:
                raise MorphologyStructureError("the eigen decomposition of the soma contour did not converge")
            im = iu - 2
            while True:  # initFrancisQRStep
                tmm = t[im][im]
                r = shift[0] - tmm
                s = shift[1] - tmm
                v = [(r * s - shift[2]) / t[im + 1][im] + t[im][im + 1], t[im + 1][im + 1] - tmm - r - s,
                     t[im + 2][im + 1]]
                if im == il:
                    break
                lhs = t[im][im - 1] * (abs(v[1]) + abs(v[2]))
                rhs = v[0] * (abs(t[im - 1][im - 1]) + abs(tmm) + abs(t[im + 1][im + 1]))
                if abs(lhs) < _DBL_EPS * rhs:
                    break
                im -= 1
            for k in range(im, iu - 1):  # performFrancisQRStep
                vec = v if k == im else [t[k][k - 1], t[k + 1][k - 1], t[k + 2][k - 1]]
                ess, tau, beta = _householder(vec)
                if beta != 0.0:
                    if k == im and k > il:
                        t[k][k - 1] = -t[k][k - 1]
                    elif k != im:
                        t[k][k - 1] = beta
                    _reflect_rows(t, k, k, 3, n - k, ess, tau)
                    _reflect_cols(t, 0, k, min(iu, k + 3) + 1, 3, ess, tau)
                    _reflect_cols(u, 0, k, n, 3, ess, tau)
            ess, tau, beta = _householder([t[iu - 1][iu - 2], t[iu][iu - 2]])
            if beta != 0.0:
                t[iu - 1][iu - 2] = beta
                _reflect_rows(t, iu - 1, iu - 1, 2, n - iu + 1, ess, tau)
                _reflect_cols(t, 0, iu - 1, iu + 1, 2, ess, tau)
                _reflect_cols(u, 0, iu - 1, n, 2, ess, tau)
            for i in range(im + 2, iu + 1):
                t[i][i - 2] = 0.0
                if i > im + 2:
                    t[i][i - 3] = 0.0
    return [[v * scale for v in row] for row in t], u


def _symmeig(a: np.ndarray) -> tuple[list[float], list[list[float]]]:
    """NEURON's ``Matrix.symmeig`` of a 3x3 matrix: eigenvalues (Eigen's order) and eigenvectors (columns)."""
    n = 3
    t, u = _schur([[float(v) for v in row] for row in a])
    values = []
    for i in range(n):
        if i < n - 1 and t[i + 1][i] != 0.0:
            raise MorphologyStructureError("the soma contour's scatter matrix has complex eigenvalues")
        values.append(t[i][i])
    # EigenSolver::doComputeEigenvectors: back substitution in T, then back to the original basis
    norm = 0.0
    for j in range(n):
        row = [abs(v) for v in t[j][max(j - 1, 0):]]
        s = row[0]
        for v in row[1:]:
            s = s + v
        norm += s
    if norm != 0.0:
        for col in range(n - 1, -1, -1):
            p = values[col]
            low = col
            t[col][col] = 1.0
            for i in range(col - 1, -1, -1):
                w = t[i][i] - p
                r = t[i][low] * t[low][col]
                for c in range(low + 1, col + 1):
                    r = r + t[i][c] * t[c][col]
                low = i
                t[i][col] = -r / w if w != 0.0 else -r / (_DBL_EPS * norm)
                big = abs(t[i][col])
                if (_DBL_EPS * big) * big > 1.0:
                    for rr in range(i, n):
                        t[rr][col] /= big
        for j in range(n - 1, -1, -1):
            new = []
            for r in range(n):
                s = 0.0
                for k in range(j + 1):
                    s = s + u[r][k] * t[k][j]
                new.append(0.0 + s)
            for r in range(n):
                u[r][j] = new[r]
    # eigenvectors(): normalise each column; Eigen divides complex numbers as (x * s) / (s * s)
    vectors = [[0.0] * n for _ in range(n)]
    for j in range(n):
        col = [u[r][j] for r in range(n)]
        z = col[0] * col[0]
        for v in col[1:]:
            z = z + v * v
        if z > 0.0:
            s = math.sqrt(z)
            col = [(v * s) / (s * s) for v in col]
        for r in range(n):
            vectors[r][j] = col[r]
    return values, vectors


def _prune_to_increasing(pos: list[float], rad: list[float]) -> None:
    """Drop points until ``pos`` increases (hoc's backward loop in ``contour2centroid``, in place)."""
    j = len(pos) - 1
    while j > 0:
        if _le(pos[j], pos[j - 1]):
            del pos[j]
            del rad[j]
            if j != len(pos):
                j += 1
        j -= 1


def _indgen(start: float, stop: float, step: float) -> list[float]:
    """``Vector.indgen(start, stop, step)``: ``floor((stop - start)/step + 1e-9) + 1`` values ``i*step + start``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        count = math.floor((stop - start) / step + 1e-9) + 1 if step != 0 else math.nan
    if not math.isfinite(count) or count < 0:
        raise MorphologyStructureError(
            "the soma contour is degenerate: its points project onto a single position along the major axis, "
            "so NEURON's contour2centroid cannot resample it")
    return [float(i) * step + start for i in range(int(count))]


def contour2centroid(points) -> np.ndarray:
    """Centroid of one soma contour: 21 points along its major axis (``Import3d_GUI.contour2centroid``).

    Steps (NEURON's): resample the contour (:func:`contourcenter`); scatter matrix of the 101 samples about
    their mean; major axis = eigenvector of the largest eigenvalue, flipped so that its largest component
    is positive; minor axis = the middle eigenvector with z set to 0, normalised. Project the samples on both
    axes, cut the outline at the extreme projections into two sides, make each side strictly increasing
    (hoc's pruning loop), resample both at 21 positions from the second smallest to the second largest
    projection, and take diameter = ``|r1 - r2|``; the two end diameters are averaged with their neighbours.

    The eigenvectors come from a step-by-step copy of the Eigen solver behind NEURON's ``Matrix.symmeig``
    (:func:`_symmeig`): for symmetric outlines rounding decides the axes, and so the result.

    Args:
        points: ``(n, 3)`` or ``(n, 4)`` contour points in um (a diameter column is ignored), n >= 3.

    Returns:
        ``(21, 4)`` float64 array of x, y, z, diameter (um).
    """
    x, y, z = _xyz_lists(points)
    mean, res = contourcenter(x, y, z)
    centred = (res - mean).T  # 3 x 101, rows x, y, z
    rows = [r.tolist() for r in centred]
    scatter = np.zeros((3, 3))
    for i in range(3):
        for j in range(i, 3):
            scatter[i, j] = scatter[j, i] = _seq_sum(a * b for a, b in zip(rows[i], rows[j], strict=True))
    values, vectors = _symmeig(scatter)
    imax = values.index(max(values))
    imin = values.index(min(values))
    if imin == imax:  # NEURON fails here (Matrix.getcol(3): index out of range)
        raise MorphologyStructureError("the soma contour is degenerate (all its points coincide), so NEURON's "
                                       "contour2centroid cannot find its axes")
    major = np.array([row[imax] for row in vectors])
    absmajor = np.abs(major).tolist()
    if _lt(major[absmajor.index(max(absmajor))], 0.0):
        major = -major
    minor = np.array([row[3 - imin - imax] for row in vectors])
    minor[2] = 0.0
    minor_mag = _mag3(*minor.tolist())
    if _lt(minor_mag / (_mag3(*major.tolist()) + 1e-100), 1e-6):
        raise MorphologyStructureError("Failed to compute soma centroid from contour (NEURON's contour2centroid: "
                                       "the contour's minor axis is perpendicular to the xy plane)")
    minor = minor / minor_mag
    mx, my, mz = major.tolist()
    nx, ny, nz = minor.tolist()
    pos = [px * mx + py * my + pz * mz for px, py, pz in centred.T.tolist()]
    rad = [px * nx + py * ny + pz * nz for px, py, pz in centred.T.tolist()]
    k = pos.index(max(pos))
    pos = pos[k:] + pos[:k]
    rad = rad[k:] + rad[:k]
    k = pos.index(min(pos))
    side2, rad2 = pos[k:], rad[k:]
    side1, rad1 = pos[:k][::-1], rad[:k][::-1]
    _prune_to_increasing(side1, rad1)
    _prune_to_increasing(side2, rad2)
    both = sorted(side1 + side2)
    if len(both) < 2:
        raise MorphologyStructureError("the soma contour is degenerate (too few distinct points along its major "
                                       "axis for NEURON's contour2centroid)")
    lo, hi = both[1], both[-2]
    grid = _indgen(lo, hi, (hi - lo) / 20)
    (r1,) = _interpolate(grid, side1, [rad1])
    (r2,) = _interpolate(grid, side2, [rad2])
    cx, cy, cz = mean.tolist()
    out = np.empty((len(grid), 4))
    for i, t in enumerate(grid):
        out[i, 0] = mx * t + cx
        out[i, 1] = my * t + cy
        out[i, 2] = mz * t + cz
        out[i, 3] = abs(r1[i] - r2[i])
    out[0, 3] = (out[0, 3] + out[1, 3]) / 2
    out[-1, 3] = (out[-1, 3] + out[-2, 3]) / 2
    return out


def contourstack2centroid(main, others) -> np.ndarray:
    """Centroid of a soma contour stack: one point per contour (``Import3d_GUI.contourstack2centroid``).

    Each contour becomes its :func:`approximate_contour_by_circle` centre and diameter, in stack order. Like
    NEURON, the stack's triangulated area (:func:`stk_triang_area`) is computed first, so a stack that makes
    NEURON fail raises :class:`~neurax.errors.MorphologyStructureError` here too.

    Args:
        main: points of the stack's main contour, ``(n, 3+)`` (um).
        others: points of the subsidiary contours, in stack order.

    Returns:
        ``(1 + len(others), 4)`` float64 array of x, y, z, diameter (um).
    """
    stk_triang_area(main, others)
    rows = []
    for pts in [main, *others]:
        center, diam = approximate_contour_by_circle(pts)
        rows.append([center[0], center[1], center[2], diam])
    return np.array(rows, dtype=np.float64)
