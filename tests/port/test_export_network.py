"""The exporter's networks: ExpSyn and Exp2Syn, NetStim and NMODL artificial cells, NetCons (run in NEURON).

NEURON cannot be reset inside a process, so each test module's session runs in a fresh Python process
(:data:`DRIVER`): it builds a small model (:data:`BASE`), exports it, then, one case at a time, adds what
neurax cannot carry, records the exporter's message and removes it again (a NetCon or a cell is gone once
Python drops its last reference), so that every case meets an otherwise valid model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO
from tests.port.test_ports_vs_neuron import needs_neuron

#: Runs in a fresh process: ``argv[1]`` is ``{"base": code, "cases": {name: [add, remove]}, "library", "mods",
#: "out"}``; writes ``{"document": ..., "errors": {name: message or None}}`` to ``out``.
DRIVER = r"""
import json, sys
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["repo"])
from neuron import h
if spec["library"] and not h.nrn_load_dll(spec["library"]):
    sys.exit("could not load " + spec["library"])
h.load_file("stdrun.hoc")
from neurax.port.export import export
from neurax.port.run import mechanism_info, type_orders
info, _ = mechanism_info(spec["mods"])
orders = type_orders(h)
for name, entry in info.items():
    entry["order"] = orders.get(name, entry["order"])
ns = {"h": h}
exec(spec["base"], ns)
result = {"document": export(h, info, {"test": True}), "errors": {}}
for name, (add, remove) in spec["cases"].items():
    exec(add, ns)
    try:
        export(h, info, {})
        result["errors"][name] = None
    except ValueError as err:
        result["errors"][name] = str(err)
    exec(remove, ns)
result["after"] = export(h, info, {"test": True})
with open(spec["out"], "w") as f:
    json.dump(result, f)
"""

#: Two cells of two sections; the synapses sit in sections other than the first one created (NEURON's
#: default section), where MechanismType.pp_begin would not look.
BASE = """
cells = []
for k in range(2):
    soma = h.Section(name=f"soma{k}")
    dend = h.Section(name=f"dend{k}")
    dend.connect(soma(1))
    soma.L = soma.diam = 20
    dend.L, dend.diam, dend.nseg = 200, 2, 5
    soma.insert("hh")
    dend.insert("pas")
    cells.append((soma, dend))
(soma0, dend0), (soma1, dend1) = cells
exc = h.ExpSyn(dend1(0.3))
exc.tau, exc.e = 2.0, 0.0
inh = h.Exp2Syn(soma0(0.5))
inh.tau1, inh.tau2, inh.e = 0.5, 8.0, -80.0
drive = h.ExpSyn(soma0(0.5))
stim = h.NetStim()
stim.interval, stim.number, stim.start, stim.noise = 12.5, 7, 3.0, 0.0
stim2 = h.NetStim()
unplaced = h.ExpSyn()  # in no section: it cannot act, so it is left out
clamp = h.IClamp(dend0(1))
clamp.delay, clamp.dur, clamp.amp = 1.0, 2.0, 0.1
nc_stim = h.NetCon(stim, drive)
nc_stim.weight[0], nc_stim.delay = 0.004, 1.25
nc_01 = h.NetCon(soma0(0.5)._ref_v, exc, sec=soma0)
nc_01.threshold, nc_01.delay, nc_01.weight[0] = -20.0, 2.3456, 0.002
nc_10 = h.NetCon(dend1(0.44)._ref_v, inh, sec=dend1)  # the node of dend1(0.44) with nseg 5 is at x = 0.5
nc_10.delay, nc_10.weight[0] = 3.0, 0.001
recorder = h.NetCon(soma1(0.5)._ref_v, None, sec=soma1)
recorder.threshold = -20.0
times = h.Vector()
recorder.record(times)
nc_event = h.NetCon(None, exc)  # fed by NetCon.event only
nc_nothing = h.NetCon(None, None)  # no source, no target: no effect, left out
nc_stim_only = h.NetCon(stim2, None)
"""

CASES = {
    # hoc object numbers are never reused: the NetCons of these cases are NetCon[7], [8], [9] in turn
    "intfire": ("bad = h.IntFire1()", "del bad"),
    "point_source": ("bad = h.NetCon(exc, None)", "del bad"),
    "not_voltage": ("bad = h.NetCon(soma0(0.5)._ref_m_hh, exc, sec=soma0)", "del bad"),
    "artificial_target": ("bad = h.NetCon(soma0(0.5)._ref_v, stim, sec=soma0)", "del bad"),
    "nan_weight": ("nc_01.weight[0] = float('nan')", "nc_01.weight[0] = 0.002"),
    "inactive": ("nc_01.active(0)", "nc_01.active(1)"),
    "alpha": ("bad = h.AlphaSynapse(soma0(0.5))", "del bad"),
}

ARTIFICIAL = """
soma = h.Section(name="soma")
soma.insert("pas")
syn = h.ExpSyn(soma(0.5))
cell = h.artificial_cell()
cell.tau, cell.refrac = 7.0, 3.0
stim = h.NetStim()
nc_in = h.NetCon(stim, None)
nc_out = h.NetCon(cell, syn)
nc_out.weight[0] = 0.01
"""


def run_driver(tmp_path, base: str, cases: dict, mods: list[str] = ()) -> dict:
    """Run :data:`DRIVER` in a fresh process (compiling ``mods`` first) and return its result."""
    library = ""
    if mods:
        from tests.reference_neuron.generate_mechanisms import compile_mods

        library = str(compile_mods([REPO / m for m in mods], tmp_path / "lib"))
    out = tmp_path / "result.json"
    spec = {"repo": str(REPO), "base": textwrap.dedent(base), "cases": cases, "library": library,
            "mods": [str(REPO / m) for m in mods], "out": str(out)}
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(spec)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0 and out.is_file(), (proc.stdout + proc.stderr)[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return run_driver(tmp_path_factory.mktemp("export_network"), BASE, CASES)


@needs_neuron
def test_point_processes_everywhere_with_their_names(exported):
    points = exported["document"]["point_processes"]
    assert [(p["mechanism"], p["name"], p["section"], p["x"]) for p in points] == [
        ("IClamp", "IClamp[0]", "dend0", 1.0),
        ("ExpSyn", "ExpSyn[0]", "dend1", 0.3),
        ("ExpSyn", "ExpSyn[1]", "soma0", 0.5),
        ("Exp2Syn", "Exp2Syn[0]", "soma0", 0.5),
    ]
    assert points[1]["params"] == {"tau": 2.0, "e": 0.0}
    assert points[3]["params"] == {"tau1": 0.5, "tau2": 8.0, "e": -80.0}


@needs_neuron
def test_netstims(exported):
    assert exported["document"]["artificial_cells"] == [
        {"mechanism": "NetStim", "name": "NetStim[0]",
         "params": {"interval": 12.5, "number": 7.0, "start": 3.0, "noise": 0.0}},
        {"mechanism": "NetStim", "name": "NetStim[1]",
         "params": {"interval": 10.0, "number": 10.0, "start": 50.0, "noise": 0.0}},
    ]


@needs_neuron
def test_netcons(exported):
    """Sources (artificial cell, voltage at its node, none), targets by index, NEURON's default threshold 10 mV
    and weight 0 where the script left them; the NetCon with neither source nor target is left out."""
    netcons = exported["document"]["netcons"]
    assert netcons == [
        {"name": "NetCon[0]", "source": {"artificial": 0}, "threshold": 10.0, "delay": 1.25, "weight": [0.004],
         "target": 2},
        {"name": "NetCon[1]", "source": {"section": "soma0", "x": 0.5}, "threshold": -20.0, "delay": 2.3456,
         "weight": [0.002], "target": 1},
        {"name": "NetCon[2]", "source": {"section": "dend1", "x": 0.5}, "threshold": 10.0, "delay": 3.0,
         "weight": [0.001], "target": 3},
        {"name": "NetCon[3]", "source": {"section": "soma1", "x": 0.5}, "threshold": -20.0, "delay": 1.0,
         "weight": [0.0], "target": None},
        {"name": "NetCon[4]", "source": None, "threshold": 10.0, "delay": 1.0, "weight": [0.0], "target": 1},
        {"name": "NetCon[6]", "source": {"artificial": 1}, "threshold": 10.0, "delay": 1.0, "weight": [0.0],
         "target": None},
    ]


@needs_neuron
def test_the_document_is_json_and_unchanged_after_the_cases(exported):
    """Each refused case was removed again and left the model as it was (the cases do not leak)."""
    assert exported["after"] == exported["document"]


@needs_neuron
@pytest.mark.parametrize(("case", "fragments"), [
    ("intfire", ["IntFire1", "NetStim and the ARTIFICIAL_CELLs"]),
    ("point_source", ["NetCon[7]", "ExpSyn[0]", "not an artificial cell"]),
    ("not_voltage", ["NetCon[8]", "soma0", "not its membrane voltage"]),
    ("artificial_target", ["NetCon[9]", "artificial cell NetStim[0]"]),
    ("nan_weight", ["weight[0] of NetCon[1]", "finite"]),
    ("inactive", ["NetCon[1]", "inactive"]),
    ("alpha", ["AlphaSynapse", "IClamp, ExpSyn, Exp2Syn"]),
])
def test_what_neurax_cannot_carry_is_refused(exported, case, fragments):
    message = exported["errors"][case]
    assert message is not None, f"{case}: exported without complaint"
    for fragment in fragments:
        assert fragment in message, message


@needs_neuron
def test_an_artificial_cell_of_a_mod_file(tmp_path):
    """An ARTIFICIAL_CELL of a --mod file is carried with its RANGE parameters and its .mod source, and a
    NetCon from it is a source like a NetStim."""
    result = run_driver(tmp_path, ARTIFICIAL, {}, ["tests/data/mod/corpus/artificial_cell.mod"])
    doc = result["document"]
    assert [(c["mechanism"], c["name"]) for c in doc["artificial_cells"]] == [
        ("NetStim", "NetStim[0]"), ("artificial_cell", "artificial_cell[0]")]
    assert doc["artificial_cells"][1]["params"] == {"tau": 7.0, "refrac": 3.0}
    assert "artificial_cell" in doc["mechanisms"]
    assert [(n["source"], n["target"]) for n in doc["netcons"]] == [({"artificial": 0}, None),
                                                                    ({"artificial": 1}, 0)]


# -- the 20-cell network of docs/models (generate_network_port.py) ----------------------------------------------

NETWORK = REPO / "docs" / "models" / "network20.py"


@pytest.fixture(scope="module")
def network():
    """The stored recording and model file of the network."""
    import gzip
    import hashlib

    from tests.reference_neuron.trace_refs import PORT_DIR, read_reference

    ref = read_reference("network20", PORT_DIR)
    with gzip.open(PORT_DIR / "network20.json.gz", "rt") as handle:
        document = json.load(handle)
    return {"ref": ref, "document": document, "sha256": hashlib.sha256(NETWORK.read_bytes()).hexdigest()}


def test_network_references_are_of_the_current_script(network):
    """network20.npz was made from docs/models/network20.py as it is (regenerate both files after editing it)."""
    meta = network["ref"]["meta"]
    assert meta["script_sha256"] == network["sha256"]
    assert network["document"]["source"] == {"script": "network20.py", "mods": [], "neuron": meta["neuron_version"]}


def test_network_is_active_but_not_runaway(network):
    """Every cell spikes, none fires at more than ~70 Hz; the recording's spikes are the soma crossings."""
    ref = network["ref"]
    counts = ref["spike_counts"]
    assert len(counts) == 20 and min(counts) >= 5 and max(counts) <= 21
    t = ref["t"]
    for times, steps in zip(ref["spike_times"], ref["meta"]["spike_steps"], strict=True):
        # NetCon.record's time is NEURON's t at the end of the step that crossed the threshold, plus 1e-10 ms
        assert len(times) == len(steps)
        assert all(abs(time - (t[k] + 1e-10)) < 1e-12 for time, k in zip(times, steps, strict=True))


def test_network_model_file(network):
    """The model file holds what the script built: 20 cells named after their classes, 70 connections (ExpSyn
    onto dendrites, Exp2Syn onto somas), 20 NetStim drives and 20 spike recorders."""
    doc, ref = network["document"], network["ref"]
    somas = [s["name"] for s in doc["sections"] if s["parent"] is None]
    assert [f"{name}(0.5)" for name in somas] == ref["record"]
    assert sum(s["nseg"] for s in doc["sections"]) == ref["ncompartments"]
    assert [c["mechanism"] for c in doc["artificial_cells"]] == ["NetStim"] * 20
    netcons = doc["netcons"]
    recorders = [n for n in netcons if n["target"] is None]
    synaptic = [n for n in netcons if n["source"] is not None and "section" in n["source"] and n["target"] is not None]
    drives = [n for n in netcons if n["source"] is not None and "artificial" in n["source"]]
    assert len(recorders) == len(drives) == 20 and len(synaptic) == ref["meta"]["nconnections"] == 70
    assert sorted(d["source"]["artificial"] for d in drives) == list(range(20))
    assert all(n["threshold"] == -20.0 for n in recorders + synaptic)
    for n in synaptic:
        assert 1.0 <= n["delay"] <= 5.0 and abs(n["delay"] / 0.0125 - round(n["delay"] / 0.0125)) > 1e-6
        target = doc["point_processes"][n["target"]]
        assert (target["mechanism"], ".soma[" in target["section"]) in {("ExpSyn", False), ("Exp2Syn", True)}


@needs_neuron
def test_network_port_reproduces_stored_model(tmp_path, network):
    """``neurax port docs/models/network20.py`` now writes the stored model file."""
    from neurax.cli import main

    out = tmp_path / "network20.json"
    assert main(["port", str(NETWORK), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == network["document"]
