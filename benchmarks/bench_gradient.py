"""Gradients and batches: value_and_grad versus forward time, vmap throughput versus NEURON, memory.

Cell: the CA1 pyramidal cell ``jaxley/morph_ca1_n120.swc`` (156 sections), hh everywhere, a soma current
step, 100 ms at dt 0.025. Every measurement runs in a fresh subprocess (peak RSS is its own):

* gradient: nseg 8 (1,248 compartments), gnabar, gkbar and gl trainable per section (468 parameters); the
  ratio of ``value_and_grad`` time to forward time, without and with checkpointing, and peak memory;
* batches: ``jax.vmap`` over 1, 8, 32, 128 parameter sets (gnabar scales) on the same cell; simulations per
  second relative to NEURON running the same simulations one after another;
* long runs: peak memory of the gradient of 1 s of simulated time at ~2,500 compartments with checkpointing.

The gradient is measured twice: as is, and with ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (Linux, glibc
2.35 or later), which lets malloc back XLA's large buffers with transparent huge pages. XLA:CPU allocates
a gradient's temporaries afresh on every call, and without huge pages the kernel zeroes them page by page
(about 22,000 page faults per call on the bench cell, against 400 with them).

    python benchmarks/bench_gradient.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CELL = REPO.parent / "shared" / "morphologies" / "jaxley" / "morph_ca1_n120.swc"

COMMON = r"""
import json, resource, statistics, sys, time, warnings
warnings.simplefilter("ignore")
import jax, jax.numpy as jnp
import neurax as nx
path, nseg, tstop = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
cell = nx.Cell(nx.load(path), nseg).insert(nx.HH())
stim = [nx.IClamp("soma[0](0.5)", 5.0, 80.0, 2.0)]
def best(fn, repeat=3):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

GRADIENT = COMMON + r"""
mode = sys.argv[4]
tr = cell.trainable({"hh.gnabar": nx.PerSection("all"), "hh.gkbar": nx.PerSection("all"),
                     "hh.gl": nx.PerSection("all")})
p = tr.init()
ck = None if mode == "plain" else True
def loss(p):
    return jnp.mean(nx.simulate(tr.apply(p), stim, ["soma[0](0.5)"], tstop=tstop, checkpoint=ck).v)
out = {"parameters": tr.size, "compartments": cell.tree.n_segments}
if mode != "memory":
    fwd = jax.jit(loss)
    out["forward"] = best(lambda: fwd(p).block_until_ready())
vg = jax.jit(jax.value_and_grad(loss))
out["value_and_grad"] = best(lambda: jax.block_until_ready(vg(p)), repeat=1 if mode == "memory" else 3)
out["rss_mb"] = rss()
print(json.dumps(out))
"""

BATCH = COMMON + r"""
batch = int(sys.argv[4])
def one(scale):
    params = dict(cell.params)
    params["hh"] = {**params["hh"], "gnabar": params["hh"]["gnabar"] * scale}
    return nx.simulate(cell.with_params(params), stim, ["soma[0](0.5)"], tstop=tstop).v
run = jax.jit(jax.vmap(one))
scales = jnp.linspace(0.8, 1.2, batch)
t = best(lambda: run(scales).block_until_ready())
print(json.dumps({"batch": batch, "seconds": t, "per_second": batch / t, "rss_mb": rss()}))
"""

NEURON = r"""
import json, statistics, sys, time
path, nseg, tstop = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
from neuron import h
h.load_file("stdrun.hoc"); h.load_file("import3d.hoc")
r = h.Import3d_SWC_read(); r.quiet = 1; r.input(path); h.Import3d_GUI(r, False).instantiate(None)
for s in h.allsec():
    s.nseg = nseg; s.insert("hh")
stim = h.IClamp(h.soma[0](0.5)); stim.delay = 5; stim.dur = 80; stim.amp = 2.0
rec = h.Vector().record(h.soma[0](0.5)._ref_v)
h.dt = 0.025; h.steps_per_ms = 40
times = []
for _ in range(4):
    h.finitialize(-65); t = time.perf_counter(); h.continuerun(tstop); times.append(time.perf_counter() - t)
print(json.dumps({"seconds": statistics.median(times[1:])}))
"""


HUGE_PAGES = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}


def measure(code: str, *args, env: dict | None = None) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=7200,
                          env=None if env is None else {**os.environ, **env})
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches, skip the 1 s memory run")
    args = parser.parse_args()
    report = {}
    plain = measure(GRADIENT, CELL, 8, 100.0, "plain")
    ckpt = measure(GRADIENT, CELL, 8, 100.0, "checkpoint")
    huge = measure(GRADIENT, CELL, 8, 100.0, "plain", env=HUGE_PAGES)
    report["gradient"] = {"plain": plain, "checkpoint": ckpt, "plain_huge_pages": huge}
    print(f"gradient, {plain['compartments']} compartments, {plain['parameters']} parameters, 100 ms:")
    for name, row in (("no checkpointing", plain), ("checkpointing", ckpt), ("huge pages", huge)):
        print(f"  {name:>17}: forward {row['forward']:.3f} s, value_and_grad {row['value_and_grad']:.3f} s, "
              f"ratio {row['value_and_grad'] / row['forward']:.2f}, peak RSS {row['rss_mb']:.0f} MB", flush=True)
    nrn = measure(NEURON, CELL, 8, 100.0)["seconds"]
    print(f"batches (vmap over gnabar scales), NEURON one simulation {nrn:.3f} s = {1 / nrn:.2f} sims/s:")
    report["neuron_seconds"] = nrn
    report["batch"] = []
    for batch in (1, 8, 32) if args.quick else (1, 8, 32, 128):
        row = measure(BATCH, CELL, 8, 100.0, batch)
        report["batch"].append(row)
        print(f"  batch {batch:>4}: {row['seconds']:.3f} s, {row['per_second']:.2f} sims/s, "
              f"{row['per_second'] * nrn:.2f}x NEURON's throughput, peak RSS {row['rss_mb']:.0f} MB", flush=True)
    if not args.quick:
        long = measure(GRADIENT, CELL, 16, 1000.0, "memory")
        report["long"] = long
        print(f"1 s simulated, {long['compartments']} compartments, checkpointed value_and_grad: "
              f"{long['value_and_grad']:.1f} s, peak RSS {long['rss_mb']:.0f} MB")
    Path("bench_gradient.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
