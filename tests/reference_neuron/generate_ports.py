"""Generate the NEURON references for ``neurax port``: the detailed pyramidal model of docs/models.

The model is ``docs/models/pyramidal.hoc`` (a ``PyramidalCell`` from ``PyramidalCell.hoc`` on the bundled c91662
reconstruction, channels from neurax's library ``neurax/channels``, a somatic IClamp from 50 to 450 ms, celsius
34, v_init -80, dt 0.025, tstop 500).  For every amplitude in :data:`AMPLITUDES` this script starts a fresh
NEURON subprocess that does::

    h.nrn_load_dll(LIBRARY)                     # neurax/channels, compiled by nrnivmodl in a temporary folder,
                                                # the files named explicitly in sorted byte order (neurax's)
    os.chdir("docs/models"); h.load_file("pyramidal.hoc")       # the model, exactly as ``neurax port`` runs it
    stim.amp = AMPLITUDE                        # the model's own IClamp (delay 50, dur 400)
    h.dt = dt; h.finitialize(v_init); round(tstop / dt) times h.fadvance()   (generate_traces.simulate)

and records :data:`RECORD` (NEURON's full names).  With ``--script tests/reference_neuron/pyramidal_class.py``
the same is done with the Python-class version of the model (``stim`` is then the script's global).

Each amplitude is stored in ``tests/reference_neuron/ports/pyramidal_<amp>nA.npz`` in the format of ``traces/``
(``t``, ``v`` float64, a JSON ``meta`` with the amplitude, the record list, spike counts and times, compartments,
the NEURON version and the SHA-256 of the model files).  Read them with
:func:`tests.reference_neuron.trace_refs.load_port_trace`.

The script also writes the model file that ``neurax port docs/models/pyramidal.hoc --mod neurax/channels`` makes
as ``ports/pyramidal.json.gz`` (gzip with a zero time stamp, so regenerating gives the same bytes), so that the
tests need no NEURON; load it with :func:`tests.reference_neuron.trace_refs.load_port_model`.

Usage::

    python tests/reference_neuron/generate_ports.py [--jobs N] [--out DIR] [--script SCRIPT] [--amp A ...]
                                                    [--tstop MS] [--no-model] [--export MODEL.json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # run as a script: make ``tests.reference_neuron`` importable
    sys.path.insert(0, str(HERE.parent.parent))

from tests.reference_neuron.generate_mechanisms import compile_mods, mod_files  # noqa: E402
from tests.reference_neuron.generate_traces import (  # noqa: E402
    REPO,
    run_worker,
    save_traces,
    simulate,
    spike_indices,
    time_report,
)

OUT_DIR = HERE / "ports"
SCRIPT = REPO / "docs" / "models" / "pyramidal.hoc"
MODS = ["neurax/channels"]
MODEL_NAME = "pyramidal.json.gz"
FORMAT_VERSION = 1
TIMEOUT_S = 900

#: The IClamp amplitudes (nA); the model's own is 0.8. Each spikes repetitively (7, 9 and 11 somatic spikes).
AMPLITUDES = (0.4, 0.8, 1.2)
#: Soma, the farthest apical tip (838 um from the soma's middle), the farthest basal tip (284 um) and the axon's
#: far end (557 um); checked against NEURON's h.distance on every run.
RECORD = [
    "PyramidalCell[0].soma[0](0.5)",
    "PyramidalCell[0].apic[43](1)",
    "PyramidalCell[0].dend[35](1)",
    "PyramidalCell[0].axon[0](1)",
]


def split_location(text: str) -> tuple[str, float]:
    """``'PyramidalCell[0].apic[43](1)'`` -> ('PyramidalCell[0].apic[43]', 1.0)."""
    sec, _, x = text.strip().rpartition("(")
    if not sec or not x.endswith(")"):
        raise ValueError(f"bad location {text!r}: expected SEC(X)")
    return sec, float(x[:-1])


def reference_name(amp: float) -> str:
    """The file name of one amplitude's reference, e.g. ``pyramidal_0.8nA.npz``."""
    return f"pyramidal_{amp!r}nA.npz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------------------------
# Worker side
# ----------------------------------------------------------------------------------------------------------


def farthest(h, soma, prefix: str) -> tuple[str, float]:
    """The section of a kind (``apic``, ``dend``, ``axon``) whose x = 1 end is farthest from soma(0.5)."""
    best = ("", -1.0)
    for sec in h.allsec():
        if sec.name().rsplit(".", 1)[-1].startswith(prefix + "["):
            d = h.distance(soma(0.5), sec(1))
            if d > best[1]:
                best = (sec.name(), d)
    return best


def worker(spec: dict) -> None:
    """Run the model at one amplitude and write the reference."""
    import neuron
    from neuron import h

    if not h.nrn_load_dll(spec["library"]):
        raise RuntimeError(f"could not load {spec['library']}")
    script = Path(spec["script"])
    os.chdir(script.parent)
    start = time.perf_counter()
    if script.suffix == ".hoc":
        if not h.load_file(str(script)):
            raise RuntimeError(f"NEURON could not run {script}")
        stim = h.stim
    else:
        namespace = runpy.run_path(str(script), run_name="__main__")  # kept: the cell lives in its globals
        stim = namespace["stim"]
    wall = {"setup": time.perf_counter() - start}
    h.CVode().active(0)
    if int(h.secondorder) != 0:
        raise RuntimeError("secondorder must be 0")
    if spec.get("export"):  # the model document, as ``neurax port`` would write it (before anything runs)
        export_model(h, spec)
    stim.amp = spec["amp"]
    by_name = {s.name(): s for s in h.allsec()}
    soma = by_name["PyramidalCell[0].soma[0]"]
    marks = {kind: list(farthest(h, soma, kind)) for kind in ("apic", "dend", "axon")}
    for kind, loc in zip(("apic", "dend", "axon"), RECORD[1:], strict=True):
        if marks[kind][0] != split_location(loc)[0]:
            raise RuntimeError(f"the farthest {kind} section is {marks[kind]}, not {loc}")
    segs = [by_name[sec](x) for sec, x in map(split_location, RECORD)]
    settings = {"dt": float(h.dt), "tstop": float(spec.get("tstop") or h.tstop), "v_init": float(h.v_init),
                "celsius": float(h.celsius)}
    t, v, wall["simulate"] = simulate(h, segs, settings)
    spikes = [spike_indices(row) for row in v]
    meta = {
        "format_version": FORMAT_VERSION,
        "script": str(script.relative_to(REPO)),
        "script_sha256": sha256(script),
        "model_files_sha256": {p.name: sha256(p) for p in sorted(script.parent.glob("*.hoc"))},
        "mod_files": [{"file": str(Path(f).relative_to(REPO)), "sha256": sha256(Path(f))} for f in spec["files"]],
        "neuron_version": neuron.__version__,
        "amp": spec["amp"],
        "iclamp": {"location": "PyramidalCell[0].soma[0](0.5)", "delay": float(stim.delay), "dur": float(stim.dur),
                   "amp": float(stim.amp)},
        "settings": settings,
        "record": RECORD,
        "farthest": marks,
        "nsec": len(by_name),
        "ncompartments": int(sum(sec.nseg for sec in by_name.values())),
        "n_steps": len(t) - 1,
        "spike_counts": [len(s) for s in spikes],
        "spike_times": [t[s].tolist() for s in spikes],
        "time": time_report(t, settings["dt"]),
        "wall_time_s": wall,
    }
    save_traces(spec["output"], t, v, meta)


def export_model(h, spec: dict) -> None:
    """Write the live model as a neurax model document (what ``neurax port``'s NEURON driver exports)."""
    sys.path.insert(0, str(REPO))
    from neurax.port.export import export
    from neurax.port.run import mechanism_info, type_orders

    info, _ = mechanism_info(spec["files"])
    orders = type_orders(h)
    for name, entry in info.items():
        entry["order"] = orders.get(name, entry["order"])
    source = {"script": Path(spec["script"]).name, "mods": [Path(f).name for f in spec["files"]],
              "neuron": __import__("neuron").__version__}
    Path(spec["export"]).write_text(json.dumps(export(h, info, source)))


# ----------------------------------------------------------------------------------------------------------
# Parent side
# ----------------------------------------------------------------------------------------------------------


def write_model(out: Path, script: Path = SCRIPT, mods: list[Path] | None = None, name: str = MODEL_NAME) -> Path:
    """``neurax port SCRIPT --mod MOD ...``, gzipped (zero time stamp, so regenerating gives the same bytes) into
    ``out / name`` (by default: the pyramidal model with neurax/channels).
    """
    mods = [REPO / m for m in MODS] if mods is None else mods
    plain_name = name.removesuffix(".gz")
    with tempfile.TemporaryDirectory(prefix="neurax_port_ref_") as tmp:
        plain = Path(tmp) / plain_name
        cmd = [sys.executable, "-m", "neurax.cli", "port", str(script), "--out", str(plain)]
        for mod in mods:
            cmd += ["--mod", str(mod)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=TIMEOUT_S)
        if proc.returncode != 0:
            raise RuntimeError(f"neurax port failed: {(proc.stdout + proc.stderr)[-2000:]}")
        target = out / name
        with open(target, "wb") as raw, gzip.GzipFile(filename=plain_name, mode="wb", fileobj=raw, mtime=0,
                                                      compresslevel=9) as gz:
            gz.write(plain.read_bytes())
    return target


def load_script(h, library: str, script: Path) -> None:
    """Load the compiled mechanisms and run a hoc script from its own folder, as ``neurax port`` does."""
    if not h.nrn_load_dll(library):
        raise RuntimeError(f"could not load {library}")
    os.chdir(script.parent)
    if not h.load_file(str(script)):
        raise RuntimeError(f"NEURON could not run {script}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the references")
    parser.add_argument("--script", type=Path, default=SCRIPT, help="the model script (.hoc, or the .py twin)")
    parser.add_argument("--amp", type=float, action="append", help="only these amplitudes (nA)")
    parser.add_argument("--tstop", type=float, help="simulate this long instead of the model's tstop (for checks: the "
                        "run is then a prefix of the stored one)")
    parser.add_argument("--no-model", action="store_true", help="do not (re)write the model file")
    parser.add_argument("--export", type=Path, help="also export the script's model document (JSON) here, as "
                        "neurax port's driver does, from the run of the first amplitude")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    start = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    files = mod_files(MODS)
    with tempfile.TemporaryDirectory(prefix="neurax_nrnivmodl_") as tmp:
        library = str(compile_mods(files, Path(tmp) / "lib"))
        specs = [{"amp": amp, "script": str(args.script.resolve()), "library": library, "tstop": args.tstop,
                  "files": [str(f) for f in files], "output": str(args.out / reference_name(amp))}
                 for amp in (args.amp or AMPLITUDES)]
        if args.export:
            specs[0]["export"] = str(args.export.resolve())
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(run_worker, spec, __file__, TIMEOUT_S): spec for spec in specs}
            for fut in concurrent.futures.as_completed(futures):
                spec = futures[fut]
                rc, tail = fut.result()
                out = Path(spec["output"])
                if rc != 0 or not out.exists():
                    failed += 1
                    print(f"ERROR  {spec['amp']} nA: worker failed (returncode {rc}): {tail.strip()[-1500:]}")
                    continue
                import numpy as np

                with np.load(out) as z:
                    meta = json.loads(str(z["meta"]))
                print(f"ok     {out.name:28s} {meta['ncompartments']} comp  spikes {meta['spike_counts']}  NEURON "
                      f"{meta['wall_time_s']['simulate']:.1f} s  {out.stat().st_size / 1e3:.0f} kB", flush=True)
    if not args.no_model:
        model = write_model(args.out)
        print(f"wrote  {model} ({model.stat().st_size / 1e3:.0f} kB)")
    print(f"{len(specs)} amplitudes, {failed} failed, {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
