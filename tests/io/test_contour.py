"""Soma contour centroids (neurax.io.contour) against NEURON's Import3d.

Expected values in the NEURON-free tests were produced with NEURON 9.0.2 (``Matrix.symmeig``,
``Import3d_Section.contourcenter``/``approximate_contour_by_circle`` and ``Import3d_GUI.instantiate``); the
tests marked ``neuron`` recompute such values on random inputs and demand bit equality.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from neurax.errors import MorphologyStructureError
from neurax.io.asc import read_asc
from neurax.io.contour import (
    _symmeig,
    approximate_contour_by_circle,
    contour2centroid,
    contourcenter,
    contourstack2centroid,
    stk_center,
    stk_triang_area,
)
from neurax.io.import3d import ImportLog

DATA = Path(__file__).resolve().parents[1] / "data" / "asc"
MORPH = Path("/work/shared/morphologies")
HAVE_NEURON = importlib.util.find_spec("neuron") is not None
needs_neuron = pytest.mark.skipif(not HAVE_NEURON, reason="NEURON is not installed")


def hexes(values) -> list:
    return [hexes(v) if isinstance(v, (list, tuple, np.ndarray)) else float(v).hex() for v in values]


def as_stored(v: float) -> float:
    """What ``pt3dadd`` stores for a value NEURON prints with ``%.8g``."""
    return float(np.float32(float(f"{v:.8g}")))


# ---------------------------------------------------------------------------------------------------------
# Matrix.symmeig (Eigen's EigenSolver)
# ---------------------------------------------------------------------------------------------------------

SYMMEIG_CASES = {
    # scatter matrix of morphio/simple.asc's square soma: rounding tilts the eigenvector by 1.8e-16
    "square": ([[4.6226400000000029e-05, -5.9292306307801024e-21, 0.0], [-5.9292306307801024e-21,
                7.8771199999999914e-05, 0.0], [0.0, 0.0, 0.0]],
               ["0x1.83c67027b56fep-15", "0x1.4a63ee955e1b1p-14", "0x0.0p+0"],
               [["0x1.0000000000000p+0", "-0x1.a4180ff56d925p-53", "0x0.0p+0"],
                ["0x0.0p+0", "0x1.0000000000000p+0", "0x0.0p+0"],
                ["0x0.0p+0", "0x0.0p+0", "0x1.0000000000000p+0"]]),
    # equal eigenvalues: the eigenvectors are whatever Eigen's rounding makes them
    "isotropic": ([[2.0, 1e-17, 0.0], [1e-17, 2.0, 0.0], [0.0, 0.0, 0.0]],
                  ["0x1.0000000000000p+1", "0x1.0000000000000p+1", "0x0.0p+0"],
                  [["0x1.0000000000000p+0", "-0x1.70e9580add1e6p-7", "0x0.0p+0"],
                   ["0x0.0p+0", "0x1.fff7b16ff8768p-1", "0x0.0p+0"],
                   ["0x0.0p+0", "0x0.0p+0", "0x1.0000000000000p+0"]]),
    "full": ([[3.0, 1.0, 0.5], [1.0, 2.0, -0.25], [0.5, -0.25, 1.0]],
             ["0x1.d370aa37e9871p+1", "0x1.5110999456682p-1", "0x1.b0965ec601bdep+0"],
             [["0x1.b6ffaf12b6491p-1", "-0x1.6eabf3328d200p-2", "-0x1.7a7b4102b6c44p-2"],
              ["0x1.00e5698638273p-1", "0x1.b035214cd6a77p-2", "0x1.82959e32e9947p-1"],
              ["0x1.d46c98471b9a0p-4", "0x1.aa6aa75bd37dep-1", "-0x1.1547c7685aa53p-1"]]),
    "zero": ([[0.0] * 3] * 3, ["0x0.0p+0"] * 3,
             [["0x1.0000000000000p+0", "0x0.0p+0", "0x0.0p+0"], ["0x0.0p+0", "0x1.0000000000000p+0", "0x0.0p+0"],
              ["0x0.0p+0", "0x0.0p+0", "0x1.0000000000000p+0"]]),
}


@pytest.mark.parametrize("name", sorted(SYMMEIG_CASES))
def test_symmeig_matches_neuron_values(name):
    matrix, values, vectors = SYMMEIG_CASES[name]
    got_values, got_vectors = _symmeig(np.array(matrix))
    assert hexes(got_values) == values
    assert hexes(got_vectors) == vectors


def random_symmetric(rng: random.Random, kind: int) -> list[list[float]]:
    """Symmetric 3x3 matrices of the kinds contour scatter matrices are (planar, near-degenerate, ...)."""
    if kind == 0:
        a = [[rng.uniform(-5, 5) for _ in range(3)] for _ in range(3)]
        return [[a[i][j] + a[j][i] for j in range(3)] for i in range(3)]
    if kind == 1:  # a contour at constant z
        x, y, c = rng.uniform(0, 100), rng.uniform(0, 100), rng.uniform(-50, 50)
        return [[x, c, 0.0], [c, y, 0.0], [0.0, 0.0, 0.0]]
    if kind == 2:  # nearly planar
        x, y, c = rng.uniform(0, 100), rng.uniform(0, 100), rng.uniform(-50, 50)
        e1, e2, e3 = (rng.uniform(-1e-15, 1e-15) for _ in range(3))
        return [[x, c, e1], [c, y, e2], [e1, e2, abs(e3)]]
    if kind == 3:  # an axis-aligned outline
        x, y, z = rng.uniform(0, 100), rng.uniform(0, 100), rng.uniform(0, 1)
        c = rng.choice([0.0, 1e-18, -1e-18, 5.7e-15, -5.9e-21])
        return [[x, c, 0.0], [c, y, 0.0], [0.0, 0.0, z]]
    if kind == 4:  # a round outline
        x = rng.uniform(0, 100)
        c = rng.uniform(-1e-12, 1e-12)
        return [[x, c, 0.0], [c, x, 0.0], [0.0, 0.0, 0.0]]
    s = 10 ** rng.uniform(-8, 6)
    a = [[rng.uniform(-1, 1) * s for _ in range(3)] for _ in range(3)]
    return [[a[i][j] + a[j][i] for j in range(3)] for i in range(3)]


@pytest.mark.neuron
@needs_neuron
def test_symmeig_bit_equal_to_neuron_on_random_matrices():
    from neuron import h

    rng = random.Random(20240611)
    for k in range(2400):
        a = random_symmetric(rng, k % 6)
        m = h.Matrix(3, 3)
        for i in range(3):
            for j in range(3):
                m.setval(i, j, a[i][j])
        e = h.Matrix(3, 3)
        v = m.symmeig(e)
        want_values = [v.x[i] for i in range(3)]
        want_vectors = [[e.getval(i, j) for j in range(3)] for i in range(3)]
        got_values, got_vectors = _symmeig(np.array(a))
        assert hexes(got_values) == hexes(want_values), a
        assert hexes(got_vectors) == hexes(want_vectors), a


# ---------------------------------------------------------------------------------------------------------
# contourcenter, approximate_contour_by_circle, stk_center
# ---------------------------------------------------------------------------------------------------------

DIAMOND = np.array([(1.0, 0.0, 0.5), (0.0, 2.0, 0.5), (-1.0, 0.0, 0.7), (0.0, -2.0, 0.5), (0.9, 0.1, 0.5)])


def test_contourcenter_values_from_neuron():
    center, resampled = contourcenter(DIAMOND[:, 0], DIAMOND[:, 1], DIAMOND[:, 2])
    assert hexes(center) == ["-0x1.b7d5b1d3f92b1p-12", "0x1.001cfe82e4831p-7", "0x1.193568bb89263p-1"]
    assert resampled.shape == (101, 3)


def test_contourcenter_resamples_the_open_polyline():
    # the closing edge (last point back to the first) is not part of NEURON's perimeter
    square = np.array([(0.0, 0.0, 0.0), (2.0, 0.0, 0.0), (2.0, 2.0, 0.0), (0.0, 2.0, 0.0)])
    _, resampled = contourcenter(square[:, 0], square[:, 1], square[:, 2])
    assert resampled[0].tolist() == [0.0, 0.0, 0.0]
    assert resampled[-1].tolist() == [0.0, 2.0, 0.0]  # ends at the last point, not back at the first
    x, y = resampled[:, 0], resampled[:, 1]
    on_sides = np.isclose(y, 0) | np.isclose(x, 2) | np.isclose(y, 2)
    assert on_sides.all() and not (np.isclose(x, 0) & (y > 0) & (y < 2)).any()


def test_contourcenter_ignores_z_for_the_perimeter():
    flat = np.array([(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 1.0, 0.0)])
    tilted = flat.copy()
    tilted[1, 2] = 50.0
    _, a = contourcenter(flat[:, 0], flat[:, 1], flat[:, 2])
    _, b = contourcenter(tilted[:, 0], tilted[:, 1], tilted[:, 2])
    assert np.array_equal(a[:, :2], b[:, :2])


def test_approximate_contour_by_circle_values_from_neuron():
    center, diam = approximate_contour_by_circle(DIAMOND)
    assert hexes(center) == ["-0x1.b7d5b1d3f92b1p-12", "0x1.001cfe82e4831p-7", "0x1.193568bb89263p-1"]
    assert diam.hex() == "0x1.57996f7cb8650p+1"


def circle(cx: float, cy: float, z: float, r: float, n: int = 36) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a), np.full(n, z), np.full(n, 0.1)])


def test_stk_center_is_halfway_along_the_centres():
    stack = [circle(0, 0, 0, 5), circle(0, 0, 2, 6), circle(0, 0, 4, 5), circle(0, 0, 10, 3)]
    c = stk_center(stack[0], stack[1:])
    # centres near the z axis at z 0, 2, 4, 10: halfway along the path is z = 5
    assert c[2] == pytest.approx(5.0, abs=1e-3)
    same = stk_center(stack[0], [stack[0]])
    assert np.array_equal(same, contourcenter(*stack[0][:, :3].T)[0])


def test_stack_centroid_one_point_per_contour():
    stack = [circle(0, 0, 0, 5), circle(0.5, 0, 2, 6), circle(0, 0.5, 4, 5)]
    out = contourstack2centroid(stack[0], stack[1:])
    assert out.shape == (3, 4)
    for row, pts in zip(out, stack, strict=True):
        c, d = approximate_contour_by_circle(pts)
        assert row[:3].tolist() == c.tolist() and row[3] == d
    assert stk_triang_area(stack[0], stack[1:]) > 0


def test_stack_that_makes_neuron_fail():
    # NEURON 9.0.2: "accurate_triangle_area: not a triangle" (sides 0.1, 1.4, 1.5) while instantiating
    first = np.array([(1.0, 0.0, 0.0), (0.7500000000000002, 1.299038105676658, 0.0),
                      (-0.7499999999999997, 1.299038105676658, 0.0), (-1.0, 1.2246467991473532e-16, 0.0),
                      (-1.0000000000000009, -1.7320508075688767, 0.0), (0.7500000000000002, -1.299038105676658, 0.0)])
    second = np.array([(1.6, 0.0, 1e-12), (1.1000000000000003, 1.7320508075688772, 1e-12),
                       (-0.6499999999999997, 1.299038105676658, 0.0), (-0.9, 1.2246467991473532e-16, 0.0),
                       (-0.5000000000000004, -0.8660254037844384, 1e-12),
                       (0.6000000000000001, -0.8660254037844386, 1e-12)])
    with pytest.raises(MorphologyStructureError, match="not a triangle"):
        contourstack2centroid(first, [second])


# ---------------------------------------------------------------------------------------------------------
# contour2centroid
# ---------------------------------------------------------------------------------------------------------

# morphio/simple.asc: soma points NEURON 9.0.2 stores (x3d, y3d, z3d, diam3d), float32
SIMPLE_SOMA_Y = [-0.0010000000474974513, -0.0008999999845400453, -0.0007999999797903001, -0.000699999975040555,
                 -0.0006000000284984708]
SIMPLE_SOMA_D = [0.0006880000000819564, 0.0013160000089555979, 0.0013520000502467155, 0.0013879999751225114,
                 0.001424000016413629]


def test_contour2centroid_square_soma_as_neuron_stores_it():
    square = np.array([(0.001, 0.001, 0, 0.01), (-0.001, 0.001, 0, 0.01), (-0.001, -0.001, 0, 0.01),
                       (0.001, -0.001, 0, 0.01)])
    out = contour2centroid(square)
    assert out.shape == (21, 4)
    stored = np.vectorize(as_stored)(out)
    assert stored[:5, 0].tolist() == [-0.00031999999191612005] * 5
    assert stored[:5, 1].tolist() == SIMPLE_SOMA_Y
    assert stored[:5, 3].tolist() == SIMPLE_SOMA_D
    assert stored[-1, 1] == 0.0010000000474974513


def test_contour2centroid_ends_average_their_neighbours():
    out = contour2centroid(circle(3, -2, 1, 4, n=50)[:, :4])
    assert len(out) == 21
    # the raw end diameters would be ~0; NEURON averages them with the next ones
    assert out[0, 3] > 0 and out[-1, 3] > 0
    assert np.allclose(out[:, 2], 1.0)


def test_contour2centroid_rejects_a_degenerate_contour():
    point = np.array([(0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)])
    with pytest.raises(MorphologyStructureError):
        contour2centroid(point)
    vertical = np.array([(0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.0, 2.0)])
    with pytest.raises(MorphologyStructureError):
        contour2centroid(vertical)


def test_contour2centroid_needs_points():
    with pytest.raises(ValueError):
        contour2centroid(np.zeros((0, 4)))


# ---------------------------------------------------------------------------------------------------------
# against NEURON's instantiate
# ---------------------------------------------------------------------------------------------------------


def load_helper():
    spec = importlib.util.spec_from_file_location("neuron_import3d", DATA / "neuron_import3d.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def somas_of(path: str) -> list[np.ndarray]:
    secs = read_asc(path, ImportLog(path))
    out = []
    for sec in secs:
        if sec.is_contour and not sec.is_subsidiary:
            if sec.contour_stack:
                out.append(contourstack2centroid(sec.points, [secs[j].points for j in sec.contour_stack]))
            else:
                out.append(contour2centroid(sec.points))
    return out


def random_contour_text(rng: random.Random) -> str:
    """One or more soma contours (round, square, jagged, tilted, stacked) and a short dendrite."""
    kind = rng.choice(["circle", "square", "ellipse", "jagged", "closed", "tilted", "stack", "tiny"])
    n = rng.randint(3, 40)
    cx, cy, z = rng.uniform(-50, 50), rng.uniform(-50, 50), rng.uniform(-5, 5)
    r = rng.uniform(0.5, 15)
    if kind == "tiny":
        r = rng.uniform(1e-4, 1e-2)
    contours = []
    levels = sorted(rng.uniform(-4, 4) for _ in range(rng.randint(2, 4))) if kind == "stack" else [z]
    for level in levels:
        pts = []
        rot = rng.uniform(0, math.pi) if kind in ("ellipse", "tilted") else 0.0
        for k in range(n):
            a = 2 * math.pi * k / n
            if kind == "square":
                corner = [(1, 1), (-1, 1), (-1, -1), (1, -1)][k % 4]
                x, y = cx + r * corner[0], cy + r * corner[1]
            elif kind == "jagged":
                rr = r * rng.uniform(0.5, 1.5)
                x, y = cx + rr * math.cos(a), cy + rr * math.sin(a)
            else:
                ex, ey = r * math.cos(a), (0.6 if kind in ("ellipse", "tilted") else 1.0) * r * math.sin(a)
                x = cx + ex * math.cos(rot) - ey * math.sin(rot)
                y = cy + ex * math.sin(rot) + ey * math.cos(rot)
            zz = level + (rng.uniform(-1, 1) if kind == "tilted" else 0.0)
            pts.append((x, y, zz))
        if kind == "closed":
            pts.append(pts[0])
        body = "\n".join(f"  ({x!r} {y!r} {zz!r} 0.1)" for x, y, zz in pts)
        contours.append(f'("CellBody"\n  (Color Red)\n  (CellBody)\n{body}\n)\n')
    tree = f"( (Dendrite)\n  ({cx!r} {cy!r} {z!r} 1)\n  ({cx + 20!r} {cy!r} {z!r} 1)\n)\n"
    return "".join(contours) + tree


@pytest.mark.neuron
@needs_neuron
def test_centroids_equal_neuron_on_shared_files():
    paths = [str(p) for p in sorted(MORPH.glob("*/*.asc")) if "invalid" not in p.name]
    if not paths:
        pytest.skip("shared morphologies not available")
    ref = load_helper().neuron_read(paths, instantiate=True)
    compared = 0
    for p in paths:
        somas = ref[p]["somas"] or {}
        names = sorted(somas, key=lambda s: int(s[5:-1]) if "[" in s else 0)
        mine = somas_of(p)
        assert len(mine) == len(names), p
        for name, pts in zip(names, mine, strict=True):
            stored = [[as_stored(v) for v in row] for row in pts.tolist()]
            assert stored == somas[name], (p, name)
            compared += 1
    assert compared >= 10


@pytest.mark.neuron
@needs_neuron
def test_centroids_equal_neuron_on_random_contours(tmp_path):
    rng = random.Random(7)
    paths = []
    for k in range(150):
        p = tmp_path / f"contour_{k}.asc"
        p.write_text(random_contour_text(rng))
        paths.append(str(p))
    ref = load_helper().neuron_read(paths, instantiate=True)
    for p in paths:
        res = ref[p]
        assert "error" not in res, (p, res.get("printed"))
        somas = res["somas"]
        if isinstance(somas, str):  # NEURON failed while instantiating: so must we
            with pytest.raises(MorphologyStructureError):
                somas_of(p)
            continue
        names = sorted(somas, key=lambda s: int(s[5:-1]) if "[" in s else 0)
        mine = somas_of(p)
        assert len(mine) == len(names)
        for name, pts in zip(names, mine, strict=True):
            assert [[as_stored(v) for v in row] for row in pts.tolist()] == somas[name], (p, name)


@pytest.mark.neuron
@needs_neuron
def test_contour_helpers_bit_equal_to_import3d_section():
    from neuron import h

    h.load_file("import3d.hoc")
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(3, 30)
        pts = [(rng.uniform(-20, 20), rng.uniform(-20, 20), rng.uniform(-2, 2)) for _ in range(n)]
        sec = h.Import3d_Section(0, n)
        for i, (x, y, z) in enumerate(pts):
            sec.set_pt(i, x, y, z, 0.1)
        x, y, z = (sec.raw.getrow(i) for i in range(3))
        want = sec.contourcenter(x, y, z)
        arr = np.array(pts)
        got, res = contourcenter(arr[:, 0], arr[:, 1], arr[:, 2])
        assert hexes(got) == hexes([want.x[i] for i in range(3)])
        assert hexes(res[:, 0]) == hexes(list(x))
        d = h.ref(0.0)
        want = sec.approximate_contour_by_circle(d)
        got, diam = approximate_contour_by_circle(arr)
        assert hexes(got) == hexes([want.x[i] for i in range(3)])
        assert diam.hex() == d[0].hex()


def test_helper_file_is_json_safe():
    # the NEURON helper must stay importable without NEURON (tests load its client function)
    mod = load_helper()
    assert callable(mod.neuron_read)
    assert json.loads(json.dumps({"ok": 1})) == {"ok": 1}
