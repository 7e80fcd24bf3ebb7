"""A NEURON network brought over by ``neurax port``: 20 real reconstructions, ExpSyn and Exp2Syn synapses, NetStim
drive (``docs/models/network20.py``). The stored model file and NEURON's recording come from
``tests/reference_neuron/generate_network_port.py``; the test needs no NEURON.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurax.events import SPIKE_EPS
from neurax.port.model import build_model

PORTS = Path(__file__).resolve().parents[1] / "reference_neuron" / "ports"


@pytest.fixture(scope="module")
def reference():
    doc = json.loads(gzip.decompress((PORTS / "network20.json.gz").read_bytes()))
    ref = np.load(PORTS / "network20.npz", allow_pickle=False)
    return doc, ref["t"], ref["v"], json.loads(str(ref["meta"]))


def test_ported_network_gives_neurons_spikes_and_voltages(reference):
    doc, t, v, meta = reference
    model = build_model(doc, "network20.json")
    net = model.network
    assert net.n_connections == meta["nconnections"] + len(doc["artificial_cells"])
    sol = model.simulate(meta["record"])
    assert np.max(np.abs(np.asarray(sol.v) - v)) <= 1e-6
    spikes = sol.spike_times()
    for loc, theirs in zip(meta["record"], meta["spike_times"], strict=True):
        mine = spikes[loc]
        assert mine.size == len(theirs) > 0, loc
        np.testing.assert_allclose(mine, np.asarray(theirs), rtol=0, atol=10 * SPIKE_EPS)


def test_simulate_command_prints_spike_times_of_a_ported_network(reference, tmp_path):
    model = tmp_path / "network20.json"
    model.write_bytes(gzip.decompress((PORTS / "network20.json.gz").read_bytes()))
    out = tmp_path / "out.npz"
    run = subprocess.run([sys.executable, "-m", "neurax", "simulate", str(model), "--tstop", "60", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "spike times (ms) of 20 source(s)" in run.stdout
    data = np.load(out)
    assert any(key.startswith("spikes:") for key in data.files)
