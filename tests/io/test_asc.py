"""Neurolucida ASC reader (neurax.io.asc) against NEURON's Import3d_Neurolucida3.

The NEURON-free tests use small inline files whose expected sections, errors and lines were produced with
NEURON 9.0.2 (``tests/data/asc/neuron_import3d.py``). The tests marked ``neuron`` read the shared morphologies
and a few hundred generated files (random grammar, inserted oddities, random mutations) with NEURON and with
neurax and demand identical raw sections (float64 bits), identical failures and identical error lines.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import math
import os
import platform
import random
import time
from pathlib import Path

import numpy as np
import pytest

from neurax.errors import (
    MorphologyError,
    MorphologyFileError,
    MorphologyStructureError,
    MorphologySyntaxError,
    StrictModeError,
)
from neurax.io.asc import (
    EOF,
    ERR,
    LABEL,
    LP,
    NUM,
    RGB,
    RP,
    RUN,
    SET,
    STR,
    _scan_double,
    parse_asc,
    parse_neurolucida,
    read_asc,
    tokenize,
)
from neurax.io.import3d import ImportLog

DATA = Path(__file__).resolve().parents[1] / "data" / "asc"
SHARED = Path(os.environ.get("NEURAX_SHARED_MORPHOLOGIES", "/work/shared/morphologies"))
HAVE_NEURON = importlib.util.find_spec("neuron") is not None
needs_neuron = pytest.mark.skipif(not HAVE_NEURON, reason="NEURON is not installed")


def load_helper():
    spec = importlib.util.spec_from_file_location("neuron_import3d", DATA / "neuron_import3d.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sections(text: str, strict: bool = False):
    log = ImportLog("<test>", strict=strict)
    return parse_asc(text, "<test>", log), log


def pts(sec) -> list:
    return sec.points.tolist()


def kinds_of(text: str) -> list:
    toks = tokenize(text)
    return [(k, v) for k, v in zip(toks.kinds, toks.values, strict=True) if k != EOF]


# ---------------------------------------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------------------------------------


def test_plain_point_lines_become_runs():
    toks = tokenize("(Dendrite)\n  ( 1 2 3 4)  ; c\n(5 6 7 8)\n\n(9 10 11 12)\n)\n")
    assert toks.kinds == [LP, LABEL, RP, RUN, RUN, RP, EOF]
    assert toks.points.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert toks.point_lines.tolist() == [2, 3, 5]


@pytest.mark.parametrize("text, expected", [
    # glibc %lf collects "1e" then converts the "1": the "e" is consumed
    ("(1e)", [(LP, None), (NUM, 1.0), (RP, None)]),
    ("1e+ 2", [(NUM, 1.0), (NUM, 2.0)]),
    ("1e5.3", [(NUM, 1e5), (NUM, 0.3)]),
    ("1.2.3", [(NUM, 1.2), (NUM, 0.3)]),
    ("1.5-2", [(NUM, 1.5), (NUM, -2.0)]),
    (".5 5. +3 -0", [(NUM, 0.5), (NUM, 5.0), (NUM, 3.0), (NUM, -0.0)]),
    ("0x1A 0x1p3", [(NUM, 26.0), (NUM, 8.0)]),
    ("3D", [(NUM, 3.0), (LABEL, "D")]),
    # labels that start like inf/nan are read as numbers, others are labels
    ("Info nano Name Incomplete", [(NUM, math.inf), (LABEL, "o"), (NUM, None), (LABEL, "o"), (LABEL, "Name"),
                                   (LABEL, "Incomplete")]),
    # set/Set/SET/RGB are prefixes, not words; only "set" at the very end of a line is a label
    ("Settings RGBA (set)", [(SET, None), (LABEL, "tings"), (RGB, None), (LABEL, "A"), (LP, None), (SET, None),
                            (RP, None)]),
    ("set", [(LABEL, "set")]),
    ('"a b" "" x', [(STR, "a b"), (STR, ""), (LABEL, "x")]),
])
def test_lexer_follows_glibc_sscanf(text, expected):
    got = kinds_of(text)
    assert [k for k, _ in got] == [k for k, _ in expected]
    for (_, v), (_, w) in zip(got, expected, strict=True):
        if isinstance(w, float) and w == 0.0:
            assert math.copysign(1, v) == math.copysign(1, w)
        if w is None and isinstance(v, float):
            assert math.isnan(v)
        elif w is not None:
            assert v == w


def test_simple_point_forms_are_read_as_runs():
    text = "((Dendrite)\n (1, 2)\n (2 3 4)\n (3 4 5 6 S1)\n (4 5 6 7,)\n (5,6,7,8, X_1 ,)\n (6\t7  8\t9 S1)\n)\n"
    toks = tokenize(text)
    assert toks.kinds == [LP, LP, LABEL, RP, RUN, RP, EOF]
    secs, _ = sections(text)
    assert pts(secs[0]) == [[1, 2, 0, 0], [2, 3, 4, 0], [3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8], [6, 7, 8, 9]]


@pytest.mark.parametrize("last", ["(1 2 3 4 inf)", "(1 2 3 4 Setx)", "(1 2 3 S1)", "(1 2 3 4 nano)"])
def test_point_with_a_label_neuron_rejects(last):
    # a label after z, or a "label" the lexer reads as a number or Set: NEURON's parser fails on line 3
    with pytest.raises(MorphologySyntaxError) as info:
        sections(f"((Dendrite)\n (1 2 3 4)\n {last}\n)\n")
    assert info.value.line == 3 and "closing the point" in str(info.value)


def test_at_sign_ends_the_line_and_unclosed_string_drops_it():
    # "%[^@]" keeps the rest of a line only up to the first '@'
    assert kinds_of("(1 2 @ 3 4)\n)") == [(LP, None), (NUM, 1.0), (NUM, 2.0), (RP, None)]
    toks = kinds_of('("abc (1 2 3 4)\n)')
    assert toks[0] == (LP, None) and toks[1][0] == ERR and toks[2] == (RP, None)
    # a character no pattern accepts stops the lexer for good
    toks = tokenize("(1 $ 2)\n(3 4)")
    assert toks.kinds[-1] == ERR and EOF not in toks.kinds


def test_comments_and_line_endings():
    assert kinds_of("; comment (1 2 3)\n(;x\n)") == [(LP, None), (RP, None)]
    # "\r\n", "\r" and "\n" all end a line (NEURON's fgets_unlimited)
    toks = tokenize("(1 2 3 4)\r(5 6 7 8)\r\n;x\r(9 9 9 9)")
    assert toks.point_lines.tolist() == [1, 2, 4]


LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if platform.system() == "Linux" else None


@pytest.mark.skipif(LIBC is None or platform.libc_ver()[0] != "glibc", reason="needs glibc")
def test_scan_double_equals_glibc_sscanf():
    rng = random.Random(5)
    alphabet = "0123456789+-.eExXpPaAfFiInNtTyY )"
    samples = ["1e)", "0x.p1", "-0x", "infinity", "infin", "nan(1)", "1e5e", "0x1p+", ".e5", "- 5", "00012"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(20000)]
    for s in samples:
        text = s + "\n"
        d = ctypes.c_double(-12345.0)
        rest = ctypes.create_string_buffer(len(text) + 8)
        n = LIBC.sscanf(text.encode(), b"%lf%[^@]", ctypes.byref(d), rest)
        start = len(text) - len(text.lstrip(" \t\n"))  # %lf skips blanks; _scan_double starts after them
        got = _scan_double(text, start, len(text)) if start < len(text) else None
        if n <= 0:
            assert got is None, s
            continue
        assert got is not None, s
        value, end = got
        assert (math.isnan(value) and math.isnan(d.value)) or value.hex() == d.value.hex(), s
        if n == 2:
            assert text[end:] == rest.value.decode(), s
        else:
            assert end == len(text), s


# ---------------------------------------------------------------------------------------------------------
# Sections (expected values from NEURON 9.0.2)
# ---------------------------------------------------------------------------------------------------------

SPLIT = """("CellBody"
  (CellBody)
  (1 1 0 0.1)
  (-1 1 0 0.1)
  (-1 -1 0 0.1)
  (1 -1 0 0.1)
)
( (Color Red)
  (Dendrite)
  (0 2 0 1)
  (0 5 0 1)
  (
    (0 5 0 0.5)
    (-3 8 0 0.5)
    Normal
  |
    (1 6 0 0.7)
    (2 8 0 0.7)
    Incomplete
  )
)
"""


def test_soma_wire_and_parent_points():
    secs, log = sections(SPLIT)
    assert [s.type for s in secs] == [1, 3, 3, 3]
    assert secs[0].is_contour and secs[0].parent is None
    # the root starts outside the soma box: a wire from the soma centre (NEURON prints a warning)
    assert pts(secs[1]) == [[-0.32, 0.0, 0.0, 0.01], [0, 2, 0, 1], [0, 5, 0, 1]]
    assert (secs[1].parent, secs[1].parent_x, secs[1].first) == (0, 0.5, 1)
    assert len(log.messages) == 1 and ":10:" in log.messages[0]
    # a child repeating its parent's last point gets nothing; the other one gets that point with its own diameter
    assert pts(secs[2]) == [[0, 5, 0, 0.5], [-3, 8, 0, 0.5]]
    assert pts(secs[3]) == [[0, 5, 0, 0.7], [1, 6, 0, 0.7], [2, 8, 0, 0.7]]
    assert [(s.parent, s.parent_x, s.first) for s in secs[2:]] == [(1, 1.0, 0), (1, 1.0, 0)]
    assert [s.line for s in secs] == [3, 10, 13, 17]


POINTS = """((Axon)
 (0, 0, 0, 2)
 (1 2)
 (2 3 4)
 (3 4 5 6 S1)
 (4 5 6 7 (1 2 3 4))
 (5 6 7 8 R, (1, 2, 3, 4))
 <(Class 4 "none")(Color Red)(9 9 9 9)>
 (6 7 8 9)
 (Cross (Color Orange) (Name "m") (1 1 1 1) (2 2 2 2))
 (
   (6 7 8 9)
   (7 8 9 1)
 |
   (Cross (10 10 10 1))
   (8 9 10 2)
 )
)
"""


def test_point_forms_spines_and_markers():
    secs, log = sections(POINTS)
    assert pts(secs[0]) == [[0, 0, 0, 2], [1, 2, 0, 0], [2, 3, 4, 0], [3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8],
                            [6, 7, 8, 9]]
    assert pts(secs[1]) == [[6, 7, 8, 9], [7, 8, 9, 1]]
    # a marker that opens a branch: NEURON takes its points as points of the branch
    assert pts(secs[2]) == [[6, 7, 8, 1], [10, 10, 10, 1], [8, 9, 10, 2]]
    assert any("marker opens a branch" in m for m in log.messages)
    data = parse_neurolucida(POINTS)
    assert data.spines == 1


def test_tree_type_comes_from_the_last_property():
    secs, log = sections("((Dendrite) (Color Red)\n (0 0 0 1)\n (1 0 0 1)\n)\n((Color Red) (Apical)\n (0 0 0 1)\n"
                         " (0 1 0 1)\n)\n")
    assert [s.type for s in secs] == [0, 4]
    assert any("not its last property" in m for m in log.messages)


STACK = """("CellBody" (CellBody)
 (2 0 0 1) (0 2 0 1) (-2 0 0 1) (0 -2 0 1))
("CellBody" (CellBody)
 (3 0 1 1) (0 3 1 1) (-3 0 1 1) (0 -3 1 1))
("CellBody" (CellBody)
 (2 0 2 1) (0 2 2 1) (-2 0 2 1) (0 -2 2 1))
("Soma" (CellBody)
 (102 0 0 1) (100 2 0 1) (98 0 0 1) (100 -2 0 1))
((Dendrite) (1 1 0 1) (5 5 0 1))
((Axon) (99 1 0 1) (90 1 0 1))
((Apical) (50 50 0 1) (60 60 0 1))
"""


def test_contour_stack_two_somata_and_wires():
    secs, log = sections(STACK)
    assert [s.is_contour for s in secs[:4]] == [True] * 4
    assert secs[0].contour_stack == [1, 2] and [s.is_subsidiary for s in secs[:4]] == [False, True, True, False]
    assert pts(secs[4])[0] == [-0.48, 0.4800000000000002, 1.0, 0.01]  # stk_center of the stack
    assert (secs[4].parent, secs[5].parent, secs[6].parent) == (0, 3, 3)
    assert pts(secs[5])[0] == [99.68, 0.32000000000000006, 0.0, 0.01]
    assert pts(secs[6])[0] == pts(secs[5])[0]  # outside every box: the nearest soma centre
    assert len(log.messages) == 1 and ":11:" in log.messages[0]
    with pytest.raises(StrictModeError, match="outside every soma"):
        sections(STACK, strict=True)


def test_small_soma_contour_is_ignored():
    secs, log = sections('("CellBody" (CellBody)\n (1 1 0 1) (2 2 0 1))\n((Dendrite) (1 1 0 1) (5 5 0 1))\n')
    assert len(secs) == 1 and secs[0].parent is None and secs[0].first == 0
    assert "fewer than 3 points" in log.messages[0] and ":1:" in log.messages[0]


def test_text_set_and_contour_read_twice():
    text = ('(ImageCoords)\n((Color Red) (Font "Arial" 10) (1 2 0 1) "a label")\n'
            '(Set "group" ((Dendrite) (1 1 1 1) (2 2 2 1)) )\n'
            '((Color Red) (Set "x" ("CellBody" (10 0 0 1) (0 10 0 1) (-10 0 0 1))) (Axon) (0 0 0 1) (3 0 0 1))\n')
    secs, log = sections(text)
    # the contour inside the tree's properties is read by NEURON's text look-ahead and again by the tree
    assert [s.type for s in secs] == [1, 1, 3, 2]
    assert secs[0].contour_stack == [1]
    assert pts(secs[2])[0] == [1.7587691479210401e-16, 4.9504950495049505, 0.0, 0.01]
    assert any("read twice" in m for m in log.messages)


def test_parent_point_comparison_uses_hoc_tolerance():
    text = ("((Dendrite)\n (0 0 0 1)\n (1 0 0 1)\n (\n   (1.000000000001 0 0 2)\n   (2 0 0 2)\n |\n"
            "   (1.0001 0 0 3)\n   (1 4 0 3)\n )\n)\n")
    secs, _ = sections(text)
    assert pts(secs[1]) == [[1.000000000001, 0, 0, 2], [2, 0, 0, 2]]  # within 1e-11: no extra point
    assert pts(secs[2]) == [[1, 0, 0, 3], [1.0001, 0, 0, 3], [1, 4, 0, 3]]


def test_soma_box_test_is_in_float32():
    text = ('("CellBody" (CellBody)\n (1 1 0 1) (-1 1 0 1) (-1 -1 0 1) (1 -1 0 1))\n'
            "((Dendrite) (1.50000005 0 0 1) (9 0 0 1))\n((Dendrite) (1.5000001 0 0 1) (9 1 0 1))\n")
    secs, log = sections(text)
    assert [s.parent for s in secs[1:]] == [0, 0]
    assert len(log.messages) == 1 and ":4:" in log.messages[0]  # only the second one is outside


def test_text_after_the_objects_is_ignored_with_a_repair():
    secs, log = sections("((Dendrite) (0 0 0 1) (1 0 0 1))\n) junk\n((Dendrite) (5 0 0 1) (6 0 0 1))\n")
    assert len(secs) == 1
    assert "rest of the file is ignored" in log.messages[0] and ":2:" in log.messages[0]


def test_no_soma_keeps_roots_unconnected():
    secs, log = sections("((Dendrite) (0 0 0 1) (1 0 0 1))\n((Axon) (5 0 0 1) (6 0 0 1))\n")
    assert [(s.parent, s.first, s.parent_x) for s in secs] == [(None, 0, 1.0), (None, 0, 1.0)]
    assert log.messages == []


# ---------------------------------------------------------------------------------------------------------
# Errors (lines as NEURON's parser reports them)
# ---------------------------------------------------------------------------------------------------------

ERRORS = {
    "incomplete_then_point": ("((Dendrite)\n (0 0 0 1)\n (1 0 0 1)\n (\n  (2 0 0 1)\n  Incomplete\n  (3 0 0 1)\n |\n"
                              "  (4 0 0 1)\n )\n)\n", 7, "Incomplete"),
    "unclosed_string": ('("CellBody\n (1 1 0 1) (2 2 0 1) (3 1 0 1))\n', 1, None),
    "at_in_point": ("((Dendrite)\n (0 0 0 1)\n (1@ 0 0 1)\n)\n", 4, None),
    "empty_branch": ("((Dendrite)\n (0 0 0 1)\n (\n  (Color Red)\n |\n  (1 1 1 1)\n )\n)\n", 4, "empty branch"),
    "spine_class": ("((Dendrite)\n (0 0 0 1)\n <(Class 4)(1 1 1 1)>\n (2 0 0 1)\n)\n", 3, "Class"),
    "nested_tree_in_properties": ('((Set "x" ((Dendrite) (1 1 1 1))) (Axon) (1 2 3 4))\n', 1, "rollback"),
    "eof_in_tree": ("((Dendrite)\n (0 0 0 1)\n (1 0 0 1)\n", 3, None),
    "number_object": ("(1 2 3 4)\n", 1, None),
    "bad_char": ("((Dendrite)\n (0 0 0 1) $\n)\n", 2, None),
    "two_commas": ("((Dendrite)\n (0,,0 0 1)\n)\n", 2, None),
    "swc_text": ("# an SWC file\n1 1 0 0 0 5 -1\n2 3 0 5 0 1 1\n", 1, "SWC"),
    "non_finite": ("((Dendrite)\n (0 0 0 1)\n (inf 0 0 1)\n)\n", 3, "inf"),
    "markers_never_closed": ("((Dendrite)\n (0 0 0 1)\n (1 0 0 1)\n (Cross (1 1 1 1)\n", 4, "loop forever"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_syntax_errors_name_the_line(name):
    text, line, hint = ERRORS[name]
    with pytest.raises(MorphologySyntaxError) as info:
        sections(text)
    assert info.value.line == line
    assert "<test>:" in str(info.value)
    if hint:
        assert hint in str(info.value)


def test_invalid_incomplete_file():
    path = DATA / "invalid-incomplete.asc"
    with pytest.raises(MorphologySyntaxError) as info:
        read_asc(str(path), ImportLog(str(path)))
    assert info.value.line == 15 and "found '('" in str(info.value) and "Incomplete" in str(info.value)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"  \n\n", "empty"),
    (b"; only a comment\n", "no Neurolucida data"),
    (b"\x00\x01\x02binary", "binary"),
    (b"\x89HDF\r\n\x1a\n....", "HDF5"),
])
def test_file_errors(tmp_path, content, message):
    path = tmp_path / "bad.asc"
    path.write_bytes(content)
    with pytest.raises(MorphologyFileError, match=message):
        read_asc(str(path), ImportLog(str(path)))


def test_missing_file(tmp_path):
    with pytest.raises(MorphologyFileError, match="cannot read"):
        read_asc(str(tmp_path / "nope.asc"), ImportLog("nope.asc"))


def deep_text(levels: int) -> str:
    lines = ["((Dendrite)", " (0 0 0 1)", " (1 0 0 1)"]
    for k in range(levels):
        lines += ["(", f" ({k + 2} 0 0 1)"]
    return "\n".join(lines + [")"] * (levels + 1)) + "\n"


def test_nesting_limit_of_neuron():
    # NEURON 9.0.2 reads 123 nested child lists and fails on 124 (hoc: call nested too deeply)
    secs, _ = sections(deep_text(123))
    assert len(secs) == 124
    with pytest.raises(MorphologyStructureError, match="nested"):
        sections(deep_text(124))
    with pytest.raises(MorphologyStructureError, match="too deeply"):
        sections('(Set "a" ' * 2000 + ")" * 2000)


def test_garbage_never_hangs_or_crashes():
    rng = random.Random(11)
    for _ in range(300):
        text = "".join(rng.choice('()|<>,;@"\n 0123456789.-eE abcSetRGB') for _ in range(rng.randint(0, 200)))
        try:
            sections(text)
        except MorphologyError:
            pass


# ---------------------------------------------------------------------------------------------------------
# Shared files
# ---------------------------------------------------------------------------------------------------------

COPIED = ["simple.asc", "markers.asc", "spine.asc", "circle_contour.asc", "pia.asc", "nested_single_children.asc",
          "axon-sprout-from-dendrite.asc", "multifurcation.asc", "nrn_simple.asc"]


@pytest.mark.parametrize("name, nsec, nrepair", [
    ("simple.asc", 7, 0), ("markers.asc", 5, 0), ("spine.asc", 1, 1), ("circle_contour.asc", 2, 1),
    ("pia.asc", 2, 1), ("nested_single_children.asc", 5, 0), ("axon-sprout-from-dendrite.asc", 5, 1),
    ("multifurcation.asc", 7, 1), ("nrn_simple.asc", 2, 0),
])
def test_copied_files(name, nsec, nrepair):
    path = str(DATA / name)
    log = ImportLog(path)
    secs = read_asc(path, log)
    assert len(secs) == nsec
    assert len(log.messages) == nrepair


def reference_raw_sections(name: str):
    """Raw sections stored by tests/reference_neuron (NEURON 9.0.2), or None."""
    refs = Path(__file__).resolve().parents[1] / "reference_neuron"
    ref = refs / "morphology" / name
    if not ref.exists() or not (refs / "morphology_refs.py").exists():
        return None
    spec = importlib.util.spec_from_file_location("morphology_refs", refs / "morphology_refs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load_reference(ref)


@pytest.mark.parametrize("group, name", [
    ("morphio", "simple.asc"), ("morphio", "markers.asc"), ("morphio", "spine.asc"),
    ("morphio", "circle_contour.asc"), ("morphio", "pia.asc"), ("morphio", "nested_single_children.asc"),
    ("neurom", "axon-sprout-from-dendrite.asc"), ("neurom", "multifurcation.asc"), ("neurom", "bio_neuron-000.asc"),
    ("nrn", "simple.asc"), ("nrn", "111200A.asc"),
])
def test_stored_neuron_references(group, name):
    path = SHARED / group / name
    ref = reference_raw_sections(f"{group}__{name}.npz")
    if ref is None or not path.exists():
        pytest.skip("reference or shared morphology not available")
    secs = read_asc(str(path), ImportLog(str(path)))
    raw = ref["raw_sections"]
    assert len(raw) == len(secs)
    for r, s in zip(raw, secs, strict=True):
        assert np.array_equal(r["points"], s.points)
        assert r["type"] == s.type and r["parent"] == (-1 if s.parent is None else s.parent)
        assert r["parentx"] == s.parent_x and r["first"] == s.first
        assert bool(r["iscontour"]) == s.is_contour and bool(r["is_subsidiary"]) == s.is_subsidiary
        assert (r["contour_list"] or []) == s.contour_stack


def test_speed_of_a_large_file():
    path = SHARED / "nrn" / "111200A.asc"
    if not path.exists():
        pytest.skip("shared morphology not available")
    read_asc(str(path), ImportLog(str(path)))
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        secs = read_asc(str(path), ImportLog(str(path)))
        best = min(best, time.perf_counter() - t)
    assert len(secs) == 455
    assert best < 0.2  # about 30 ms on the development machine; NEURON takes 0.4 s


# ---------------------------------------------------------------------------------------------------------
# Against NEURON
# ---------------------------------------------------------------------------------------------------------


def compare_with_neuron(path: str, ref: dict) -> None:
    """Assert that neurax reads ``path`` as NEURON did (``ref`` from the helper)."""
    log = ImportLog(path)
    try:
        mine = read_asc(path, log)
    except MorphologyError as exc:
        assert "error" in ref or "non-finite" in str(exc), (path, str(exc), ref.get("printed"))
        if ref.get("error_line") is not None:
            assert exc.line == ref["error_line"], (path, str(exc), ref.get("printed"))
        return
    assert "error" not in ref, (path, ref.get("error"), ref.get("printed"))
    want = ref["sections"]
    assert len(want) == len(mine), path
    for k, (a, b) in enumerate(zip(want, mine, strict=True)):
        points = np.array([[float.fromhex(v) for v in row] for row in a["pts"]]).reshape(-1, 4)
        where = (path, k)
        assert a["type"] == b.type, where
        assert points.shape == b.points.shape and np.array_equal(points, b.points), where
        assert (a["parent"], a["parentx"], a["first"]) == (b.parent, b.parent_x, b.first), where
        assert (bool(a["iscontour"]), bool(a["sub"]), a["cl"]) == (b.is_contour, b.is_subsidiary, b.contour_stack)


@pytest.mark.neuron
@needs_neuron
def test_shared_files_equal_neuron():
    paths = [str(p) for p in sorted(SHARED.glob("*/*.asc"))] + [str(DATA / n) for n in COPIED]
    if len(paths) < 10:
        pytest.skip("shared morphologies not available")
    ref = load_helper().neuron_read(paths)
    for p in paths:
        compare_with_neuron(p, ref[p])


COLORS = ["Red", "Blue", "Yellow", "MediumGray", "White", "Cyan"]
END_LABELS = ["Normal", "Incomplete", "High", "Low", "Generated", "Midpoint", "Origin"]
ODDITIES = [
    '(Set "s1" ("CellBody" (1 2 0 1) (2 3 0 1) (3 1 0 1)) )',
    '(Set "s2" ( (Dendrite) (5 5 0 1) (6 6 0 1) ) )',
    '((Color Red) (Set "x") (Dendrite) (1 2 3 4) (2 3 4 5))',
    '((Color Red) (Set "x" ("CellBody" (1 2 0 1) (2 3 0 1) (3 1 0 1))) (Axon) (1 2 3 4) (2 3 4 5))',
    '((Set "x" ((Dendrite) (1 1 1 1))) (Axon) (1 2 3 4))',
    '((Dendrite) (Color Red) (10 10 0 1) (11 11 0 1))',
    '((Apical) (1 2 3 4) ( (Cross (1 1 1 1) (2 2 2 2)) (3 3 3 3) | (4 4 4 4) ))',
    '((Apical) (1 2 3 4) ( (Color Blue) (3 3 3 3) | (Name "z") (4 4 4 4) ))',
    '((Axon) (1 2 3 4) ( (Color Blue) (Name "q") (3 3 3 3) ))',
    '((Axon) (1@ 2 3 4))',
    '((Axon) (1 2 3 4) ; @ in comment\n (2 3 4 5)@ \n)',
    '((Axon) (1 2 3 4) (0x1p3 1e 3 4))',
    '((Axon) (1 2 3 4) (1e5e 2 3 4))',
    '("" (1 2 3 4) (2 3 4 5))',
    '("unterminated (1 2 3 4))',
    '((Dendrite) (1 2 3 4) (2 3 4 5) (Cross (Name "x") (1 1 1 1)) Normal)',
    '(Settings (1 2 3 4))',
    '((Dendrite) (Setup 1) (1 2 3 4) (2 3 4 5))',
    '((Color RGB(1,2,3)) (Dendrite) (1 2 3 4) (2 3 4 5))',
    '((Dendrite) (1 2 3 4) (2 3 4 5) <(Class 4 "none")(1 1 1 1)> <(2 2 2 2)> (3 4 5 6))',
    '((Dendrite) (1 2 3 4) , (2 3 4 5) , ( (3 4 5 6) | (4 5 6 7) ) )',
    '((Dendrite) (1,2,3,4) (2,3) (3 4 5) (4 5 6 7 8))',
    '((Font "Arial" 10) (1 2 0 1) "a text")',
    '((Font "Arial" 10) (1 2 0 1) "a text" extra)',
    '((Dendrite) (1 2 3 4) (2 3 4 5 (1 2 3 4)) (3 4 5 6 S1 (1, 2, 3, 4)))',
    '((Dendrite) (1.000000000001 2 3 4) ( (1 2 3 4) (5 5 5 5) | (1.0000000000001 2 3 4) (6 6 6 6) ))',
    '((Dendrite)\n (1\n 2\n 3\n 4)\n (2 3 4 5))',
    '(ImageCoords Filename "x.jpg" 1 2 3)',
    '(Description "multi" "strings" 1 2)',
    '((Axon) (1 2 3 4) (2 3 4 5)) garbage after',
]


class AscWriter:
    """Random Neurolucida text: contours (single, stacked, two somata, too small), trees with splits, markers,
    spines, branch-end labels, every point form, number spellings, comments, CR/LF line ends."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.lines: list[str] = []
        self.nl = self.r.choice(["\n"] * 8 + ["\r\n", "\r"])

    def num(self, v: float) -> str:
        k = self.r.random()
        if k < 0.6:
            return f"{v:.2f}"
        if k < 0.7:
            return repr(float(v))
        if k < 0.8:
            return f"{v:.3e}"
        if k < 0.9:
            return f"{v:+.2f}"
        return f"{v:.0f}."

    def sep(self) -> str:
        return self.r.choice([" ", "  ", "\t", ", ", ","]) if self.r.random() < 0.2 else self.r.choice([" ", "\t"])

    def point(self, x: float, y: float, z: float, d: float, plain: bool = False) -> str:
        k = 0.0 if plain else self.r.random()
        s = self.sep
        if k < 0.8:
            body = f"{self.num(x)}{s()}{self.num(y)}{s()}{self.num(z)}{s()}{self.num(d)}"
        elif k < 0.85:
            body = f"{self.num(x)}{s()}{self.num(y)}{s()}{self.num(z)}"
        elif k < 0.88:
            body = f"{self.num(x)}{s()}{self.num(y)}"
        elif k < 0.94:
            body = f"{self.num(x)} {self.num(y)} {self.num(z)} {self.num(d)} {self.r.choice(['S1', 'R', 'X2'])}"
        else:
            body = f"{self.num(x)} {self.num(y)} {self.num(z)} {self.num(d)} (1 2 3 4)"
        text = f"( {body})"
        if self.r.random() < 0.4:
            text += "  ; " + self.r.choice(["Root", "R, 1", "x@y", '"q', ";;"])
        return text

    def add(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def contour(self, name: str, cx: float, cy: float, z: float, n: int, rad: float, shape: str) -> None:
        self.add(0, f'("{name}"')
        self.add(1, f"(Color {self.r.choice(COLORS)})")
        self.add(1, self.r.choice(["(CellBody)", "(Closed)", "(Resolution 1.5)"]))
        for k in range(n):
            a = 2 * math.pi * k / n
            if shape == "square":
                corner = [(1, 1), (-1, 1), (-1, -1), (1, -1)][k % 4]
                x, y = cx + rad * corner[0], cy + rad * corner[1]
            elif shape == "jagged":
                rr = rad * self.r.uniform(0.6, 1.4)
                x, y = cx + rr * math.cos(a), cy + rr * math.sin(a)
            else:
                x, y = cx + rad * math.cos(a), cy + (0.5 if shape == "ellipse" else 1.0) * rad * math.sin(a)
            self.add(1, self.point(x, y, z, 0.15, plain=True))
        self.add(0, ")  ;  End of contour")
        self.add(0, "")

    def branch(self, depth: int, start: tuple, direction: tuple, level: int) -> None:
        x, y, z = start
        for _ in range(self.r.randint(1, 5)):
            x += direction[0] * self.r.uniform(1, 5)
            y += direction[1] * self.r.uniform(1, 5)
            z += self.r.uniform(-1, 1)
            self.add(depth, self.point(x, y, z, self.r.uniform(0.2, 3)))
            if self.r.random() < 0.05:
                self.add(depth, f'<(Class 4 "none")(Color Red)(Generated 0)({self.num(x + 0.3)} {self.num(y)} 0 0.5)>')
        if self.r.random() < 0.15:
            self.add(depth, "(Cross  ;  [3,3]")
            self.add(depth + 1, '(Name "Marker 3")')
            self.add(depth + 1, self.point(x + 1, y, z, 0.5))
            self.add(depth, ")  ;  End of markers")
        if level < 3 and self.r.random() < 0.6:
            self.add(depth, "(")
            for c in range(self.r.choice([1, 2, 2, 3])):
                if c:
                    self.add(depth, "|")
                ang = math.atan2(direction[1], direction[0]) + self.r.uniform(-1, 1)
                k = self.r.random()
                if k < 0.6:
                    self.add(depth + 1, self.point(x, y, z, self.r.uniform(0.2, 3)))
                elif k < 0.65:
                    self.add(depth + 1, self.point(x + 1e-12, y, z, 1.0, plain=True))
                elif k < 0.7:
                    self.add(depth + 1, f"(Color {self.r.choice(COLORS)})")
                self.branch(depth + 1, (x, y, z), (math.cos(ang), math.sin(ang)), level + 1)
            self.add(depth, ")  ;  End of split")
        elif self.r.random() < 0.7:
            self.add(depth, self.r.choice(END_LABELS))

    def build(self) -> str:
        r = self.r
        self.add(0, ";\tV3 text file written for MicroBrightField products.")
        if r.random() < 0.5:
            self.add(0, r.choice(["(ImageCoords)", "(Sections)", '(Description "x")']))
        somas = []
        layout = r.choice(["one", "one", "stack", "two", "none", "small"])
        if layout == "stack":
            zs = sorted(r.uniform(-5, 5) for _ in range(r.randint(2, 4)))
            if r.random() < 0.2:
                r.shuffle(zs)
            for z in zs:
                self.contour("CellBody", r.uniform(-1, 1), r.uniform(-1, 1), z, r.randint(4, 16), r.uniform(3, 8),
                             r.choice(["circle", "ellipse", "jagged"]))
            somas.append((0.0, 0.0, 8.0))
        elif layout != "none":
            for k in range(2 if layout == "two" else 1):
                cx, cy = (0.0, 0.0) if k == 0 else (r.uniform(60, 100), r.uniform(-20, 20))
                rad = r.uniform(2, 10)
                n = r.randint(1, 2) if layout == "small" else r.randint(3, 25)
                self.contour(r.choice(["CellBody", "Cell Body", "Soma", "pia"]), cx, cy, r.uniform(-3, 3), n, rad,
                             r.choice(["circle", "square", "ellipse", "jagged"]))
                somas.append((cx, cy, rad))
        for _ in range(r.randint(1, 4)):
            kind = r.choice(["Dendrite", "Axon", "Apical", "Dendrite", None, "Other"])
            ang = r.uniform(0, 2 * math.pi)
            d = (math.cos(ang), math.sin(ang))
            if somas and r.random() < 0.7:
                cx, cy, rad = r.choice(somas)
                dist = r.choice([rad * 0.5, rad * 0.9, rad + 0.4, rad + 0.6, rad * 3])
                start = (cx + dist * d[0], cy + dist * d[1], r.uniform(-2, 2))
            else:
                start = (r.uniform(-50, 50), r.uniform(-50, 50), r.uniform(-5, 5))
            self.add(0, "( " + (f"(Color {r.choice(COLORS)})" if r.random() < 0.5 else ""))
            if kind:
                self.add(1, f"({kind})")
            self.add(1, self.point(*start, r.uniform(0.5, 3), plain=True))
            self.branch(1, start, d, 0)
            self.add(0, ")  ;  End of tree")
            self.add(0, "")
        return self.nl.join(self.lines) + self.nl


def with_oddities(text: str, seed: int) -> str:
    r = random.Random(seed)
    lines = text.split("\n")
    for _ in range(r.randint(1, 2)):
        empty = [k for k, ln in enumerate(lines) if ln.strip() == ""]
        lines.insert(r.choice(empty) if empty else len(lines), r.choice(ODDITIES))
    return "\n".join(lines)


def mutated(text: str, seed: int) -> str:
    r = random.Random(seed)
    for _ in range(1 + seed % 3):
        k = r.randrange(len(text) + 1)
        op = r.choice(["delete", "insert", "insert", "line"])
        if op == "delete" and text:
            text = text[:k] + text[k + 1:]
        elif op == "insert":
            junk = r.choice(["@", "$", '"', "(", ")", "|", "<", ">", "1e", " inf ", "set ", ",", ";"])
            text = text[:k] + junk + text[k:]
        else:
            lines = text.split("\n")
            j = r.randrange(len(lines))
            lines.insert(j, lines[r.randrange(len(lines))])
            text = "\n".join(lines)
    return text


@pytest.mark.neuron
@needs_neuron
@pytest.mark.parametrize("variant, count", [("plain", 400), ("oddities", 120), ("mutated", 160)])
def test_random_files_equal_neuron(tmp_path, variant, count):
    paths = []
    for seed in range(count):
        text = AscWriter(seed).build()
        if variant == "oddities":
            text = with_oddities(text, seed)
        elif variant == "mutated":
            text = mutated(text, seed)
        path = tmp_path / f"{variant}_{seed}.asc"
        path.write_bytes(text.encode("latin-1"))
        paths.append(str(path))
    ref = load_helper().neuron_read(paths)
    for p in paths:
        compare_with_neuron(p, ref[p])
