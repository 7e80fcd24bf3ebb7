"""MorphIO H5 reader (neurax.io.h5): the cell NEURON makes of the equivalent ASC text."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from neurax.errors import MorphologyFileError, StrictModeError
from neurax.io.asc import parse_asc
from neurax.io.h5 import h5_to_neurolucida, read_h5
from neurax.io.import3d import ImportLog

DATA = Path(__file__).resolve().parents[1] / "data" / "asc"
SHARED = Path(os.environ.get("NEURAX_SHARED_MORPHOLOGIES", "/work/shared/morphologies"))
H5_FILES = [SHARED / "morphio" / "simple.h5", SHARED / "morphio" / "Neuron.h5", SHARED / "neurom" / "bio_neuron-000.h5"]
HAVE_NEURON = importlib.util.find_spec("neuron") is not None
morphio = pytest.importorskip("morphio")


def shared(path: Path) -> str:
    if not path.exists():
        pytest.skip("shared morphologies not available")
    return str(path)


def asc_text(path: str) -> str:
    """The Neurolucida text equivalent to an H5 file: exact values (repr), soma contour, one tree per root."""
    labels = {2: "Axon", 3: "Dendrite", 4: "Apical"}
    morph = morphio.Morphology(path)
    out = []

    def point(p, d) -> str:
        return f"({float(p[0])!r} {float(p[1])!r} {float(p[2])!r} {float(d)!r})"

    def write(section, depth: int) -> None:
        pad = "  " * depth
        out.extend(pad + point(p, d) for p, d in zip(section.points, section.diameters, strict=True))
        children = list(section.children)
        if children:
            out.append(pad + "(")
            for k, child in enumerate(children):
                if k:
                    out.append(pad + "|")
                write(child, depth + 1)
            out.append(pad + ")")

    if len(morph.soma.points):
        out.append('("CellBody" (CellBody)')
        out.extend("  " + point(p, d) for p, d in zip(morph.soma.points, morph.soma.diameters, strict=True))
        out.append(")")
    for root in morph.root_sections:
        out.append("(" + (f" ({labels[int(root.type)]})" if int(root.type) in labels else ""))
        write(root, 1)
        out.append(")")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("name, nsec, types", [("simple.h5", 7, {1, 2, 3}), ("Neuron.h5", 85, {1, 2, 3, 4})])
def test_h5_sections(name, nsec, types):
    path = shared(SHARED / "morphio" / name)
    secs = read_h5(path, ImportLog(path))
    assert len(secs) == nsec
    assert {s.type for s in secs} == types
    assert secs[0].is_contour and secs[0].type == 1
    assert all(s.points.dtype == np.float64 for s in secs)
    assert all(s.line is None for s in secs)


@pytest.mark.parametrize("path", H5_FILES, ids=lambda p: p.name)
def test_h5_equals_the_equivalent_asc_text(path):
    path = shared(path)
    from_h5 = read_h5(path, ImportLog(path))
    from_asc = parse_asc(asc_text(path), "<asc>", ImportLog("<asc>"))
    assert len(from_h5) == len(from_asc)
    for a, b in zip(from_h5, from_asc, strict=True):
        assert np.array_equal(a.points, b.points)
        assert (a.type, a.parent, a.parent_x, a.first) == (b.type, b.parent, b.parent_x, b.first)
        assert (a.is_contour, a.is_subsidiary, a.contour_stack) == (b.is_contour, b.is_subsidiary, b.contour_stack)


def test_h5_structure_keeps_morphio_order_and_points():
    path = shared(SHARED / "morphio" / "Neuron.h5")
    data = h5_to_neurolucida(path)
    morph = morphio.Morphology(path)
    assert [t.type for t in data.trees] == [int(r.type) for r in morph.root_sections]
    assert np.array_equal(data.trees[0].root.points[:, :3], morph.root_sections[0].points)
    assert data.contours[0].name == "CellBody" and len(data.contours[0].points) == len(morph.soma.points)


def test_h5_repairs_follow_the_asc_rules(tmp_path):
    # bio_neuron-000.h5: every tree starts inside the soma box, so nothing is repaired
    path = shared(SHARED / "neurom" / "bio_neuron-000.h5")
    log = ImportLog(path, strict=True)
    read_h5(path, log)
    assert log.messages == []
    # Neuron.h5's trees start at the soma centre: wires, no warning
    path = shared(SHARED / "morphio" / "Neuron.h5")
    secs = read_h5(path, ImportLog(path, strict=True))
    roots = [s for s in secs if s.parent == 0]
    assert roots and all(s.first == 1 and s.parent_x == 0.5 for s in roots)


@pytest.mark.parametrize("content, message", [
    (b"(Dendrite (1 2 3 4))\n", "not an HDF5 file"),
    (b"", "not an HDF5 file"),
    (b"\x89HDF\r\n\x1a\n" + b"\x00" * 64, "MorphIO cannot read"),
])
def test_h5_file_errors(tmp_path, content, message):
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    with pytest.raises(MorphologyFileError, match=message) as info:
        read_h5(str(path), ImportLog(str(path)))
    assert str(path) in str(info.value)


def test_h5_truncated_file(tmp_path):
    src = shared(SHARED / "morphio" / "Neuron.h5")
    path = tmp_path / "cut.h5"
    path.write_bytes(Path(src).read_bytes()[:4000])
    with pytest.raises(MorphologyFileError, match="MorphIO cannot read"):
        read_h5(str(path), ImportLog(str(path)))


def test_h5_missing_file(tmp_path):
    with pytest.raises(MorphologyFileError, match="does not exist"):
        read_h5(str(tmp_path / "none.h5"), ImportLog("none.h5"))


def test_h5_strict_mode_refuses_a_wire_from_outside(tmp_path):
    # an H5 cell whose tree starts far from the soma: NEURON would wire it to the soma centre with a warning
    src = shared(SHARED / "morphio" / "simple.h5")
    path = tmp_path / "moved.h5"
    shutil.copy(src, path)
    data = h5_to_neurolucida(str(path))
    data.trees[0].root.points[:, 0] += 1000.0
    from neurax.io.asc import neurolucida_to_raw_sections

    with pytest.raises(StrictModeError, match="outside every soma"):
        neurolucida_to_raw_sections(data, ImportLog(str(path), strict=True))


@pytest.mark.neuron
@pytest.mark.skipif(not HAVE_NEURON, reason="NEURON is not installed")
@pytest.mark.parametrize("path", H5_FILES, ids=lambda p: p.name)
def test_h5_equals_neuron_reading_the_asc_text(tmp_path, path):
    path = shared(path)
    asc = tmp_path / (Path(path).stem + ".asc")
    asc.write_text(asc_text(path))
    spec = importlib.util.spec_from_file_location("neuron_import3d", DATA / "neuron_import3d.py")
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    ref = helper.neuron_read([str(asc)])[str(asc)]
    assert "error" not in ref, ref.get("printed")
    mine = read_h5(path, ImportLog(path))
    assert len(ref["sections"]) == len(mine)
    for a, b in zip(ref["sections"], mine, strict=True):
        points = np.array([[float.fromhex(v) for v in row] for row in a["pts"]]).reshape(-1, 4)
        assert np.array_equal(points, b.points)
        assert a["type"] == (b.type if b.type in (1, 2, 3, 4) else 0)
        assert (a["parent"], a["parentx"], a["first"]) == (b.parent, b.parent_x, b.first)
