"""Real ``.mod`` files against NEURON: does neurax compute what NEURON computes with each file, not just run it?

For every ``.mod`` file under the given paths (as :mod:`bench_nmodl` finds them; INCLUDE files beside the file,
in ``MODL_INCLUDE`` or in ``include/<stem>/``) this compiles the file alone with nrnivmodl and runs one protocol
in NEURON and through neurax's command line, and compares the voltage at the soma:

* a density mechanism (SUFFIX): ``neurax simulate tests/data/mod/one_compartment.swc --mod FILE --mechanism hh
  --mechanism NAME --celsius 16 --tstop 40 --iclamp 'soma[0](0.5),5,30,0.2'`` against the same case in NEURON
  (``tests/reference_neuron/generate_mechanisms.py``'s worker: hh, the mechanism at its defaults, the clamp);
* a POINT_PROCESS: a hoc script (one hh compartment, the point process at its middle with its defaults, a
  NetStim of eight events through a NetCon of weight 0.005 where it has NET_RECEIVE, an IClamp of 0.1 nA) run in
  NEURON and brought over by ``neurax port``, then ``neurax simulate MODEL.json``.

ARTIFICIAL_CELLs are skipped. Each file gets a status: ``ok`` (max |dV| <= 1e-6 mV over 40 ms), ``close``
(<= 1e-3 mV), ``DIFF``, ``neurax-exitN`` (neurax refused or failed: its one-line message), ``neuron-fail`` (NEURON
itself failed, e.g. an unset POINTER), ``nrnivmodl-fail``, ``neurax-timeout``. A Python traceback from neurax is
flagged ``TRACEBACK``. Needs NEURON (``pip install -e .[neuron]``).

    python benchmarks/bench_nmodl_vs_neuron.py PATH ... [--jobs 2] [--tsv OUT.tsv]
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_nmodl import mod_files  # noqa: E402

from tests.reference_neuron import generate_mechanisms as G  # noqa: E402
from tests.reference_neuron.generate_ports import load_script  # noqa: E402
from tests.reference_neuron.generate_traces import run_worker, simulate  # noqa: E402

NEURAX = [sys.executable, "-m", "neurax.cli"]
TIMEOUT_S = 300
POINT_SCRIPT = """create soma
soma {{ L = 18.8  diam = 18.8  nseg = 1  insert hh }}
objref pp, ns, nc, stim
soma pp = new {name}(0.5)
{net}
soma stim = new IClamp(0.5)
stim.del = 5
stim.dur = 30
stim.amp = 0.1
celsius = 16
tstop = 40
v_init = -65
dt = 0.025
"""
NETSTIM = """ns = new NetStim(0.5)
ns.start = 3
ns.interval = 4
ns.number = 8
ns.noise = 0
nc = new NetCon(ns, pp)
nc.weight = 0.005
nc.delay = 1
"""


def worker(spec: dict) -> None:
    """In a fresh NEURON process: the point-process script, its soma recorded (``generate_traces.simulate``)."""
    from neuron import h

    load_script(h, spec["library"], Path(spec["script"]))
    h.CVode().active(0)
    settings = {"dt": float(h.dt), "tstop": float(h.tstop), "v_init": float(h.v_init)}
    _, v, _ = simulate(h, [h.soma(0.5)], settings)
    np.save(spec["output"], v[0])


def compile_alone(f: Path, folder: Path) -> str | None:
    """nrnivmodl on ``f`` with its INCLUDE files beside it; the library, or None."""
    extra = f.parent / "include" / f.stem
    folder.mkdir(parents=True)
    for inc in extra.iterdir() if extra.is_dir() else ():
        shutil.copy(inc, folder / inc.name)
    try:
        return str(G.compile_mods([f], folder))
    except RuntimeError:
        return None


def neurax(args: list[str], f: Path) -> tuple[int, str]:
    """``python -m neurax.cli ARGS`` with ``f``'s include folder on ``MODL_INCLUDE``."""
    env = dict(os.environ, MODL_INCLUDE=str(f.parent / "include" / f.stem))
    try:
        done = subprocess.run([*NEURAX, *args], capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return -1, ""
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return done.returncode, ("TRACEBACK " if "Traceback" in done.stderr else "") + last


def compare(ref: np.ndarray, mine: np.ndarray) -> tuple[str, float]:
    if ref.shape != mine.shape or not np.all(np.isfinite(mine)):
        return "DIFF", float("inf")
    worst = float(np.max(np.abs(ref - mine)))
    return ("ok" if worst <= 1e-6 else "close" if worst <= 1e-3 else "DIFF"), worst


def check(f: Path, work: Path) -> dict:
    """One file's row."""
    kind, name = G.declaration(f) or (None, None)
    row = {"file": f.name, "kind": kind or "", "status": "skipped", "max_dv": "", "message": ""}
    if kind not in ("SUFFIX", "POINT_PROCESS"):
        return row
    library = compile_alone(f, work / "lib")
    if library is None:
        return {**row, "status": "nrnivmodl-fail"}
    if kind == "SUFFIX":
        case = G.case(f.stem, G.ONE, "bench", mods=[str(f)], mechanisms=["hh", name], celsius=16.0, tstop=40.0,
                      iclamp=["soma[0](0.5),5,30,0.2"], record=[G.SOMA])
        ref_path = work / "neuron.npz"
        rc, tail = G.run_worker({"mode": "run", "case": case, "output": str(ref_path), "files": [str(f)],
                                 "library": library}, G.__file__, TIMEOUT_S)
        if rc != 0 or not ref_path.exists():
            return {**row, "status": "neuron-fail"}
        ref = np.load(ref_path)["v"][0]
        rc, message = neurax(["simulate", *G.cli_args(case), "--out", str(work / "neurax.npz")], f)
    else:
        script = work / "cell.hoc"
        has_net = "NET_RECEIVE" in f.read_text(errors="replace")
        script.write_text(POINT_SCRIPT.format(name=name, net=NETSTIM if has_net else ""))
        rc, _ = run_worker({"library": library, "script": str(script), "output": str(work / "neuron.npy")},
                           __file__, TIMEOUT_S)
        if rc != 0:
            return {**row, "status": "neuron-fail"}
        ref = np.load(work / "neuron.npy")
        rc, message = neurax(["port", str(script), "--mod", str(f), "--out", str(work / "model.json")], f)
        if rc == 0:
            rc, message = neurax(["simulate", str(work / "model.json"), "--record", "soma(0.5)",
                                  "--out", str(work / "neurax.npz")], f)
    if rc != 0:
        return {**row, "status": "neurax-timeout" if rc == -1 else f"neurax-exit{rc}", "message": message}
    out = np.load(work / "neurax.npz")
    status, worst = compare(ref, out[next(k for k in out.files if k != "t")])
    return {**row, "status": status, "max_dv": f"{worst:.3g}"}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help=".mod files or folders")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tsv", type=Path, help="write one row per file here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    files = mod_files(args.paths)
    with tempfile.TemporaryDirectory(prefix="neurax_vs_neuron_") as tmp:
        def one(k_f):
            return check(k_f[1], Path(tmp) / str(k_f[0]))

        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(one, enumerate(files)))
    for r in rows:
        if r["status"] not in ("ok", "skipped"):
            print(f"{r['status']:16s} {r['file']:40s} {r['max_dv']:>9s} {r['message'][:110]}")
    counts = collections.Counter(r["status"] for r in rows)
    print(f"{len(files)} files: " + ", ".join(f"{n} {s}" for s, n in counts.most_common()))
    if args.tsv:
        cols = ["file", "kind", "status", "max_dv", "message"]
        args.tsv.write_text("\t".join(cols) + "\n" + "".join("\t".join(r[c] for c in cols) + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
