"""neurax's import and geometry against NEURON 9's, for every stored reference.

Each reference in tests/reference_neuron/morphology/ was made by running NEURON's Import3d on a file
(generate_morphology.py). Topology, names, parents, parent_x and section lists must be identical, 3-D
points bit-identical, and L, segment area, ri and diam within relative 1e-9, at nseg 1, nseg 3 and the
d_lambda 0.1 rule (Ra 100).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import neurax as nx
from neurax.errors import MorphologyError, MorphologyRepairWarning
from tests.conftest import reference_source
from tests.reference_neuron.morphology_refs import load_reference, reference_files

REFERENCES = reference_files()
CONFIGS = {"nseg1": (1, 35.4), "nseg3": (3, 35.4), "dlambda": (nx.DLambda(0.1), 100.0)}
# Files NEURON itself cannot import, and what neurax does instead.
NEURON_FAILS = {
    "neurom/repeated_id.swc": "error",            # NEURON segfaults; neurax names the duplicate id
    "jaxley/morph_multiple_roots.swc": "error",   # duplicate id 3: NEURON segfaults
    "morphio/invalid-incomplete.asc": "error",    # a point after 'Incomplete': parse error in both
    "neurom/simple_reversed.swc": "reordered",    # parents after children: neurax reorders and warns
}


def _load_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MorphologyRepairWarning)
        return nx.load(path)


def test_references_exist():
    assert len(REFERENCES) >= 45
    groups = {p.name.split("__")[0] for p in REFERENCES}
    assert {"nrn", "arbor", "jaxley", "morphio", "neurom", "allen_bmtk", "random"} <= groups


@pytest.mark.parametrize("ref_path", REFERENCES, ids=lambda p: p.name[:-4])
def test_matches_neuron(ref_path):
    ref = load_reference(ref_path)
    path = reference_source(ref["source"])
    if ref["status"] != "ok":
        expected = NEURON_FAILS[ref["source"]]
        if expected == "error":
            with pytest.raises(MorphologyError):
                nx.load(path)
        else:
            sorted_ref = load_reference(ref_path.parent / "reordered__simple_reversed_sorted.swc.npz")
            with pytest.warns(MorphologyRepairWarning, match="reordered"):
                morph = nx.load(path)
            _compare(morph, sorted_ref)
        return
    morph = _load_quietly(path)
    _compare(morph, ref)


def _compare(morph, ref):
    sections = ref["sections"]
    assert [s.name for s in morph] == [s["name"] for s in sections]
    for sec, r in zip(morph, sections, strict=True):
        parent = None if sec.parent is None else morph[sec.parent].name
        assert (parent, sec.parent_x) == (r["parent"], r["parent_x"]), sec.name
        np.testing.assert_array_equal(sec.points, r["points"], err_msg=sec.name)
        np.testing.assert_allclose(sec.L, r["L"], rtol=1e-9, atol=1e-12, err_msg=sec.name)
    assert {k: list(v) for k, v in morph.sectionlists.items() if v or k == "all"} == \
        {k: list(v) for k, v in ref["sectionlists"].items() if v or k == "all"}
    for name, (policy, ra) in CONFIGS.items():
        cfg = ref["configs"][name]
        if cfg.get("error"):
            # NEURON's lambda_f stops on a zero diameter or a zero length; neurax must refuse too, clearly.
            with pytest.raises(nx.DiscretizationError, match="lambda_f"):
                nx.discretize(morph, policy, Ra=ra)
            continue
        tree = nx.discretize(morph, policy, Ra=ra, cm=1.0)
        for sec, r in zip(morph, sections, strict=True):
            want = r["configs"][name]
            lo, hi = tree.seg_offsets[sec.index], tree.seg_offsets[sec.index + 1]
            assert tree.nseg[sec.index] == want["nseg"], (name, sec.name)
            for key, mine in (("x", tree.seg_x), ("area", tree.seg_area), ("ri", tree.seg_ri),
                              ("diam", tree.seg_diam)):
                np.testing.assert_allclose(mine[lo:hi], want[key], rtol=1e-9, atol=0,
                                           err_msg=f"{name} {key} {sec.name}")
            np.testing.assert_allclose(tree.end_ri[sec.index], want["ri1"], rtol=1e-9, err_msg=sec.name)
