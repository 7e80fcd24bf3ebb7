"""A ported NEURON model with the whole channel library: neurax against NEURON on the same machine.

The model is ``docs/models/pyramidal.hoc`` (the c91662 reconstruction, 2,806 compartments by d_lambda 0.05,
all 13 channels of ``neurax/channels`` placed per section list, Ih rising with distance from the soma, a
calcium pool; a 0.8 nA soma step from 50 to 450 ms, 34 degC, v_init -80 mV), ported with ``neurax port``.
Every measurement runs in a fresh subprocess (its peak RSS is its own); times are medians of repeats after a
first call, which is reported apart as the compile time.

* NEURON 9: ``finitialize`` + ``continuerun`` of the same hoc, the same ``.mod`` files compiled by
  ``nrnivmodl`` (fixed step, dt 0.025 ms), 1 s and the batch length;
* forward: ``nx.simulate`` of 1 s (the soma recorded), jitted; compile time and run time;
* value_and_grad: the mean square soma voltage over 1 s, differentiated with respect to the conductance
  arrays (12 channels' gbar and pas g), without and with ``checkpoint=True``; compile, run and peak memory;
  then the forward and the gradient in turn in that process, twice (their ratio is immune to the machine's
  speed drifting between processes);
* vmap: 32 simulations at once (every conductance scaled by 0.9..1.1), simulations per second against
  NEURON running them one after another (``--batch-ms``, 200 ms by default);
* import: ``nx.load_mods`` of a folder of 15 ``.mod`` files (the library, ``hh_equiv.mod``, a synapse) in a
  fresh process, after ``import neurax``.

    python benchmarks/bench_channels.py [--tstop 1000] [--batch-ms 200] [--quick]

NEURON (``pip install -e .[neuron]``) and its ``nrnivmodl`` are needed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOC = REPO / "docs" / "models" / "pyramidal.hoc"
CHANNELS = REPO / "neurax" / "channels"
EXTRA_MODS = [REPO / "tests" / "data" / "mod" / "hh_equiv.mod",
              REPO / "tests" / "data" / "mod" / "corpus" / "point_process_synapse.mod"]
SOMA = "PyramidalCell[0].soma[0](0.5)"

NEURON = r"""
import json, os, statistics, sys, time
from neuron import h
library, hoc, tstop, repeat = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
h.nrn_load_dll(library)
os.chdir(os.path.dirname(hoc))
h.load_file("stdrun.hoc"); h.load_file(hoc)
v_init = h.v_init
times = []
for _ in range(repeat):
    h.finitialize(v_init); t = time.perf_counter(); h.continuerun(tstop); times.append(time.perf_counter() - t)
print(json.dumps({"seconds": statistics.median(times), "compartments": sum(s.nseg for s in h.allsec())}))
"""

COMMON = r"""
import json, resource, statistics, sys, time, warnings
warnings.simplefilter("ignore")
import jax, jax.numpy as jnp
import neurax as nx
from neurax.mechanisms.base import conductance_parameters
model = nx.load_model(sys.argv[1])
tstop = float(sys.argv[2])
cell, stim, settings = model.cell, list(model.stimuli[0]), {**model.settings, "tstop": tstop}
keys = [(m.name, k) for m, _ in cell.mechanisms for k in conductance_parameters(m)]
g0 = [jnp.asarray(cell.params[name][k]) for name, k in keys]
def with_g(g):
    params = {k: dict(v) if isinstance(v, dict) else v for k, v in cell.params.items()}
    for (name, k), x in zip(keys, g):
        params[name][k] = x
    return cell.with_params(params)
def timed(fn, repeat=3):
    t = time.perf_counter(); jax.block_until_ready(fn()); first = time.perf_counter() - t
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); jax.block_until_ready(fn()); times.append(time.perf_counter() - t)
    run = statistics.median(times)
    return {"compile": max(first - run, 0.0), "run": run}
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

FORWARD = COMMON + r"""
f = jax.jit(lambda g: nx.simulate(with_g(g), stim, [SOMA], **settings).v)
out = timed(lambda: f(g0))
out.update(compartments=int(cell.tree.n_segments), conductances=len(keys), rss_mb=rss())
print(json.dumps(out))
"""

GRADIENT = COMMON + r"""
checkpoint = {"none": None, "auto": True}[sys.argv[3]]
def loss(g):
    return jnp.mean(nx.simulate(with_g(g), stim, [SOMA], checkpoint=checkpoint, **settings).v ** 2)
vg = jax.jit(jax.value_and_grad(loss))
out = timed(lambda: vg(g0), repeat=2)
out["rss_mb"] = rss()
# the forward again, alternating with the gradient in this process: the ratio then holds whatever the VM's
# speed does between processes
f = jax.jit(lambda g: nx.simulate(with_g(g), stim, [SOMA], **settings).v)
jax.block_until_ready(f(g0))
pairs = []
for _ in range(2):
    t = time.perf_counter(); jax.block_until_ready(f(g0)); fwd = time.perf_counter() - t
    t = time.perf_counter(); jax.block_until_ready(vg(g0)); pairs.append((fwd, time.perf_counter() - t))
out["alternating"] = pairs
print(json.dumps(out))
"""

BATCH = COMMON + r"""
batch = int(sys.argv[3])
def one(scale):
    return nx.simulate(with_g([x * scale for x in g0]), stim, [SOMA], **settings).v
run = jax.jit(jax.vmap(one))
scales = jnp.linspace(0.9, 1.1, batch)
out = timed(lambda: run(scales), repeat=2)
out.update(batch=batch, per_second=batch / out["run"], rss_mb=rss())
print(json.dumps(out))
"""

IMPORT = r"""
import json, sys, time
t = time.perf_counter()
import neurax as nx
imported = time.perf_counter() - t
t = time.perf_counter()
mechanisms = nx.load_mods([sys.argv[1]])
print(json.dumps({"import_neurax": imported, "load_mods": time.perf_counter() - t, "files": len(mechanisms)}))
"""


def measure(code: str, *args) -> dict:
    """Run ``code`` in a fresh Python with ``args``; its last stdout line, as JSON."""
    code = code.replace("SOMA", repr(SOMA))
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=7200)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(lines[-1])


def compile_channels(folder: Path) -> Path:
    """The channel library built by nrnivmodl in ``folder``; the path of its shared library."""
    for mod in CHANNELS.glob("*.mod"):
        shutil.copy(mod, folder)
    nrnivmodl = shutil.which("nrnivmodl") or str(Path(sys.executable).with_name("nrnivmodl"))
    subprocess.run([nrnivmodl], cwd=folder, check=True, capture_output=True)
    found = sorted(folder.glob("*/libnrnmech.so")) or sorted(folder.glob("*/.libs/libnrnmech.so"))
    if not found:
        raise RuntimeError(f"nrnivmodl made no libnrnmech.so in {folder}")
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tstop", type=float, default=1000.0, help="simulated time, ms (default 1000)")
    parser.add_argument("--batch-ms", type=float, default=200.0, help="simulated time of the batch run, ms")
    parser.add_argument("--quick", action="store_true", help="skip the checkpointed gradient")
    args = parser.parse_args()
    report: dict = {"tstop": args.tstop}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = tmp / "pyramidal.json"
        subprocess.run([sys.executable, "-m", "neurax", "port", str(HOC), "--mod", str(CHANNELS), "--out",
                        str(model)], check=True, capture_output=True)
        (tmp / "nrn").mkdir()
        library = compile_channels(tmp / "nrn")

        mods = tmp / "mods"
        mods.mkdir()
        for path in [*CHANNELS.glob("*.mod"), *EXTRA_MODS]:
            shutil.copy(path, mods)
        imp = measure(IMPORT, mods)
        report["import"] = imp
        print(f"import neurax {imp['import_neurax']:.3f} s; nx.load_mods of {imp['files']} .mod files "
              f"{imp['load_mods']:.3f} s", flush=True)

        nrn = measure(NEURON, library, HOC, args.tstop, 2)
        fwd = measure(FORWARD, model, args.tstop)
        report.update(neuron=nrn, forward=fwd)
        print(f"{fwd['compartments']} compartments (NEURON {nrn['compartments']}), {args.tstop:g} ms:")
        print(f"  NEURON {nrn['seconds']:.2f} s; neurax forward {fwd['run']:.2f} s = "
              f"{fwd['run'] / nrn['seconds']:.2f}x NEURON's time (compile {fwd['compile']:.1f} s, peak RSS "
              f"{fwd['rss_mb']:.0f} MB)", flush=True)
        for mode in ("none",) if args.quick else ("none", "auto"):
            grad = measure(GRADIENT, model, args.tstop, mode)
            report[f"gradient_{mode}"] = grad
            name = "checkpoint=True" if mode == "auto" else "no checkpointing"
            print(f"  value_and_grad of {fwd['conductances']} conductance arrays, {name}: {grad['run']:.2f} s = "
                  f"{grad['run'] / fwd['run']:.2f}x forward (compile {grad['compile']:.1f} s, peak RSS "
                  f"{grad['rss_mb']:.0f} MB)", flush=True)
            pairs = ", ".join(f"{g:.2f}/{f:.2f} s = {g / f:.2f}x" for f, g in grad["alternating"])
            print(f"    alternating with the forward in one process (gradient/forward): {pairs}", flush=True)

        nrn_b = measure(NEURON, library, HOC, args.batch_ms, 3)
        one = measure(BATCH, model, args.batch_ms, 1)
        many = measure(BATCH, model, args.batch_ms, 32)
        report.update(neuron_batch=nrn_b, batch_1=one, batch_32=many)
        nrn_rate = 1.0 / nrn_b["seconds"]
        print(f"vmap, {args.batch_ms:g} ms each: NEURON {nrn_rate:.2f} sims/s one after another; neurax batch 1 "
              f"{one['per_second']:.2f} sims/s ({one['per_second'] / nrn_rate:.2f}x), batch 32 "
              f"{many['per_second']:.2f} sims/s ({many['per_second'] / nrn_rate:.2f}x NEURON's throughput, "
              f"compile {many['compile']:.1f} s, peak RSS {many['rss_mb']:.0f} MB)", flush=True)
    Path("bench_channels.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
