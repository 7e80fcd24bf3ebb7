"""The compartment tree: Hines order, NEURON's connection rules, nseg policies and coefficients."""

from __future__ import annotations

import numpy as np
import pytest

import neurax as nx
from neurax.errors import DiscretizationError, LocationError
from tests.conftest import REPO

CELL = REPO / "data" / "swc" / "c91662.swc"


@pytest.fixture(scope="module")
def morph():
    return nx.load(CELL)


def test_hines_order_and_node_counts(morph):
    tree = nx.discretize(morph, 3)
    assert tree.n_segments == 3 * len(morph)
    assert tree.n_nodes == 4 * len(morph) + len(morph.roots)  # nseg centres + x=1 end, + x=0 of roots
    assert np.all(tree.parent < np.arange(tree.n_nodes))
    assert np.count_nonzero(tree.parent < 0) == len(morph.roots)
    assert np.all(tree.area[tree.seg_node] > 0)
    assert np.all(tree.area[tree.end_node] == 0)


def test_children_attach_where_neuron_attaches_them(morph):
    tree = nx.discretize(morph, 3)
    for sec in morph:
        first = tree.seg_node[tree.seg_offsets[sec.index]]
        if sec.parent is None:
            assert tree.parent[first] == tree.start_node[sec.index]
            continue
        p = sec.parent
        expected = {1.0: tree.end_node[p], 0.5: tree.seg_node[tree.seg_offsets[p] + 1]}.get(sec.parent_x)
        if sec.parent_x == 0.0:
            expected = tree.start_node[p]
        assert tree.parent[first] == expected, sec.name


def test_node_of_locations(morph):
    tree = nx.discretize(morph, 5)
    s = morph["dend[3]"].index
    assert tree.node_of("dend[3](1)") == tree.end_node[s]
    assert tree.node_of("dend[3](0.5)") == tree.seg_node[tree.seg_offsets[s] + 2]
    assert tree.node_of("dend[3](0.999)") == tree.seg_node[tree.seg_offsets[s] + 4]
    assert tree.node_of("dend[3](0)") == tree.start_node[s]


def test_axial_coefficients_follow_connection_coef(morph):
    tree = nx.discretize(morph, 2, Ra=80.0)
    a, b = tree.axial_coefficients()
    i = tree.seg_node[5]
    area = lambda k: tree.area[k] if tree.area[k] > 0 else 100.0  # noqa: E731
    assert b[i] == pytest.approx(-100 * tree.g_axial[i] / area(i))
    assert a[i] == pytest.approx(-100 * tree.g_axial[i] / area(tree.parent[i]))
    roots = tree.parent < 0
    assert np.all(a[roots] == 0) and np.all(b[roots] == 0)
    # g is the reciprocal of seg.ri() at every segment centre
    np.testing.assert_allclose(tree.g_axial[tree.seg_node], 1 / tree.seg_ri, rtol=1e-12)


def test_policies_and_overrides(morph):
    base = nx.discretize(morph, nx.DLambda(0.1), Ra=100.0)
    assert np.all(base.nseg % 2 == 1)
    finer = nx.discretize(morph, nx.DLambda(0.05), Ra=100.0)
    assert finer.n_segments > base.n_segments
    capped = nx.discretize(morph, nx.MaxLength(20.0))
    lengths = np.array([s.L for s in morph]) / capped.nseg
    assert np.all(lengths <= 20.0) and np.all(capped.nseg % 2 == 1)
    mixed = nx.discretize(morph, 1, overrides={"apical": 5, "dend[3]": nx.MaxLength(1.0)})
    for sec in morph:
        want = 5 if sec.type == 4 else 1
        if sec.name == "dend[3]":
            want = int(np.ceil(sec.L)) | 1
        assert mixed.nseg[sec.index] == want, sec.name
    per_list_ra = nx.discretize(morph, 1, Ra={"apical": 200.0})
    assert per_list_ra.Ra[morph["apic[0]"].index] == 200.0 and per_list_ra.Ra[0] == 35.4


@pytest.mark.parametrize("kwargs, error", [
    ({"nseg": 0}, DiscretizationError), ({"nseg": 40000}, DiscretizationError),
    ({"nseg": 1.5}, DiscretizationError), ({"nseg": 1, "Ra": -1.0}, DiscretizationError),
    ({"nseg": 1, "overrides": {"oblique": 3}}, LocationError),
])
def test_bad_discretisation_arguments(morph, kwargs, error):
    with pytest.raises(error):
        nx.discretize(morph, **kwargs)


def test_bad_policy_values():
    with pytest.raises(DiscretizationError):
        nx.DLambda(0.0)
    with pytest.raises(DiscretizationError):
        nx.MaxLength(-1.0)
