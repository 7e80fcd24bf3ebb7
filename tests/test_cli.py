"""The command line: summaries, NEURON-equal JSON, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from neurax import cli
from neurax.cli import main
from tests.conftest import reference_source
from tests.reference_neuron.morphology_refs import REFERENCE_DIR, load_reference


def test_inspect_demo_cell(capsys):
    assert main(["inspect"]) == 0
    out = capsys.readouterr().out
    assert "c91662.swc" in out and "sections: 194" in out and "apic" in out and "NeuroM: neurites" in out


@pytest.mark.parametrize("name, args, config", [
    ("nrn__c91662.swc", ["--d-lambda", "0.1", "--Ra", "100"], "dlambda"),
    ("arbor__pyramidal.swc", ["--nseg", "3"], "nseg3"),
    ("jaxley__morph_ca1_n120.swc", [], "nseg1"),
    ("nrn__111200A.asc", ["--d-lambda", "0.1", "--Ra", "100", "--cm", "1"], "dlambda"),
    ("morphio__simple.h5", ["--nseg", "3"], "nseg3"),
])
def test_inspect_json_equals_neuron(tmp_path, name, args, config):
    ref = load_reference(REFERENCE_DIR / f"{name}.npz")
    out = tmp_path / "cell.json"
    assert main(["inspect", str(reference_source(ref["source"])), *args, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [s["name"] for s in doc["sections"]] == [s["name"] for s in ref["sections"]]
    for mine, theirs in zip(doc["sections"], ref["sections"], strict=True):
        assert (mine["parent"], mine["parent_x"], mine["n3d"]) == (theirs["parent"], theirs["parent_x"],
                                                                     theirs["n3d"])
        np.testing.assert_array_equal(mine["pt3d"], theirs["points"])
        np.testing.assert_allclose(mine["L"], theirs["L"], rtol=1e-9)
        want = theirs["configs"][config]
        assert mine["nseg"] == want["nseg"] == len(mine["segments"])
        for key in ("x", "area", "ri", "diam"):
            np.testing.assert_allclose([seg[key] for seg in mine["segments"]], want[key], rtol=1e-9, err_msg=key)
    assert doc["sectionlists"]["all"] == ref["sectionlists"]["all"]


def test_json_to_stdout(capsys):
    assert main(["inspect", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["sections"][0]["name"] == "soma[0]"
    assert "sections: 194" in captured.err


@pytest.mark.parametrize("content, expected", [
    ("1 1 0 0 0 1 -1\n2 3 0 1 x 1 1\n", "cell.swc:2: z 'x' is not a number"),
    ("1 1 0 0 0 1 -1\n1 3 0 1 0 1 1\n", "sample id 1 is used twice"),
    ("", "file is empty"),
    ("\ufeff1 1 0 0 0 1 -1\n", "cell.swc:1: the file starts with a UTF-8 byte-order mark"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, content, expected):
    path = tmp_path / "cell.swc"
    path.write_text(content, encoding="utf-8")
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and err[0].startswith("neurax: error:")


def test_missing_file_and_strict_mode(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.swc")]) == 2
    assert "no such file" in capsys.readouterr().err
    path = tmp_path / "cell.swc"
    path.write_text("1 1 0 0 0 1 -1\n2 3 0 1 0 1 1\n5 3 0 2 0 1 4\n")
    assert main(["inspect", str(path)]) == 0
    assert "repairs (as NEURON makes them): 1" in capsys.readouterr().out
    assert main(["inspect", str(path), "--strict"]) == 2
    assert "cell.swc:3:" in capsys.readouterr().err


def test_console_script_runs_without_traceback(tmp_path):
    path = tmp_path / "cell.swc"
    path.write_bytes(b"\x00\x01\x02garbage")
    proc = subprocess.run([sys.executable, "-m", "neurax.cli", "inspect", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "binary" in proc.stderr


def test_simulate_demo_writes_traces_and_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--tstop", "30"]) == 0
    out = capsys.readouterr().out
    assert "demo protocol" in out and "compartments" in out and "spikes" in out and "compile" in out
    with np.load(tmp_path / "neurax-demo.npz") as data:
        assert data["t"].shape == (1201,) and data["soma[0](0.5)"].shape == (1201,)
        assert data["soma[0](0.5)"].max() > 0  # the demo cell fires
    assert (tmp_path / "neurax-demo.png").stat().st_size > 10000


def test_simulate_file_options_and_errors(tmp_path, capsys):
    cell = str(reference_source("arbor/ball_and_stick.swc"))
    out = tmp_path / "o.npz"
    assert main(["simulate", cell, "--mechanism", "pas", "--tstop", "2", "--record", "dend[0](1)",
                 "--iclamp", "soma[0](0.5),0.5,1,0.1", "--out", str(out)]) == 0
    with np.load(out) as data:
        assert set(data.files) == {"t", "dend[0](1)"}
    capsys.readouterr()
    assert main(["simulate", cell, "--record", "dend[9](0.5)", "--tstop", "1"]) == 2
    assert "no section named 'dend[9]'" in capsys.readouterr().err
    assert main(["simulate", cell, "--iclamp", "soma[0](0.5),1,2", "--tstop", "1"]) == 2
    assert "SEC(X),DELAY,DUR,AMP" in capsys.readouterr().err


def test_simulate_records_the_first_section_without_a_soma(tmp_path, capsys):
    axon = tmp_path / "axon.swc"
    axon.write_text("1 2 0 0 0 1 -1\n2 2 0 10 0 1 1\n3 2 0 20 0 1 2\n")
    out = tmp_path / "o.npz"
    assert main(["simulate", str(axon), "--tstop", "1", "--out", str(out)]) == 0
    with np.load(out) as data:
        assert set(data.files) == {"t", "axon[0](0.5)"} and data["axon[0](0.5)"].shape == (41,)
    assert "axon[0](0.5)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, expected", [
    (["simulate", "{cell}", "--out", "{tmp}/no/such/o.npz"], "cannot write --out {tmp}/no/such/o.npz: folder "
     "{tmp}/no/such does not exist (create it first)"),
    (["simulate", "{cell}", "--plot", "{tmp}"], "cannot write --plot {tmp}: it is a folder (give a file name)"),
    (["inspect", "{cell}", "--json", "{tmp}/no/x.json"], "cannot write --json {tmp}/no/x.json: folder {tmp}/no does"),
])
def test_output_paths_checked_before_the_run(tmp_path, capsys, monkeypatch, argv, expected):
    import neurax.simulation

    def no_run(*args, **kwargs):  # the check must come before any simulation
        raise AssertionError("simulated before checking the output path")

    monkeypatch.setattr(neurax.simulation, "Run", no_run)
    fill = {"cell": str(reference_source("arbor/ball_and_stick.swc")), "tmp": str(tmp_path)}
    assert main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected.format(**fill) in err[0], err


def _main_exit(argv) -> int:
    """``main`` with argparse's own exits (SystemExit) turned into the status."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code)


@pytest.mark.parametrize("argv, expected", [
    (["simulate", "--dt", "0"], "neurax simulate: error: argument --dt: must be a positive number, got 0"),
    (["inspect", "--bogus"], "unrecognized arguments: --bogus"),
    ([], "required: COMMAND"),
])
def test_bad_options_exit_2_with_one_line(capsys, argv, expected):
    assert _main_exit(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err


def test_runs_too_long_for_memory_exit_2_with_one_line(tmp_path, capsys, monkeypatch):
    cell = str(reference_source("arbor/ball_and_stick.swc"))
    out = str(tmp_path / "x.npz")
    for argv in (["--tstop", "1e9", "--dt", "1e-9"], ["--tstop", "1e12"], ["--tstop", "1e300", "--dt", "1e-300"]):
        assert main(["simulate", cell, *argv, "--out", out]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "steps" in err[0] and "shorten tstop or raise dt" in err[0], err
    assert not (tmp_path / "x.npz").exists()

    def exhausted(args):
        raise MemoryError

    monkeypatch.setattr(cli, "_simulate", exhausted)
    assert main(["simulate", cell]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out of memory" in err[0], err


def test_files_neuron_cannot_simulate_or_import(tmp_path, capsys):
    """Cases found by comparing with NEURON on random files: a zero-diameter section (NEURON's voltages are
    all NaN), a negative radius (diam3d() is its absolute value), a d_lambda nseg beyond any integer, a
    parent id above every id, and a zero-radius three-point soma (NEURON crashes on the last two)."""
    def write(name, text):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    zero = write("zero.swc", "1 1 0 0 0 5 -1\n2 3 0 5 0 0 1\n3 3 0 15 0 0 2\n")
    assert main(["simulate", zero, "--tstop", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "zero.swc:2: dend[0] has diameter 0" in err[0] and "NaN" in err[0]
    assert main(["inspect", zero]) == 0  # the geometry itself is NEURON's (zero area)
    capsys.readouterr()

    negative = write("negative.swc", "1 1 0 0 0 5 -1\n2 3 0 10 0 -1 1\n3 3 0 20 0 -1 2\n")
    assert main(["inspect", negative, "--json", "-"]) == 0
    dend = json.loads(capsys.readouterr().out)["sections"][1]
    assert [p[3] for p in dend["pt3d"]] == [2.0, 2.0] and dend["segments"][0]["diam"] == 2.0

    long = write("long.swc", "1 1 0 0 0 5 -1\n2 3 0 5 0 1 1\n3 3 1e30 5 0 1 2\n")
    assert main(["inspect", long, "--d-lambda", "0.1"]) == 2
    assert "long.swc:2: dend[0]: nseg above 2.2e+12 is outside 1..32767" in capsys.readouterr().err

    missing = write("missing.swc", "1 1 0 0 0 5 -1\n2 3 0 10 0 1 1\n3 3 0 20 0 1 2\n4 3 0 30 0 1 99\n")
    assert main(["inspect", missing]) == 0
    out = capsys.readouterr().out
    assert "missing.swc:4: sample 4 refers to parent 99, which does not exist" in out and "reordered" not in out
    assert "NEURON stops on this file (parent id not less than id)" in out
    gap = write("gap.swc", "1 1 0 0 0 5 -1\n3 3 0 10 0 1 2\n4 3 0 20 0 1 3\n")
    assert main(["inspect", gap]) == 0
    out = capsys.readouterr().out
    assert "gap.swc:2: sample 3 refers to parent 2, which does not exist (1 such sample(s)); NEURON attaches it " \
           "to the first root section" in out
    assert "\x1b" not in out  # MorphIO colours its error (shown in the NeuroM line)

    soma = write("soma.swc", "1 1 0 0 0 0 -1\n2 1 0 0 0 0 1\n3 1 0 0 0 0 1\n")
    assert main(["inspect", soma]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "\x1b" not in captured.out


def test_degenerate_soma_contour_names_file_and_line(tmp_path, capsys):
    """NEURON crashes on a collinear soma contour; neurax says where it is."""
    path = tmp_path / "cell.asc"
    path.write_text('("CellBody"\n (CellBody)\n (0 0 0 1)\n (1 1 0 1)\n (2 2 0 1)\n (3 3 0 1)\n)\n'
                    "((Dendrite)\n  (1 1 0 2)\n  (10 10 0 2)\n  (20 12 0 1.5)\n)\n")
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cell.asc:3: Failed to compute soma centroid" in err[0]
