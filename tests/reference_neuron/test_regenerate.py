"""With NEURON installed (pip install -e .[neuron]), regenerating a reference reproduces the stored one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED_MORPHOLOGIES
from tests.reference_neuron.morphology_refs import REFERENCE_DIR, load_reference

pytest.importorskip("neuron")
pytestmark = pytest.mark.neuron

GENERATOR = Path(__file__).with_name("generate_morphology.py")


@pytest.mark.parametrize("only", ["morphio/three_point_soma.swc", "nrn/simple.asc", "morphio/simple.h5"])
def test_regenerated_reference_equals_stored(tmp_path, only):
    if not SHARED_MORPHOLOGIES.exists():
        pytest.skip("shared morphologies not found")
    subprocess.run([sys.executable, str(GENERATOR), "--only", only, "--jobs", "1", "--out", str(tmp_path),
                    "--root", str(SHARED_MORPHOLOGIES)], check=True, capture_output=True, timeout=600)
    name = only.replace("/", "__") + ".npz"
    fresh, stored = load_reference(tmp_path / name), load_reference(REFERENCE_DIR / name)
    assert fresh["meta"]["sections"] == stored["meta"]["sections"]
    for key, value in stored["arrays"].items():
        np.testing.assert_array_equal(fresh["arrays"][key], value, err_msg=key)


MECHANISM_GENERATOR = Path(__file__).with_name("generate_mechanisms.py")


@pytest.mark.parametrize("name", ["c91662_hh_equiv_exact", "one_SK_order_listed"])
def test_regenerated_mechanism_trace_equals_stored(tmp_path, name):
    """nrnivmodl (files named in neurax's order, in a temporary folder) and NEURON give the stored trace again."""
    from tests.reference_neuron.trace_refs import load_mechanism_trace

    subprocess.run([sys.executable, str(MECHANISM_GENERATOR), "--only", name, "--jobs", "1", "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=600)
    fresh, stored = load_mechanism_trace(tmp_path / f"{name}.npz"), load_mechanism_trace(name)
    assert fresh["case"] == stored["case"]
    assert fresh["meta"]["mod_files"] == stored["meta"]["mod_files"]
    np.testing.assert_array_equal(fresh["t"], stored["t"])
    np.testing.assert_array_equal(fresh["v"], stored["v"])


def test_regenerated_port_fit_target_equals_stored(tmp_path):
    """The recording tutorial 6 fits comes again from NEURON, bit for bit, with the true values it states."""
    from tests.reference_neuron.trace_refs import load_port_trace

    subprocess.run([sys.executable, str(Path(__file__).with_name("generate_port_fit.py")), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=600)
    fresh, stored = load_port_trace(tmp_path / "pyramidal_fit.npz"), load_port_trace("pyramidal_fit")
    for key in ("factors", "model_values", "true_values", "iclamp", "settings", "record"):
        assert fresh["meta"][key] == stored["meta"][key], key
    for key, factor in stored["meta"]["factors"].items():
        assert stored["meta"]["true_values"][key] == pytest.approx(stored["meta"]["model_values"][key] * factor)
    np.testing.assert_array_equal(fresh["v"], stored["v"])


def test_regenerated_network_references_equal_stored():
    from tests.reference_neuron.generate_network import check_stored

    assert check_stored() == []
