"""Networks against NEURON: the stored references of ``tests/reference_neuron/generate_network.py``: one cell with
ExpSyn and Exp2Syn events from given spike times, a ring of 10 cells, and two cells coupled by graded synapses
(a NEURON point process reading the presynaptic voltage through a POINTER).

Each reference describes its network completely in its metadata (cells, nseg per section, synapses, spike
sources, NetCons); the network is rebuilt here with neurax's public API from that description alone, simulated,
and compared: the same spike times in every cell (NEURON's ``NetCon.record`` times) and max |dV| <= 1e-6 mV.
"""

from __future__ import annotations

import numpy as np
import pytest

import neurax as nx
from tests.reference_neuron.generate_network import load_network

REPO_FILES = ("synapses_one_cell", "ring10", "graded_pair")


def _relative(name: str, cell_name: str) -> str:
    """A section name without its cell's prefix."""
    return name[len(cell_name) + 1:] if cell_name and name.startswith(cell_name + ".") else name


def build(meta: dict) -> nx.Network:
    """The network a reference's metadata describes, built with neurax's API."""
    cells = []
    names = [c["name"] for c in meta["cells"]]
    for spec in meta["cells"]:
        morph = nx.load(spec["morphology"])
        nseg = {_relative(k, spec["name"]): v for k, v in spec["nseg"].items()}
        cell = nx.Cell(morph, 1, Ra=spec["Ra"], cm=spec["cm"], nseg_overrides=nseg)
        for region, mechs in spec["mechanisms"].items():
            for mech, values in mechs.items():
                if mech == "hh":
                    cell = cell.insert(nx.HH(**values), on=region)
                elif mech == "ions":
                    for var, value in values.items():
                        cell = cell.set(var, value, on=region)
        cells.append(cell)
    net = nx.Network(cells, names=names)
    sources = meta["sources"]
    synapses = meta["synapses"]

    def where(syn) -> str:
        return f"{_relative(syn['section'], names[syn['cell']])}({syn['x']})"

    for syn in synapses:  # one synapse object per reference synapse: its NetCons share it
        net = net.place(getattr(nx, syn["mechanism"])(**syn["parameters"]), syn["cell"], where(syn))
    for nc in meta["netcons"]:
        syn = synapses[nc["synapse"]]
        src = sources[nc["source"]]
        if src["kind"] == "VecStim":
            net = net.stimulate(nx.SpikeTrain(src["spike_times"]), syn["cell"], syn["mechanism"], target=where(syn),
                                weight=nc["weight"], delay=nc["delay"])
        else:
            pre = src["cell"]
            source = f"{_relative(src['section'], names[pre])}({src['x']})"
            net = net.connect(pre, syn["cell"], syn["mechanism"], source=source, target=where(syn),
                              weight=nc["weight"], delay=nc["delay"], threshold=nc["threshold"])
    for gs in meta.get("graded_synapses", []):
        pre, post = gs["pre_cell"], gs["post_cell"]
        net = net.connect_graded(pre, post, source=f"{_relative(gs['pre_section'], names[pre])}({gs['pre_x']})",
                                 target=f"{_relative(gs['post_section'], names[post])}({gs['post_x']})",
                                 gmax=gs["gmax"], e=gs["e"], v_half=gs["vhalf"], slope=gs["slope"])
    for src in sources:  # spike sources recorded without connections
        if src["kind"] == "threshold":
            net = net.watch(src["cell"], f"{_relative(src['section'], names[src['cell']])}({src['x']})",
                            src["threshold"])
    return net


@pytest.mark.parametrize("name", REPO_FILES)
def test_network_matches_neuron(name):
    ref = load_network(name)
    meta = ref["meta"]
    net = build(meta)
    sim = meta["simulation"]
    names = [c["name"] for c in meta["cells"]]
    clamps = [nx.IClamp(f"{names[c['cell']] + '.' if names[c['cell']] else ''}"
                        f"{_relative(c['section'], names[c['cell']])}({c['x']})", c["delay"], c["dur"], c["amp"])
              for c in meta.get("iclamps", [])]
    sol = nx.simulate(net, clamps, record=meta["record"], tstop=sim["tstop"], dt=sim["dt"], v_init=sim["v_init"],
                      celsius=sim["celsius"])
    v = np.asarray(sol.v)
    assert v.shape == ref["v"].shape
    assert np.max(np.abs(v - ref["v"])) <= 1e-6
    spikes = sol.spike_times()
    for src in meta["sources"]:
        if src["kind"] != "threshold":
            continue
        cell = meta["cells"][src["cell"]]["name"]
        key = f"{cell + '.' if cell else ''}{_relative(src['section'], cell)}({src['x']})"
        mine, theirs = spikes[key], np.asarray(src["spike_times"])
        assert mine.size == theirs.size, key
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-9)
