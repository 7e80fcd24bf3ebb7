"""Segment geometry: the vectorised integration against a literal transcription of NEURON's walk."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurax.geometry import arc_lengths, d_lambda_nseg, lambda_f, piece_table, segment_geometry
from neurax.io.import3d import hoc_pt3d


def neuron_walk(arc, diam, nseg, ra):
    """NEURON's diam_from_list, one piece at a time (the specification the fast version must meet)."""
    npt = len(arc)
    ds = arc[-1] / nseg
    j, x1, y1 = 0, arc[0], abs(diam[0])
    areas, diams, rl, rr = [], [], [], []
    for inode in range(nseg):
        si = inode * ds
        area = dsum = 0.0
        for ihalf in range(2):
            ri = 0.0
            sip = si + ds / 2.0
            while True:
                jp = j + 1
                xj, xjp = arc[j], arc[jp]
                if xjp > sip or jp == npt - 1:
                    frac = 1.0 if abs(xjp - xj) < 1e-10 else (sip - xj) / (xjp - xj)
                    x2, y2, jnext = sip, (1 - frac) * abs(diam[j]) + frac * abs(diam[jp]), j
                else:
                    x2, y2, jnext = xjp, abs(diam[jp]), jp
                delta = x2 - x1
                dsum += (y2 + y1) * delta
                delta = max(delta, 1e-15) if delta >= 1e-15 else 1e-15
                temp = y2 * y1 / delta
                ri += 1 / (temp if temp != 0 else 1e-15)
                area += (y2 + y1) * math.sqrt(delta * delta + (0.5 * (y2 - y1)) ** 2)
                x1, y1 = x2, y2
                if j == jnext:
                    break
                j = jnext
            (rl if ihalf == 0 else rr).append(ri * ra / math.pi * 0.04)
            si = sip
        areas.append(area * 0.5 * math.pi)
        diams.append(dsum * 0.5 / ds)
    return np.array(areas), np.array(diams), np.array(rl), np.array(rr)


@pytest.mark.parametrize("seed", range(40))
def test_pieces_reproduce_neurons_walk(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    xyz = np.cumsum(rng.normal(size=(n, 3)) * rng.uniform(0, 5), axis=0)
    if seed % 3 == 0:  # repeated points: zero-length pieces with diameter jumps
        xyz[rng.integers(1, n)] = xyz[rng.integers(0, n - 1)]
    diam = rng.uniform(0, 4, size=n) * (rng.uniform(size=n) > 0.1)
    points = hoc_pt3d(np.column_stack([xyz, diam]))
    arc = arc_lengths(points)
    if arc[-1] == 0:
        return
    for nseg in (1, 2, 3, 7, int(rng.integers(1, 40))):
        want = neuron_walk(arc, points[:, 3], nseg, 123.0)
        got = segment_geometry(points[:, 3], piece_table(arc, nseg), 123.0)
        for a, b in zip((got.area, got.diam, got.r_left, got.r_right), want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)


def test_cylinder_geometry_is_textbook():
    points = np.array([[0, 0, 0, 2.0], [10, 0, 0, 2.0]])
    geo = segment_geometry(points[:, 3], piece_table(arc_lengths(points), 2), 100.0)
    np.testing.assert_allclose(geo.area, [math.pi * 2 * 5] * 2)
    np.testing.assert_allclose(geo.diam, [2, 2])
    half = 0.01 * 100.0 * 2.5 / (math.pi * 1.0)  # 0.01 Ra (L/2nseg) / (pi r^2), megohm
    np.testing.assert_allclose(geo.r_left, [half, half])
    np.testing.assert_allclose(geo.ri, [half, 2 * half])


def test_jax_geometry_equals_numpy_and_has_gradients():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    points = hoc_pt3d(np.array([[0, 0, 0, 2.0], [3, 1, 0, 1.5], [7, 1, 2, 1.0], [12, 0, 2, 0.5]]))
    table = piece_table(arc_lengths(points), 5)
    ref = segment_geometry(points[:, 3], table, 80.0)
    got = segment_geometry(jnp.asarray(points[:, 3]), table, 80.0)
    np.testing.assert_allclose(np.asarray(got.area), ref.area, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(got.ri), ref.ri, rtol=1e-14)
    def total(scale):
        geo = segment_geometry(jnp.asarray(points[:, 3]) * scale, table, 80.0)
        return geo.area.sum() + geo.ri.sum()

    h = 1e-6
    fd = (total(1.0 + h) - total(1.0 - h)) / (2 * h)
    np.testing.assert_allclose(jax.grad(total)(1.0), fd, rtol=1e-7)


def test_hoc_pt3d_rounding_equals_printf_then_float32():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(size=20000) * 10.0 ** rng.integers(-6, 6, size=20000),
                             [0.0, -0.0, 1e-30, 123456789.123, 0.5, 99999999.5, 1e8, 9.9999999e-5]])
    want = np.array([float(f"{v:.8g}") for v in values], dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(hoc_pt3d(values), want)


def test_lambda_f_and_d_lambda():
    points = np.array([[0, 0, 0, 1.0], [100, 0, 0, 1.0]])
    arc = arc_lengths(points)
    lam = float(lambda_f(arc, points[:, 3], 100, 100, 1)[0])
    # a cylinder: lambda_f = 1e5 sqrt(d / (4 pi f Ra cm))
    assert lam == pytest.approx(1e5 * math.sqrt(1 / (4 * math.pi * 100 * 100 * 1)), rel=1e-12)
    assert d_lambda_nseg(100.0, lam, 0.1) == int((100 / (0.1 * lam) + 0.9) / 2) * 2 + 1
