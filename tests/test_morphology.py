"""Morphology queries: names, section lists, locations and path distances."""

from __future__ import annotations

import pytest

import neurax as nx
from neurax.errors import LocationError
from tests.conftest import REPO

CELL = REPO / "data" / "swc" / "c91662.swc"


@pytest.fixture(scope="module")
def morph():
    return nx.load(CELL)


def test_lookup_by_name_and_index(morph):
    assert morph["soma"] is morph["soma[0]"] is morph[0]
    assert morph["dend[3]"].name == "dend[3]"
    assert len(morph) == 194 and len(morph.roots) == 1
    with pytest.raises(LocationError, match="no section named 'dend\\[999\\]'"):
        morph["dend[999]"]
    dend = morph["dend[3]"]
    assert morph.label("dend[3]") == f"{morph.source}:{dend.line}: dend[3]" and dend.line > 1


def test_section_lists(morph):
    lists = morph.sectionlists
    assert set(lists) >= {"all", "somatic", "axonal", "basal", "apical"}
    assert len(lists["all"]) == len(morph)
    assert sum(len(lists[k]) for k in ("somatic", "axonal", "basal", "apical")) == len(morph)
    assert all(s.type == 4 for s in morph.sectionlist("apical"))
    with pytest.raises(LocationError, match="no section list named 'oblique'"):
        morph.sectionlist("oblique")


@pytest.mark.parametrize("text, where", [("dend[3](0.7)", ("dend[3]", 0.7)), ("soma", ("soma[0]", 0.5)),
                                         ("apic[2]( 1 )", ("apic[2]", 1.0)), ("axon[0](0)", ("axon[0]", 0.0))])
def test_locations(morph, text, where):
    loc = morph.location(text)
    assert (morph[loc.section].name, loc.x) == where


@pytest.mark.parametrize("bad", ["dend[3](1.5)", "dend[3](x)", "3dend", "dend[3](0.5", "nothing[0](0.5)"])
def test_bad_locations(morph, bad):
    with pytest.raises(LocationError):
        morph.location(bad)


def test_distance_follows_the_tree(morph):
    dend = morph["dend[3]"]
    assert morph.distance("dend[3](0.5)", "dend[3](0.25)") == pytest.approx(0.25 * dend.L)
    # from the soma centre to a child's far end: the path through every ancestor
    path, sec, x = 0.0, dend, 1.0
    while sec.parent is not None:
        path += x * sec.L
        x, sec = sec.parent_x, morph[sec.parent]
    path += abs(x - 0.5) * sec.L
    assert morph.distance("dend[3](1)") == pytest.approx(path)
    assert morph.distance("dend[3](1)", "apic[0](0)") == pytest.approx(
        morph.distance("dend[3](1)") + morph.distance("apic[0](0)"))
