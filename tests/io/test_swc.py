"""SWC reading: NEURON's sectioning rules on small inline files, and every kind of bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import neurax as nx
from neurax.errors import (
    MorphologyFileError,
    MorphologyRepairWarning,
    MorphologyStructureError,
    MorphologySyntaxError,
    StrictModeError,
)
from tests.conftest import shared


def load_text(tmp_path, text, name="cell.swc", **kwargs):
    path = tmp_path / name
    path.write_text(text)
    return nx.load(path, **kwargs)


SIMPLE = """# a comment
1 1 0 0 0 1 -1
2 3 0 0 0 1 1
3 3 0 5 0 1 2
4 3 -5 5 0 0.75 3
5 3 6 5 0 0.75 3
6 2 0 0 0 1 1
7 2 0 -4 0 1 6
"""


def test_one_point_soma_becomes_sphere_and_neurites_are_wired(tmp_path):
    m = load_text(tmp_path, SIMPLE)
    assert [s.name for s in m] == ["soma[0]", "axon[0]", "dend[0]", "dend[1]", "dend[2]"]
    soma = m["soma[0]"]
    np.testing.assert_array_equal(soma.points, [[-1, 0, 0, 2], [0, 0, 0, 2], [1, 0, 0, 2]])
    dend = m["dend[0]"]
    assert (dend.parent, dend.parent_x, dend.wire) == (0, 0.5, True)
    # the repeated soma centre is dropped (wire): the dendrite starts at its own first sample
    np.testing.assert_array_equal(dend.points, [[0, 0, 0, 2], [0, 5, 0, 2]])
    assert m["dend[1]"].parent_x == 1.0
    assert m.sectionlists["basal"] == ("dend[0]", "dend[1]", "dend[2]")
    assert m.sectionlists["somatic"] == ("soma[0]",)


def test_tracing_interruption_splits_a_section(tmp_path):
    # sample 4 continues sample 2 but is not on the line after it: NEURON starts a new section there
    text = "1 1 0 0 0 1 -1\n2 3 0 1 0 1 1\n3 3 0 2 0 1 2\n4 3 0 3 0 1 2\n"
    m = load_text(tmp_path, text)
    assert [s.name for s in m] == ["soma[0]", "dend[0]", "dend[1]", "dend[2]"]
    text_in_order = "1 1 0 0 0 1 -1\n2 3 0 1 0 1 1\n3 3 0 2 0 1 2\n4 3 0 3 0 1 3\n"
    assert len(load_text(tmp_path, text_in_order)) == 2


def test_type_change_ends_a_section_and_custom_types_get_lists(tmp_path):
    text = "1 1 0 0 0 1 -1\n2 3 0 1 0 1 1\n3 3 0 2 0 1 2\n4 7 0 3 0 1 3\n5 7 0 4 0 1 4\n"
    m = load_text(tmp_path, text)
    assert [s.name for s in m] == ["soma[0]", "dend[0]", "dend_7[0]"]
    assert m.sectionlists["dend_7"] == ("dend_7[0]",)
    assert m.sectionlists["basal"] == ("dend[0]",)


def test_neuromorpho_three_point_soma_is_a_sphere(tmp_path):
    text = "1 1 0 0 0 2 -1\n2 1 0 -2 0 2 1\n3 1 0 2 0 2 1\n4 3 0 2 0 0.5 1\n5 3 0 9 0 0.5 4\n"
    m = load_text(tmp_path, text)
    np.testing.assert_array_equal(m["soma[0]"].points[:, 0], [-2, 0, 2])
    assert m["soma[0]"].L == 4.0


def test_three_point_soma_that_is_not_a_sphere_gives_two_soma_sections(tmp_path):
    text = "1 1 0 0 0 2 -1\n2 1 0 -3 0 2 1\n3 1 0 3 0 2 1\n4 3 0 3 0 0.5 1\n5 3 0 9 0 0.5 4\n"
    m = load_text(tmp_path, text)
    assert [s.name for s in m][:2] == ["soma[0]", "soma[1]"]


def test_crlf_blank_lines_and_extra_columns(tmp_path):
    text = SIMPLE.replace("\n", " 99 extra\r\n\r\n").replace("# a comment 99 extra", "# a comment")
    m = load_text(tmp_path, text)
    assert len(m) == 5


def test_float32_points_match_strtof(tmp_path):
    # 63.84000205993652 lies within a double ulp of a float32 midpoint: strtof rounds down
    text = "1 1 0 0 0 1 -1\n2 3 63.84000205993652 0 0 1 1\n3 3 70 0 0 1 2\n"
    m = load_text(tmp_path, text)
    assert m["dend[0]"].points[0, 0] == 63.84000015258789


def test_missing_parent_is_attached_to_the_root_with_a_warning(tmp_path):
    text = "1 1 0 0 0 1 -1\n2 3 0 1 0 1 1\n3 3 0 2 0 1 2\n5 3 4 4 0 1 4\n6 3 4 5 0 1 5\n"
    with pytest.warns(MorphologyRepairWarning, match=r"cell.swc:4: sample 5 refers to parent 4"):
        m = load_text(tmp_path, text)
    assert m[m.sectionlists["basal"][-1]].parent == 0
    with pytest.raises(StrictModeError, match="cell.swc:4"):
        load_text(tmp_path, text, strict=True)


def test_forward_references_are_reordered_with_a_warning(tmp_path):
    # ids in descending order: sorted by id (NEURON 9 means to, but crashes), with a warning ...
    with pytest.warns(MorphologyRepairWarning, match="not increasing"):
        assert len(load_text(tmp_path, "3 3 0 2 0 1 2\n2 3 0 1 0 1 1\n1 1 0 0 0 1 -1\n")) == 2
    # ... but a parent id larger than its child's id is refused by NEURON
    text = "1 3 0 2 0 1 2\n2 3 0 1 0 1 3\n3 1 0 0 0 1 -1\n"
    with pytest.warns(MorphologyRepairWarning, match="reordered"):
        m = load_text(tmp_path, text)
    assert [s.name for s in m] == ["soma[0]", "dend[0]"]
    np.testing.assert_array_equal(m["dend[0]"].points[:, 1], [1, 2])
    with pytest.raises(StrictModeError, match="cell.swc:1: sample 1 has parent 2"):
        load_text(tmp_path, text, strict=True)


def test_several_roots_warn(tmp_path):
    text = SIMPLE + "8 3 9 9 0 1 -1\n9 3 9 10 0 1 8\n"
    with pytest.warns(MorphologyRepairWarning, match="root samples"):
        load_text(tmp_path, text)


def test_zero_and_negative_radii_warn_or_are_refused_in_strict_mode(tmp_path):
    text = "1 1 0 0 0 1 -1\n2 3 0 1 0 0 1\n3 3 0 2 0 -1 2\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = load_text(tmp_path, text)
    messages = [str(w.message) for w in caught]
    assert any("radius 0" in s for s in messages) and any("negative radius" in s for s in messages)
    assert m["dend[0]"].points[-1, 3] == -2.0  # NEURON keeps the sign; geometry uses |d|
    with pytest.raises(StrictModeError):
        load_text(tmp_path, text, strict=True)


@pytest.mark.parametrize("text, error, where", [
    ("", MorphologyFileError, "file is empty"),
    ("# only a comment\n\n", MorphologyFileError, "no SWC samples"),
    ("1 1 0 0 0 1\n", MorphologySyntaxError, "cell.swc:1: expected 7 numbers, found 6"),
    ("1 1 0 0 0 1 -1\n2 3 0 1 zero 1 1\n", MorphologySyntaxError, "cell.swc:2: z 'zero' is not a number"),
    ("1 1 0 0 0 1 -1\n2 3 0 1 1_0 1 1\n", MorphologySyntaxError, "cell.swc:2: z '1_0' is not a number"),
    ("1 1 0 0 0 1 -1\n2 3 0 nan 0 1 1\n", MorphologyStructureError, "cell.swc:2: y is 'nan'"),
    ("1 1 0 0 0 1 -1\n2 3 0 inf 0 1 1\n", MorphologyStructureError, "cell.swc:2: y is 'inf'"),
    ("1 1 0 0 0 1 -1\n1 3 0 1 0 1 1\n", MorphologyStructureError, "sample id 1 is used twice"),
    ("1 1 0 0 0 1 -1\n2 3 0 1 0 1 2\n", MorphologyStructureError, "cell.swc:2: sample 2 is its own parent"),
    ("1 1 0 0 0 1 3\n2 3 0 1 0 1 1\n3 3 0 2 0 1 2\n", MorphologyStructureError, "ancestor"),
    ("1.5 1 0 0 0 1 -1\n", MorphologyStructureError, "cell.swc:1: id '1.5' is not an integer"),
    ("-4 1 0 0 0 1 -1\n", MorphologyStructureError, "negative"),
    ("1 1 0 0 0 1 -1\n2 3 0 1 0 1 # 1\n", MorphologySyntaxError, "cell.swc:2: expected 7 numbers"),
])
def test_bad_swc_input_gives_a_clear_error(tmp_path, text, error, where):
    with pytest.raises(error, match=where.replace("(", r"\(")):
        load_text(tmp_path, text)


def test_truncated_last_line(tmp_path):
    with pytest.raises(MorphologySyntaxError, match=r"cell.swc:3: expected 7 numbers, found 4"):
        load_text(tmp_path, SIMPLE.splitlines()[0] + "\n1 1 0 0 0 1 -1\n2 3 0 1\n")


def test_binary_missing_and_unknown_files(tmp_path):
    binary = tmp_path / "cell.swc"
    binary.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(MorphologyFileError, match="binary"):
        nx.load(binary)
    with pytest.raises(MorphologyFileError, match="no such file"):
        nx.load(tmp_path / "absent.swc")
    other = tmp_path / "cell.obj"
    other.write_text(SIMPLE)
    with pytest.raises(MorphologyFileError, match="unknown morphology format '.obj'"):
        nx.load(other)
    assert len(nx.load(other, format="swc")) == 5
    with pytest.raises(MorphologyFileError, match="directory"):
        nx.load(tmp_path, format="swc")


@pytest.mark.parametrize("relative, error, where", [
    ("neurom/repeated_id.swc", MorphologyStructureError, "repeated_id.swc:6: sample id 4 is used twice"),
    ("jaxley/morph_multiple_roots.swc", MorphologyStructureError, "sample id 3 is used twice"),
])
def test_shared_malformed_files_are_refused(relative, error, where):
    with pytest.raises(error, match=where):
        nx.load(shared(relative))


@pytest.mark.parametrize("relative, repair", [
    ("morphio/multiple_soma.swc", "root samples"),
    ("morphio/disconnected_neurite.swc", "root samples"),
    ("neurom/Neuron_missing_ids.swc", "does not exist"),
    ("neurom/simple_reversed.swc", "reordered"),
    ("morphio/soma_cylinders.swc", "zero length"),
    ("neurom/soma_zero_radius.swc", "radius 0"),
])
def test_shared_files_neuron_repairs_warn_and_strict_refuses(relative, repair):
    with pytest.warns(MorphologyRepairWarning, match=repair):
        nx.load(shared(relative))
    with pytest.raises(StrictModeError):
        nx.load(shared(relative), strict=True)
