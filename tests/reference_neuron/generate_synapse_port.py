"""Generate the NEURON reference for porting corpus point processes (``tests/data/models/synapse_forms.hoc``).

The script (one hh compartment; synapses that keep state per connection in NET_RECEIVE, with NET_RECEIVE's own
INITIAL block; a synapse written with ``state_discontinuity``; a plain exponential synapse; NetStim drives and
an IClamp) uses the corpus files named in :data:`MODS`. This script

* compiles them with nrnivmodl in a temporary folder (in that order, so NEURON's type numbers follow neurax's);
* in a fresh NEURON process runs the script from its own folder, records ``soma(0.5)``, and runs
  ``finitialize(v_init)`` and ``round(tstop / dt)`` calls of ``fadvance`` (``generate_traces.simulate``),
  storing ``ports/synapse_forms.npz`` (``t``, ``v`` float64, a JSON ``meta`` with the record list, the settings,
  spike counts and times, the NEURON version and the SHA-256 of the script and the mod files);
* ports the script as ``neurax port tests/data/models/synapse_forms.hoc --mod FILE ...`` does and stores the
  model file gzipped with a zero time stamp as ``ports/synapse_forms.json.gz``, so that the test needs no NEURON.

Usage::

    python tests/reference_neuron/generate_synapse_port.py [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # run as a script: make ``tests.reference_neuron`` importable
    sys.path.insert(0, str(HERE.parent.parent))

from tests.reference_neuron.generate_mechanisms import compile_mods  # noqa: E402
from tests.reference_neuron.generate_ports import load_script, write_model  # noqa: E402
from tests.reference_neuron.generate_traces import REPO, run_worker, save_traces, simulate, spike_indices  # noqa: E402

OUT_DIR = HERE / "ports"
NAME = "synapse_forms"
SCRIPT = REPO / "tests" / "data" / "models" / f"{NAME}.hoc"
CORPUS = REPO / "tests" / "data" / "mod" / "corpus"
MODS = [CORPUS / "net_receive_initial.mod", CORPUS / "point_process_synapse.mod", CORPUS / "state_discontinuity.mod"]
RECORD = ["soma(0.5)"]
TIMEOUT_S = 600


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def worker(spec: dict) -> None:
    """Run the script in NEURON and write the reference."""
    import neuron
    from neuron import h

    load_script(h, spec["library"], SCRIPT)
    h.CVode().active(0)
    segs = [h.soma(0.5)]
    settings = {"dt": float(h.dt), "tstop": float(h.tstop), "v_init": float(h.v_init), "celsius": float(h.celsius)}
    t, v, wall = simulate(h, segs, settings)
    spikes = [spike_indices(row) for row in v]
    meta = {
        "script": str(SCRIPT.relative_to(REPO)),
        "script_sha256": sha256(SCRIPT),
        "mod_files": [{"file": str(f.relative_to(REPO)), "sha256": sha256(f)} for f in MODS],
        "neuron_version": neuron.__version__,
        "settings": settings,
        "record": RECORD,
        "ncompartments": 1,
        "n_steps": len(t) - 1,
        "spike_counts": [len(s) for s in spikes],
        "spike_times": [t[s].tolist() for s in spikes],
        "wall_time_s": {"simulate": wall},
    }
    save_traces(spec["output"], t, v, meta)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the reference and the model file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    start = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neurax_nrnivmodl_") as tmp:
        library = str(compile_mods(MODS, Path(tmp) / "lib"))
        output = args.out / f"{NAME}.npz"
        rc, tail = run_worker({"library": library, "output": str(output)}, __file__, TIMEOUT_S)
        if rc != 0 or not output.exists():
            print(f"ERROR  worker failed (returncode {rc}): {tail.strip()[-1500:]}")
            return 1
    import numpy as np

    with np.load(output) as z:
        meta = json.loads(str(z["meta"]))
    print(f"ok     {output.name}  spikes {meta['spike_counts']}  {output.stat().st_size / 1e3:.0f} kB")
    model = write_model(args.out, SCRIPT, MODS, f"{NAME}.json.gz")
    print(f"wrote  {model} ({model.stat().st_size / 1e3:.0f} kB); {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
