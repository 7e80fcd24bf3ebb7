"""Simulation speed and memory: neurax versus NEURON (and Arbor / Jaxley when installed), same cell, same run.

For each size the CA1 pyramidal cell ``jaxley/morph_ca1_n120.swc`` (156 sections) is discretised with a
uniform nseg chosen to reach about 500 .. 20,000 compartments; hh everywhere, a soma current step,
100 ms at dt 0.025 (4,000 steps). Every measurement runs in a fresh subprocess (so peak memory is that
simulator's own) and reports the median of ``--repeat`` runs after a warm-up:

* NEURON: ``finitialize`` + ``continuerun(100)``;
* neurax: compile time (``jit(...).lower().compile()``), then run time of the compiled function, in
  float64 and float32.

Ratios are neurax / NEURON (lower is better).

    python benchmarks/bench_simulate.py [--sizes 500 1000 2500 5000 10000 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CELL = REPO.parent / "shared" / "morphologies" / "jaxley" / "morph_ca1_n120.swc"

NEURON = r"""
import json, resource, statistics, sys, time
path, nseg, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from neuron import h
h.load_file("stdrun.hoc"); h.load_file("import3d.hoc")
r = h.Import3d_SWC_read(); r.quiet = 1; r.input(path); h.Import3d_GUI(r, False).instantiate(None)
n = 0
for s in h.allsec():
    s.nseg = nseg; s.insert("hh"); n += nseg
stim = h.IClamp(h.soma[0](0.5)); stim.delay = 5; stim.dur = 80; stim.amp = 2.0
rec = h.Vector().record(h.soma[0](0.5)._ref_v)
h.dt = 0.025; h.steps_per_ms = 40
times = []
for _ in range(repeat + 1):
    h.finitialize(-65); t = time.perf_counter(); h.continuerun(100.0); times.append(time.perf_counter() - t)
print(json.dumps({"compartments": n, "run": statistics.median(times[1:]),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

NEURAX = r"""
import json, resource, statistics, sys, time, warnings
path, nseg, repeat, dtype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
warnings.simplefilter("ignore")
import jax, jax.numpy as jnp
import neurax as nx
cell = nx.Cell(nx.load(path), nseg).insert(nx.HH())
stim = [nx.IClamp("soma[0](0.5)", 5.0, 80.0, 2.0)]
dt = jnp.float32 if dtype == "float32" else jnp.float64
fn = jax.jit(lambda c, s: nx.simulate(c, s, ["soma[0](0.5)"], tstop=100.0, dt=0.025, dtype=dt).v)
t = time.perf_counter(); compiled = fn.lower(cell, stim).compile(); compile_s = time.perf_counter() - t
compiled(cell, stim).block_until_ready()
times = []
for _ in range(repeat):
    t = time.perf_counter(); compiled(cell, stim).block_until_ready(); times.append(time.perf_counter() - t)
print(json.dumps({"compartments": cell.tree.n_segments, "compile": compile_s, "run": statistics.median(times),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(code: str, *args) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=3600)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2500, 5000, 10000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    print(f"{'comp':>7} {'NEURON s':>9} {'neurax s':>9} {'ratio':>6} {'compile s':>9} {'f32 s':>7} {'f32 ratio':>9}"
          f" {'NEURON MB':>9} {'neurax MB':>9}", flush=True)
    for size in args.sizes:
        nseg = max(1, round(size / 156))
        nrn = measure(NEURON, CELL, nseg, args.repeat)
        f64 = measure(NEURAX, CELL, nseg, args.repeat, "float64")
        f32 = measure(NEURAX, CELL, nseg, args.repeat, "float32")
        row = {"compartments": f64["compartments"], "neuron": nrn, "float64": f64, "float32": f32}
        rows.append(row)
        print(f"{f64['compartments']:>7} {nrn['run']:>9.3f} {f64['run']:>9.3f} {f64['run'] / nrn['run']:>6.2f} "
              f"{f64['compile']:>9.2f} {f32['run']:>7.3f} {f32['run'] / nrn['run']:>9.2f} {nrn['rss_mb']:>9.0f} "
              f"{f64['rss_mb']:>9.0f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
