"""Generate the NEURON references for porting a network: the 20-cell network of ``docs/models/network20.py``.

The model (14 excitatory and 6 inhibitory reconstructed cells, hh and pas, ExpSyn and Exp2Syn synapses, NetCons
from somatic voltages with delays that are not multiples of dt, one NetStim drive per cell; see the script) is
built entirely of NEURON's own mechanisms, so nothing is compiled. This script

* ports it as ``neurax port docs/models/network20.py --out MODEL.json`` does (:func:`neurax.port.run.port`, which
  also checks that neurax computes NEURON's segment areas and resistances) and stores the model file gzipped
  with a zero time stamp (regenerating gives the same bytes) as ``ports/network20.json.gz``;
* in a fresh NEURON process runs the script as ``neurax port`` does (its folder as the working directory,
  ``__main__``, no arguments), exports the model there too (the two documents must be equal: the run below is
  of the stored model), adds a NetCon(soma[0](0.5) v, None) with threshold -20 mV per cell recording its spike
  times, and runs finitialize(v_init) and round(tstop / dt) fadvance calls (``generate_traces.simulate``),
  recording every cell's soma[0](0.5).

The recording is ``ports/network20.npz`` (``t``, ``v`` float64, one row per cell, and a JSON ``meta``): the
record names (``Scnn1aCell[0].soma[0](0.5)``, ...), ``spike_times`` (NetCon.record's times per cell, full
precision), ``spike_counts``, ``spike_steps`` (per cell, the index k of the first sample of each crossing,
v[k - 1] < -20 <= v[k]), the settings, the NEURON version, the SHA-256 of the script and the morphologies,
and the network's size. Read it with :func:`tests.reference_neuron.trace_refs.read_reference`
(``read_reference("network20", PORT_DIR)``).

If neurax cannot rebuild the exported document (``port`` refuses it), the model file is the NEURON process's
export instead and the script says so.

Usage::

    python tests/reference_neuron/generate_network_port.py [--out DIR] [--no-model]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import json
import os
import runpy
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # run as a script: make ``tests.reference_neuron`` importable
    sys.path.insert(0, str(HERE.parent.parent))

from tests.reference_neuron.generate_ports import OUT_DIR, export_model, sha256  # noqa: E402
from tests.reference_neuron.generate_traces import (  # noqa: E402
    REPO,
    run_worker,
    save_traces,
    simulate,
    spike_indices,
    time_report,
)

SCRIPT = REPO / "docs" / "models" / "network20.py"
MORPHOLOGIES = ("Scnn1a_473845048_m.swc", "morph_allen_485574832.swc", "Pvalb_469628681_m.swc")
NAME = "network20"
FORMAT_VERSION = 1
THRESHOLD = -20.0  # mV, the network's own
TIMEOUT_S = 900


# ----------------------------------------------------------------------------------------------------------
# Worker side
# ----------------------------------------------------------------------------------------------------------


def worker(spec: dict) -> None:
    """Build the network as ``neurax port`` does, export it, simulate it and write the recording."""
    import neuron
    from neuron import h

    script = Path(spec["script"])
    h.load_file("stdrun.hoc")
    os.chdir(script.parent)
    sys.argv = [str(script)]
    sys.path.insert(0, str(script.parent))
    start = time.perf_counter()
    namespace = runpy.run_path(str(script), run_name="__main__")  # kept: the network lives in its globals
    wall = {"setup": time.perf_counter() - start}
    h.CVode().active(0)
    if int(h.secondorder) != 0:
        raise RuntimeError("secondorder must be 0")
    export_model(h, spec)  # the model document, before anything runs
    somas = [sec for sec in h.allsec() if sec.name().endswith(".soma[0]")]
    record = [f"{sec.name()}(0.5)" for sec in somas]
    recorders, times = [], []
    # NetCon.record keeps its vector on the NetCon's source, which every NetCon watching the same voltage shares:
    # these vectors replace the script's own (cell.spike_times stays empty), the spike detection is the same
    for sec in somas:
        nc = h.NetCon(sec(0.5)._ref_v, None, sec=sec)
        nc.threshold = THRESHOLD
        vec = h.Vector()
        nc.record(vec)
        recorders.append(nc)
        times.append(vec)
    settings = {"dt": float(h.dt), "tstop": float(h.tstop), "v_init": float(h.v_init), "celsius": float(h.celsius)}
    t, v, wall["simulate"] = simulate(h, [sec(0.5) for sec in somas], settings)
    spike_times = [list(map(float, vec)) for vec in times]
    network = namespace["network"]
    meta = {
        "format_version": FORMAT_VERSION,
        "script": str(script.relative_to(REPO)),
        "script_sha256": sha256(script),
        "morphologies_sha256": {name: sha256(REPO / "data" / "swc" / name) for name in MORPHOLOGIES},
        "neuron_version": neuron.__version__,
        "settings": settings,
        "record": record,
        "threshold": THRESHOLD,
        "nsec": sum(1 for _ in h.allsec()),
        "ncompartments": int(sum(sec.nseg for sec in h.allsec())),
        "ncells": len(somas),
        "nconnections": len(network["connections"]),
        "connections": network["connections"],
        "n_steps": len(t) - 1,
        "spike_counts": [len(s) for s in spike_times],
        "spike_times": spike_times,
        "spike_steps": [spike_indices(row, THRESHOLD).tolist() for row in v],
        "time": time_report(t, settings["dt"]),
        "wall_time_s": wall,
    }
    save_traces(spec["output"], t, v, meta)


# ----------------------------------------------------------------------------------------------------------
# Parent side
# ----------------------------------------------------------------------------------------------------------


def gzip_model(document: dict, target: Path) -> Path:
    """Write ``document`` as ``neurax port`` writes a model file, gzipped with a zero time stamp."""
    from neurax.port.model import save_model

    with tempfile.TemporaryDirectory(prefix="neurax_network_port_") as tmp:
        plain = Path(tmp) / f"{NAME}.json"
        save_model(document, str(plain))
        with open(target, "wb") as raw, gzip.GzipFile(filename=plain.name, mode="wb", fileobj=raw, mtime=0,
                                                      compresslevel=9) as gz:
            gz.write(plain.read_bytes())
    return target


def port_network() -> tuple[dict | None, str]:
    """``neurax port docs/models/network20.py``'s document, or None and why neurax refused it."""
    from neurax.port.model import ModelError
    from neurax.port.run import port

    with tempfile.TemporaryDirectory(prefix="neurax_network_port_") as tmp:
        out = Path(tmp) / f"{NAME}.json"
        try:
            port(str(SCRIPT), (), str(out))
        except ModelError as err:
            return None, str(err)
        return json.loads(out.read_text()), ""


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the references")
    parser.add_argument("--no-model", action="store_true", help="do not (re)write the model file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    start = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neurax_network_ref_") as tmp:
        spec = {"script": str(SCRIPT), "files": [], "export": str(Path(tmp) / "export.json"),
                "output": str(args.out / f"{NAME}.npz")}
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            run = pool.submit(run_worker, spec, __file__, TIMEOUT_S)
            ported, refusal = port_network() if not args.no_model else (None, "")
            rc, tail = run.result()
        if rc != 0 or not Path(spec["output"]).is_file():
            print(f"ERROR  the NEURON run failed (returncode {rc}): {tail.strip()[-2000:]}")
            return 1
        exported = json.loads(Path(spec["export"]).read_text())
    import numpy as np

    with np.load(spec["output"]) as z:
        meta = json.loads(str(z["meta"]))
    out = Path(spec["output"])
    print(f"ok     {out.name}: {meta['ncells']} cells, {meta['nconnections']} connections, {meta['ncompartments']} "
          f"compartments, NEURON {meta['wall_time_s']['simulate']:.1f} s, {out.stat().st_size / 1e3:.0f} kB")
    print(f"       spikes per cell {meta['spike_counts']} ({sum(meta['spike_counts'])} in all)")
    failed = 0
    if not args.no_model:
        if ported is None:
            print(f"WARNING neurax port refused the network ({refusal}); the model file is NEURON's export")
            document = exported
            failed = 1
        else:
            document = ported
            if {**ported, "source": None} != {**exported, "source": None}:
                print("ERROR  the ported model differs from the model that NEURON simulated")
                return 1
        model = gzip_model(document, args.out / f"{NAME}.json.gz")
        print(f"wrote  {model} ({model.stat().st_size / 1e3:.0f} kB)")
    print(f"{time.monotonic() - start:.1f} s")
    return failed


if __name__ == "__main__":
    sys.exit(main())
