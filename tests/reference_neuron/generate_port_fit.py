"""Generate the NEURON recording that tutorial 6 fits: the ported pyramidal model with ten changed conductances.

The model is ``docs/models/pyramidal.hoc`` (see ``generate_ports.py``). A fresh NEURON process loads the
channel library (compiled by ``nrnivmodl``), runs the script, switches the script's own IClamp off and then

* multiplies ten conductances, segment by segment, by the factors of :data:`TRUTH` (for the apical Ih it calls
  the template's ``set_ih_gradient(g0)`` with the new ``g0``, so the density keeps its exponential rise with
  distance);
* applies the protocol :data:`PROTOCOL` at ``soma[0](0.5)``: a hyperpolarising step that shows the passive
  and Ih responses, then three brief suprathreshold pulses that make spikes travel into the axon and dendrites;
* runs finitialize(v_init) and round(tstop / dt) fadvance calls, recording :data:`RECORD` of
  ``generate_ports.py`` (soma, the farthest apical, basal and axonal tips).

It stores ``tests/reference_neuron/ports/pyramidal_fit.npz`` (``t``, ``v`` float64 and a JSON ``meta`` with the
protocol, the settings, the factors, the true values NEURON held afterwards (per region, checked to be uniform
there) and the model values they replaced). Read it with :func:`tests.reference_neuron.trace_refs.load_port_trace`
(``load_port_trace("pyramidal_fit")``).

Usage::

    python tests/reference_neuron/generate_port_fit.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # run as a script: make ``tests.reference_neuron`` importable
    sys.path.insert(0, str(HERE.parent.parent))

from tests.reference_neuron.generate_mechanisms import compile_mods, mod_files  # noqa: E402
from tests.reference_neuron.generate_ports import (  # noqa: E402
    MODS,
    OUT_DIR,
    RECORD,
    SCRIPT,
    load_script,
    sha256,
    split_location,
)
from tests.reference_neuron.generate_traces import (  # noqa: E402
    REPO,
    run_worker,
    save_traces,
    simulate,
    spike_indices,
)

FORMAT_VERSION = 1
NAME = "pyramidal_fit.npz"

#: ``"<mechanism>.<parameter>@<section list>"`` -> factor applied to the model's value (``Ih.g0@apical`` is the
#: ``g0`` of the template's Ih gradient, 2e-4 S/cm2 in the model).
TRUTH = {
    "NaT.gbar@somatic": 1.15,
    "Kv3_1.gbar@somatic": 0.85,
    "SK.gbar@somatic": 1.2,
    "pas.g@all": 0.8,
    "NaT.gbar@axonal": 0.9,
    "Kv3_1.gbar@axonal": 1.1,
    "KP.gbar@axonal": 0.85,
    "NaT.gbar@apical": 1.2,
    "Ih.g0@apical": 0.8,
    "Im.gbar@apical": 1.15,
}
IH_G0 = 2e-4  # the model's set_ih_gradient argument (PyramidalCell.hoc)
#: IClamps at soma[0](0.5): (delay ms, duration ms, amplitude nA).
PROTOCOL = [(2.0, 10.0, -0.5), (15.0, 2.0, 3.0), (25.0, 2.0, 3.0), (35.0, 2.0, 3.0)]
SETTINGS = {"tstop": 45.0, "dt": 0.025, "v_init": -80.0, "celsius": 34.0}


def worker(spec: dict) -> None:
    """Run the changed model under the protocol and write the recording."""
    import neuron
    from neuron import h

    load_script(h, spec["library"], SCRIPT)
    h.stim.amp = 0.0  # the script's own 0.8 nA step (from 50 ms) is not part of the protocol
    cell = h.cell
    lists = {"all": cell.all, "somatic": cell.somatic, "axonal": cell.axonal, "apical": cell.apical}
    model, true = {}, {}
    for key, factor in TRUTH.items():
        name, where = key.split("@")
        mech, param = name.split(".")
        if param == "g0":
            model[key] = IH_G0
            cell.set_ih_gradient(IH_G0 * factor)
            true[key] = IH_G0 * factor
            continue
        before, after = set(), set()
        sections = {sec.name(): sec for sec in lists[where]}  # Import3d's instantiate fills the lists too
        for sec in sections.values():
            for seg in sec:
                obj = getattr(seg, mech)
                before.add(getattr(obj, param))
                setattr(obj, param, getattr(obj, param) * factor)
                after.add(getattr(obj, param))
        if len(before) != 1:
            raise RuntimeError(f"{key} is not uniform in the model ({sorted(before)})")
        model[key], true[key] = before.pop(), after.pop()
    stims = []
    soma = cell.soma[0]
    for delay, dur, amp in PROTOCOL:
        stim = h.IClamp(soma(0.5))
        stim.delay, stim.dur, stim.amp = delay, dur, amp
        stims.append(stim)
    h.celsius = SETTINGS["celsius"]
    h.CVode().active(0)
    by_name = {s.name(): s for s in h.allsec()}
    segs = [by_name[sec](x) for sec, x in map(split_location, RECORD)]
    t, v, seconds = simulate(h, segs, SETTINGS)
    spikes = [spike_indices(row) for row in v]
    meta = {
        "format_version": FORMAT_VERSION,
        "script": str(SCRIPT.relative_to(REPO)),
        "script_sha256": sha256(SCRIPT),
        "model_files_sha256": {p.name: sha256(p) for p in sorted(SCRIPT.parent.glob("*.hoc"))},
        "mod_files": [{"file": str(Path(f).relative_to(REPO)), "sha256": sha256(Path(f))} for f in spec["files"]],
        "neuron_version": neuron.__version__,
        "amp": None,
        "iclamp": [{"location": "PyramidalCell[0].soma[0](0.5)", "delay": d, "dur": u, "amp": a}
                   for d, u, a in PROTOCOL],
        "settings": SETTINGS,
        "record": RECORD,
        "factors": TRUTH,
        "model_values": model,
        "true_values": true,
        "ncompartments": int(sum(sec.nseg for sec in by_name.values())),
        "n_steps": len(t) - 1,
        "spike_counts": [len(s) for s in spikes],
        "spike_times": [t[s].tolist() for s in spikes],
        "wall_time_s": {"simulate": seconds},
    }
    save_traces(spec["output"], t, v, meta)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the recording")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    start = time.monotonic()
    files = mod_files(MODS)
    with tempfile.TemporaryDirectory(prefix="neurax_nrnivmodl_") as tmp:
        spec = {"library": str(compile_mods(files, Path(tmp) / "lib")), "files": [str(f) for f in files],
                "output": str(args.out / NAME)}
        rc, tail = run_worker(spec, __file__, 900)
    if rc != 0:
        print(f"ERROR  worker failed (returncode {rc}): {tail.strip()[-1500:]}")
        return 1
    import numpy as np

    with np.load(spec["output"]) as z:
        meta = json.loads(str(z["meta"]))
    print(f"ok     {spec['output']}  {meta['ncompartments']} comp  spikes {meta['spike_counts']}  "
          f"{time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
