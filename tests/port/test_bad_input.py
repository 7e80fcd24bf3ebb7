"""Bad input to the porting commands: one clear line, exit 2, nothing half-written.

``tests/data/models/small.json`` is what ``neurax port tests/data/models/small.hoc --mod
neurax/channels/CaPool.mod --mod neurax/channels/CaHVA.mod`` wrote (NEURON 9.0.2): a soma with hh, CaHVA and a
calcium pool, a passive dendrite of 5 segments and an IClamp. The tests edit copies of it by hand, as a user
would, and run ``neurax simulate`` on them; the ones marked ``neuron`` run ``neurax port`` on broken scripts
and ``.mod`` files.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from neurax.cli import main
from tests.conftest import REPO
from tests.port.test_ports_vs_neuron import needs_neuron

MODELS = REPO / "tests" / "data" / "models"
SMALL = json.loads((MODELS / "small.json").read_text())


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurax: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def edited(fn) -> dict:
    doc = copy.deepcopy(SMALL)
    fn(doc)
    return doc


def test_the_stored_model_runs_and_an_edited_density_changes_it(tmp_path, capsys):
    out = tmp_path / "a.npz"
    code, _, err = run(["simulate", MODELS / "small.json", "--record", "dend(1)", "--out", out], capsys)
    assert code == 0, err
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited(lambda d: d["sections"][1]["mechanisms"]["pas"].update(g=[1e-3] * 5))))
    code, _, err = run(["simulate", path, "--record", "dend(1)", "--out", tmp_path / "b.npz"], capsys)
    assert code == 0, err
    code, _, err = run(["simulate", MODELS / "small.json", "--param", "g_pas=1e-3", "--record", "dend(1)", "--out",
                        tmp_path / "c.npz"], capsys)
    assert code == 0, err
    a, b, c = (np.load(tmp_path / f"{k}.npz")["dend(1)"] for k in "abc")
    assert np.abs(a - b).max() > 0.1  # the edit took effect ...
    np.testing.assert_array_equal(b, c)  # ... exactly as --param does


EDITS = {
    "not_json": (None, ["edited.json:1:", "not valid JSON"]),
    "unknown_parent": (lambda d: d["sections"][1].update(parent="dendx"), ["section dend", "'dendx'"]),
    "segment_count": (lambda d: d["sections"][1].update(cm=[1.0, 1.0]), ["section dend", "cm must list 5"]),
    "negative_diameter": (lambda d: d["sections"][1]["diam"].__setitem__(2, -1.0), ["diam must be positive"]),
    "unknown_mechanism": (lambda d: d["sections"][1]["mechanisms"].update(foo={"g": [1.0] * 5}), ["mechanism foo"]),
    "unknown_parameter": (lambda d: d["sections"][1]["mechanisms"]["pas"].update(gg=[1.0] * 5),
                          ["pas has no parameter 'gg'", "did you mean 'g'"]),
    "negative_conductance": (lambda d: d["sections"][1]["mechanisms"]["pas"]["g"].__setitem__(0, -1e-4),
                             ["edited.json", "conductance cannot be negative"]),
    "clamp_parameter": (lambda d: d["point_processes"][0]["params"].update(ampp=1.0), ["did you mean 'amp'"]),
    "clamp_section": (lambda d: d["point_processes"][0].update(section="axon"), ["'axon' is not a section"]),
    "clamp_x": (lambda d: d["point_processes"][0].update(x=1.5), ["x must be in [0, 1]"]),
    "time_step": (lambda d: d["settings"].update(dt=-0.025), ["settings.dt must be positive"]),
    "nseg": (lambda d: d["sections"][1].update(nseg=0), ["nseg must be a whole number"]),
    "length_as_text": (lambda d: d["sections"][1].update(L="200"), ["L must be a positive number"]),
    "global": (lambda d: d["globals"].update(decay_CaPool=80.0), ["globals.decay_CaPool", "RANGE parameters"]),
    "no_sections": (lambda d: d.pop("sections"), ["\"sections\" must be a non-empty list"]),
    "nmodl_source": (lambda d: d["mechanisms"]["CaPool"].update(
        source=d["mechanisms"]["CaPool"]["source"].replace("BREAKPOINT", "BREAKPOINTX", 1)),
        ["CaPool.mod:", "'BREAKPOINTX' is not an NMODL block keyword"]),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_a_hand_edited_model_that_makes_no_sense(case, tmp_path, capsys):
    fn, fragments = EDITS[case]
    path = tmp_path / "edited.json"
    path.write_text("{ not json" if fn is None else json.dumps(edited(fn)))
    out = tmp_path / "out.npz"
    code, _, err = run(["simulate", path, "--out", out], capsys)
    assert_one_line_error(code, err, *fragments)
    assert not out.exists()


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--mechanism", "NaTT"], ["--mechanism NaTT", "NaT"]),
    (["--mechanism", "NaT", "--param", "gbar_NaTT=1"], ["gbar_NaTT"]),
    (["--mechanism", "NaT", "--param", "NaT.gbarr=1"], ["gbarr", "gbar"]),
    (["--mechanism", "NaT", "--param", "gbar_NaT=-1"], ["negative"]),
    (["--mechanism", "NaT", "--param", "gbar_NaT"], ["NAME=VALUE"]),
])
def test_unknown_names_suggest_the_near_ones(argv, fragments, tmp_path, capsys):
    out = tmp_path / "out.npz"
    code, _, err = run(["simulate", REPO / "data" / "swc" / "ball_and_stick.swc", "--mod", REPO / "neurax" / "channels",
                        *argv, "--out", out], capsys)
    assert_one_line_error(code, err, *fragments)
    assert not out.exists()


@needs_neuron
def test_a_script_that_fails_in_neuron(tmp_path, capsys):
    script = tmp_path / "broken.hoc"
    script.write_text("create soma\nsoma { L = 10  diam = 10 }\nobjref stim\nstim.amp = 1\n")
    out = tmp_path / "model.json"
    code, _, err = run(["port", script, "--out", out], capsys)
    assert_one_line_error(code, err, "broken.hoc failed in NEURON")
    assert not out.exists()
    script = tmp_path / "broken.py"
    script.write_text("from neuron import h\nsoma = h.Section(name='soma')\nraise ValueError('no cell today')\n")
    code, _, err = run(["port", script, "--out", out], capsys)
    assert_one_line_error(code, err, "broken.py failed in NEURON", "no cell today")
    assert not out.exists()


@needs_neuron
def test_a_mod_file_that_nrnivmodl_rejects(tmp_path, capsys):
    """neurax reads the file; NEURON 9 generates C++ from it, where ``double`` cannot be a name."""
    mod = tmp_path / "cword.mod"
    mod.write_text("NEURON { SUFFIX cword  NONSPECIFIC_CURRENT i  RANGE double }\n"
                   "PARAMETER { double = 0.001 (S/cm2) }\nASSIGNED { v (mV)  i (mA/cm2) }\n"
                   "BREAKPOINT { i = double * (v + 65) }\n")
    out = tmp_path / "model.json"
    code, _, err = run(["port", MODELS / "small.hoc", "--mod", mod, "--out", out], capsys)
    assert_one_line_error(code, err, "nrnivmodl rejected", "cword.mod")
    assert not out.exists()


def test_a_mod_file_neurax_cannot_run_is_refused_before_neuron_starts(tmp_path, capsys):
    mod = tmp_path / "pointer.mod"
    mod.write_text("NEURON { SUFFIX ptr  POINTER p }\nASSIGNED { p }\n")
    out = tmp_path / "model.json"
    code, _, err = run(["port", MODELS / "small.hoc", "--mod", mod, "--out", out], capsys)
    assert_one_line_error(code, err, f"{mod}:1:", "POINTER")
    assert not out.exists()


def _with_synapse(doc: dict) -> None:
    """The small model with an ExpSyn on the dendrite, driven by a NetStim and by the soma's spikes."""
    doc["point_processes"].append({"mechanism": "ExpSyn", "name": "ExpSyn[0]", "section": "dend", "x": 0.5,
                                   "params": {"tau": 2.0, "e": 0.0}})
    doc["artificial_cells"] = [{"mechanism": "NetStim", "name": "NetStim[0]",
                                "params": {"start": 5.0, "interval": 10.0, "number": 3.0, "noise": 0.0}}]
    syn = len(doc["point_processes"]) - 1
    doc["netcons"] = [
        {"name": "NetCon[0]", "source": {"artificial": 0}, "threshold": 10.0, "delay": 1.0, "weight": [0.01],
         "target": syn},
        {"name": "NetCon[1]", "source": {"section": "soma", "x": 0.5}, "threshold": -10.0, "delay": 2.5,
         "weight": [0.002], "target": syn}]


def test_a_model_with_netcons_runs_and_prints_spikes(tmp_path, capsys):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(edited(_with_synapse)))
    code, out, err = run(["simulate", path, "--tstop", "30"], capsys)
    assert code == 0, err
    assert "2 NetCon(s), 1 NetStim(s)" in out and "spike times (ms) of 1 source(s)" in out


@pytest.mark.parametrize("edit, fragments", [
    (lambda d: d["netcons"][0].update(target=7), ("netcon 0 (NetCon[0])", "target 7 is not a point process")),
    (lambda d: d["netcons"][1]["source"].update(section="axon"), ("NetCon[1]", "'axon' is not a section")),
    (lambda d: d["netcons"][1].update(delay=-1.0), ("NetCon[1]", "delay must be a non-negative number")),
    (lambda d: d["netcons"][1].update(weight=[float("nan")]), ("NetCon[1]", "NaN")),
    (lambda d: d["netcons"][0].update(source={"artificial": 3}), ("NetCon[0]", "artificial cell 3 does not exist")),
    (lambda d: d["netcons"][1].update(target=0), ("NetCon[1]", "IClamp", "cannot receive events")),
    (lambda d: d["netcons"][1].update(delay=0.01), ("delay 0.01 ms", "shorter than the time step")),
    (lambda d: d["artificial_cells"][0].update(mechanism="IntFire1"), ("artificial cell 0", "only NetStim")),
    (lambda d: d["netcons"][0].update(source=None), ("NetCon[0]", "has no source", "nc.event()")),
])
def test_broken_netcons_are_one_line_errors(tmp_path, capsys, edit, fragments):
    def both(doc):
        _with_synapse(doc)
        edit(doc)

    path = tmp_path / "net.json"
    path.write_text(json.dumps(edited(both)))
    code, _, err = run(["simulate", path, "--tstop", "5"], capsys)
    assert_one_line_error(code, err, *fragments)
