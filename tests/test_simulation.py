"""The engine against NEURON 9: every stored trace, through the Python API and through the command line.

Each reference (tests/reference_neuron/traces/, made by generate_traces.py) is a protocol on a real
reconstruction; neurax must reproduce every recorded voltage with a maximum error of 1e-6 mV over the whole
trace and the same spike counts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import neurax as nx
from neurax.cli import main
from tests.conftest import reference_source
from tests.reference_neuron.generate_traces import cli_args
from tests.reference_neuron.trace_refs import load_trace, trace_files

TRACES = trace_files()
CLI_CASES = ["ball_hh_dlambda_table", "pvalb_hh_midstep_exact_dt001", "c91662_pas_two_clamps",
             "types_hh_34_pulses"]


def spikes(v, threshold=0.0):
    return int(np.count_nonzero((v[:-1] < threshold) & (v[1:] >= threshold)))


def run_case(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nx.MorphologyRepairWarning)
        morph = nx.load(reference_source(case["morphology"]))
    policy = nx.DLambda(case["d_lambda"]) if case["nseg"] is None else case["nseg"]
    mech = nx.HH() if case["mechanism"] == "hh" else nx.Pas()
    cell = nx.Cell(morph, policy, Ra=case["Ra"], cm=case["cm"]).insert(mech)
    clamps = [nx.IClamp.parse(text) for text in case["iclamp"]]
    return cell, nx.simulate(cell, clamps, case["record"], tstop=case["tstop"], dt=case["dt"],
                             v_init=case["v_init"], celsius=case["celsius"], rates=case["rates"])


def test_enough_references():
    assert len(TRACES) >= 30
    morphologies = {load_trace(p)["case"]["morphology"] for p in TRACES}
    assert len(morphologies) >= 10


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.stem)
def test_traces_match_neuron(path):
    ref = load_trace(path)
    cell, sol = run_case(ref["case"])
    assert cell.tree.n_segments == ref["ncompartments"]
    np.testing.assert_allclose(np.asarray(sol.t), ref["t"], rtol=0, atol=1e-9)
    v = np.asarray(sol.v)
    err = np.abs(v - ref["v"]).max()
    assert err <= 1e-6, f"max |dV| = {err:.3g} mV"
    assert [spikes(trace) for trace in v] == ref["spike_counts"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_command_line_traces_match_neuron(tmp_path, capsys, name):
    ref = load_trace(name)
    out = tmp_path / "traces.npz"
    assert main(["simulate", *cli_args(ref["case"]), "--out", str(out)]) == 0
    assert "compartments" in capsys.readouterr().out
    with np.load(out) as data:
        np.testing.assert_allclose(data["t"], ref["t"], atol=1e-9)
        for name_, want in ref["by_record"].items():
            assert np.abs(data[name_] - want).max() <= 1e-6
