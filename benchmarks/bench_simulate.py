"""Simulation speed and memory: neurax versus NEURON (and Arbor / Jaxley when installed), same cell, same run.

For each size the CA1 pyramidal cell ``jaxley/morph_ca1_n120.swc`` (156 sections) is discretised with a
uniform nseg chosen to reach about 500 .. 20,000 compartments; hh everywhere, a soma current step,
100 ms at dt 0.025 (4,000 steps). Every measurement runs in a fresh subprocess (so peak memory is that
simulator's own) and reports the median of ``--repeat`` runs after a warm-up:

* NEURON: ``finitialize`` + ``continuerun(100)``;
* neurax: compile time (``jit(...).lower().compile()``), then run time of the compiled function, in
  float64 and float32;
* Arbor (one thread): ``simulation.run`` only, with ``cv_policy_fixed_per_branch(nseg)``;
* Jaxley (float64): SWC read time (cold, first in the process: it includes Jaxley's own JAX compilations),
  compile time and run time of the jitted ``jx.integrate``.

Arbor and Jaxley run in another interpreter (``--other-python``, default ``../bench-venv/bin/python``), since
they bring their own JAX; they are skipped, with a note, where it or they are missing. Spike counts of the
soma traces (upward crossings of 0 mV) are printed as a check that all four set-ups are comparable.

Ratios are neurax (float64) / other simulator (lower is better for neurax).

    python benchmarks/bench_simulate.py [--sizes 500 1000 2500 5000 10000 20000] [--repeat 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CELL = REPO.parent / "shared" / "morphologies" / "jaxley" / "morph_ca1_n120.swc"
OTHER_PYTHON = REPO.parent / "bench-venv" / "bin" / "python"

# Upward crossings of 0 mV in a voltage trace `v` (numpy): appended to every measurement script.
SPIKES = "def spikes(v): return int(((v[1:] >= 0) & (v[:-1] < 0)).sum())\n"

NEURON = SPIKES + r"""
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
print(json.dumps({"compartments": n, "run": statistics.median(times[1:]), "spikes": spikes(rec.as_numpy()),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

NEURAX = SPIKES + r"""
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
v = compiled(cell, stim).block_until_ready()
times = []
for _ in range(repeat):
    t = time.perf_counter(); compiled(cell, stim).block_until_ready(); times.append(time.perf_counter() - t)
print(json.dumps({"compartments": cell.tree.n_segments, "compile": compile_s, "run": statistics.median(times),
                  "spikes": spikes(jax.device_get(v)[0]),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# Arbor's built-in hh has NEURON's hh parameters, ena 50 / ek -77 mV by default and the same q10 on celsius
# (set to NEURON's 6.3 degC). Differences from NEURON: Arbor's branches run from fork to fork, so soma[0]
# is the proximal 12 um of a branch that goes on into the apical trunk (153 branches against NEURON's 156
# sections), and `cv_policy_fixed_per_branch(nseg)` cuts each branch, not each section, into nseg CVs,
# plus Arbor's own CVs at the forks; the soma clamp and probe sit at the middle of that soma part.
ARBOR = SPIKES + r"""
import json, math, resource, statistics, sys, time
path, nseg, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
import arbor as A
from arbor import units as U
loaded = A.load_swc_neuron(path)
morph = loaded.morphology

def soma_length(branch):
    segs = [s for s in morph.branch_segments(branch) if s.tag == 1]
    return sum(math.dist((s.prox.x, s.prox.y, s.prox.z), (s.dist.x, s.dist.y, s.dist.z)) for s in segs)

# Two branches start at the SWC root inside the soma; NEURON's soma[0] is the longer soma part.
soma0 = max(range(morph.num_branches), key=soma_length)
labels = A.label_dict(loaded.labels)
labels["centre"] = f'(on-components 0.5 (intersect (region "soma") (branch {soma0})))'
decor = (A.decor()
         .set_property(Vm=-65 * U.mV, tempK=279.45 * U.Kelvin, rL=35.4 * U.Ohm * U.cm, cm=0.01 * U.F / U.m2)
         .paint("(all)", A.density("hh"))
         .place('"centre"', A.i_clamp(5 * U.ms, 80 * U.ms, 2 * U.nA)))
cell = A.cable_cell(morph, decor, labels, A.cv_policy_fixed_per_branch(nseg))

class Recipe(A.recipe):
    def num_cells(self): return 1
    def cell_kind(self, gid): return A.cell_kind.cable
    def cell_description(self, gid): return cell
    def probes(self, gid): return [A.cable_probe_membrane_voltage('"centre"', "v")]
    def global_properties(self, kind): return A.neuron_cable_properties()

sim = A.simulation(Recipe(), A.context(threads=1))
handle = sim.sample((0, "v"), A.regular_schedule(0.025 * U.ms))
times = []
for i in range(repeat + 1):
    sim.reset(); t = time.perf_counter(); sim.run(100 * U.ms, 0.025 * U.ms); times.append(time.perf_counter() - t)
    if i == 0:
        n_spikes = spikes(sim.samples(handle)[0][0][:, 1])
print(json.dumps({"compartments": A.cv_data(cell).num_cv, "run": statistics.median(times[1:]), "spikes": n_spikes,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# Jaxley's HH channel has NEURON's hh parameters and no temperature factor, i.e. it is hh at 6.3 degC.
# Its SWC reader gives 155 branches against NEURON's 156 sections, each cut into nseg compartments; soma[0]
# is the longer of the two soma branches. Float64 (jax_enable_x64), like neurax's default.
JAXLEY = SPIKES + r"""
import json, resource, statistics, sys, time, warnings
path, nseg, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
warnings.simplefilter("ignore")
import jax
jax.config.update("jax_enable_x64", True)
import jaxley as jx
from jaxley.channels import HH
t = time.perf_counter(); cell = jx.read_swc(path, ncomp=nseg); read_s = time.perf_counter() - t
t = time.perf_counter(); jx.read_swc(path, ncomp=nseg); read_warm_s = time.perf_counter() - t
cell.insert(HH())
cell.set("axial_resistivity", 35.4); cell.set("capacitance", 1.0); cell.set("v", -65.0)
cell.init_states()
soma = cell.soma
soma0 = max(range(len(soma.nodes.global_branch_index.unique())), key=lambda b: soma.branch(b).nodes.length.sum())
site = soma.branch(soma0).loc(0.5)
site.stimulate(jx.step_current(i_delay=5.0, i_dur=80.0, i_amp=2.0, delta_t=0.025, t_max=100.0))
site.record("v")
fn = jax.jit(lambda params: jx.integrate(cell, params=params, delta_t=0.025, t_max=100.0))
t = time.perf_counter(); compiled = fn.lower([]).compile(); compile_s = time.perf_counter() - t
v = compiled([]).block_until_ready()
times = []
for _ in range(repeat):
    t = time.perf_counter(); compiled([]).block_until_ready(); times.append(time.perf_counter() - t)
print(json.dumps({"compartments": len(cell.nodes), "read": read_s, "read_warm": read_warm_s, "compile": compile_s,
                  "run": statistics.median(times), "spikes": spikes(jax.device_get(v)[0]),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(code: str, *args, python: str = sys.executable) -> dict:
    proc = subprocess.run([python, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=3600)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(lines[-1])


def available(python: str | None, module: str) -> bool:
    """Whether `python` exists and imports `module`; prints a note when not."""
    if python is None or not Path(python).exists():
        print(f"note: no interpreter for {module} ({python or OTHER_PYTHON} missing): skipped")
        return False
    if subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode:
        print(f"note: `import {module}` fails in {python}: skipped")
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2500, 5000, 10000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--other-python", default=str(OTHER_PYTHON) if OTHER_PYTHON.exists() else None,
                        help="interpreter with arbor and jaxley (default: %(default)s)")
    args = parser.parse_args()
    others = {name: (code, available(args.other_python, name)) for name, code in [("arbor", ARBOR), ("jaxley", JAXLEY)]}
    rows = []
    print(f"{'comp':>7} {'NEURON s':>9} {'neurax s':>9} {'ratio':>6} {'compile s':>9} {'f32 s':>7} {'f32 ratio':>9}"
          f" {'NEURON MB':>9} {'neurax MB':>9} | {'Arb CVs':>7} {'Arbor s':>8} {'ratio':>6} | {'Jx comp':>7}"
          f" {'Jx read s':>9} {'Jx compile s':>12} {'Jaxley s':>8} {'ratio':>6} | spikes N/nx/A/J", flush=True)
    for size in args.sizes:
        nseg = max(1, round(size / 156))
        nrn = measure(NEURON, CELL, nseg, args.repeat)
        f64 = measure(NEURAX, CELL, nseg, args.repeat, "float64")
        f32 = measure(NEURAX, CELL, nseg, args.repeat, "float32")
        row = {"compartments": f64["compartments"], "neuron": nrn, "float64": f64, "float32": f32}
        for name, (code, ok) in others.items():
            if ok:
                row[name] = measure(code, CELL, nseg, args.repeat, python=args.other_python)
                row[name]["neurax_ratio"] = f64["run"] / row[name]["run"]
        rows.append(row)
        arb, jxl = row.get("arbor"), row.get("jaxley")
        arb_cols = f"{arb['compartments']:>7} {arb['run']:>8.3f} {arb['neurax_ratio']:>6.2f}" if arb else f"{'-':>23}"
        jxl_cols = (f"{jxl['compartments']:>7} {jxl['read']:>9.2f} {jxl['compile']:>12.2f} {jxl['run']:>8.3f} "
                    f"{jxl['neurax_ratio']:>6.2f}" if jxl else f"{'-':>46}")
        spikes = "/".join(str(row[k]["spikes"]) if k in row else "-" for k in ("neuron", "float64", "arbor", "jaxley"))
        print(f"{f64['compartments']:>7} {nrn['run']:>9.3f} {f64['run']:>9.3f} {f64['run'] / nrn['run']:>6.2f} "
              f"{f64['compile']:>9.2f} {f32['run']:>7.3f} {f32['run'] / nrn['run']:>9.2f} {nrn['rss_mb']:>9.0f} "
              f"{f64['rss_mb']:>9.0f} | {arb_cols} | {jxl_cols} | {spikes}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
