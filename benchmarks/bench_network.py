"""Networks: neurax against NEURON on the same network of hh cells joined by NetCons onto ExpSyns.

The network (:func:`make_spec`): ``--cells`` copies of a reconstruction (default the Allen Pvalb interneuron
``data/swc/Pvalb_469628681_m.swc``, Ra 100, cm 1, nseg by d_lambda 0.05 at 100 Hz: 42 sections, 200
compartments), hh on every section (NEURON's defaults, rate tables, 6.3 degC), and

* ``--synapses`` connections between random pairs of distinct cells, each a NetCon from the presynaptic
  ``soma[0](0.5)`` (threshold -10 mV) onto a new ``ExpSyn`` (tau 2 ms, e 0 mV) at the centre of a random
  dendritic segment of the postsynaptic cell, delay uniform in 1..5 ms (no multiple of dt), weight uniform in
  0.5..1.5 times ``--weight`` (uS; the weight is scaled by 10,000 / synapses, so every size sees the same
  total input);
* drive: one NetStim per cell (start uniform in 0..interval ms, ``--stim-interval`` ms, no noise) onto an
  ``ExpSyn`` at the cell's ``soma[0](0.5)``, weight ``--stim-weight`` uS, delay 1 ms;
* a spike detector at every ``soma[0](0.5)`` (threshold -10 mV); ``cell[0].soma[0](0.5)`` is recorded.

Both simulators get the same description (a JSON file written once: nseg per section by neurax's ``DLambda``,
the connection arrays, the targets as section and x) and run the fixed step, dt 0.025 ms, v_init -65 mV. Each
measurement runs in a fresh subprocess, so its peak RSS (``ru_maxrss``) is that simulator's own; run times are
medians of ``--repeat`` runs in that process:

* NEURON 9: Import3d reads the SWC once and instantiates it into one Python object per cell (sections
  ``cell[i].soma[0]`` ...), then nseg, hh, the ExpSyns, NetCons, NetStims and ``NetCon.record`` detectors;
  ``finitialize(-65)`` + ``continuerun(tstop)`` with ``steps_per_ms`` 40. Build time: from reading the SWC to
  the last NetCon.
* neurax: build time (``nx.Cell`` + ``nx.Network`` + ``watch`` + ``connect`` + ``stimulate``), compile time
  (``jax.jit(...).lower(net).compile()``), run time of the compiled simulation (float64).

Reported:

1. The target case (100 cells, 10,000 synapses, 1 s): build, compile and run times, run-time ratio
   neurax / NEURON, peak RSS, total spikes and mean rate, and the spike-time agreement (per cell, the spikes
   are matched in order: max |dt| over matched spikes, the count mismatch, the first time the two differ) and
   max |dV| of the recorded soma.
2. Scaling of neurax with the number of synapses on the same cells (``--scaling``, simulated
   ``--scaling-tstop`` ms, one run each): build, compile and run time, peak RSS, and the size of the event ring
   buffer (the sources' spike history: depth x sources float64; depth = the longest delay in steps + 1).
3. Building ``--build-cells`` cells connected by ``nx.random_connections(n, p=--build-p)`` (about 100,000
   connections for 1,000 cells at p 0.1): ``Network`` construction, ``random_connections``, ``connect`` with
   one target, and ``connect`` with a random dendritic target per connection; a connect slower than 0.5 s is
   profiled (cProfile, the top functions by own time).

    python benchmarks/bench_network.py [--quick] [--repeat 2] [--json FILE]
    python benchmarks/bench_network.py --cells 100 --synapses 10000 --tstop 1000 --scaling 0 1000 10000 100000

``--quick``: 1,000 synapses and 100 ms for part 1, scaling 0 / 1,000 / 10,000 synapses over 20 ms, part 3 on
100 cells (under two minutes). NEURON (``pip install -e .[neuron]``) is needed for part 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_simulate import measure  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MORPHOLOGY = REPO / "data" / "swc" / "Pvalb_469628681_m.swc"
DT = 0.025
THRESHOLD = -10.0
DENDRITE_TYPES = (3, 4)  # SWC types of basal and apical dendrites

NEURON = r"""
import json, resource, statistics, sys, time
spec, repeat = json.load(open(sys.argv[1])), int(sys.argv[2])
from neuron import h
h.load_file("stdrun.hoc"); h.load_file("import3d.hoc")
start = time.perf_counter()
reader = h.Import3d_SWC_read(); reader.quiet = 1; reader.input(spec["morphology"])
gui = h.Import3d_GUI(reader, False)

class Cell:
    def __init__(self, i):
        self.i = i
        gui.instantiate(self)
        self.secs = {sec.name().split(".", 1)[1]: sec for sec in self.all}
    def __str__(self):
        return f"cell[{self.i}]"

cells = [Cell(i) for i in range(spec["cells"])]
rule_mismatch = 0
for cell in cells:
    if set(cell.secs) != set(spec["nseg"]):
        raise SystemExit(f"NEURON's sections differ from neurax's: {sorted(set(cell.secs) ^ set(spec['nseg']))[:5]}")
    for name, sec in cell.secs.items():
        sec.Ra = spec["Ra"]; sec.cm = 1.0
        rule = int((sec.L / (spec["d_lambda"] * h.lambda_f(100, sec=sec)) + 0.9) / 2) * 2 + 1
        rule_mismatch += rule != spec["nseg"][name]
        sec.nseg = spec["nseg"][name]
        sec.insert("hh")
somas = [cell.secs["soma[0]"] for cell in cells]
keep = []
for pre, post, name, x, w, d in zip(spec["pre"], spec["post"], spec["target_sec"], spec["target_x"], spec["weight"],
                                   spec["delay"]):
    syn = h.ExpSyn(cells[post].secs[name](x)); syn.tau = spec["tau"]
    src = somas[pre]
    nc = h.NetCon(src(0.5)._ref_v, syn, sec=src); nc.threshold = spec["threshold"]; nc.delay = d; nc.weight[0] = w
    keep.append((syn, nc))
for soma, t0 in zip(somas, spec["stim_start"]):
    ns = h.NetStim(); ns.start = t0; ns.interval = spec["stim_interval"]; ns.number = spec["stim_number"]; ns.noise = 0
    syn = h.ExpSyn(soma(0.5)); syn.tau = spec["tau"]
    nc = h.NetCon(ns, syn); nc.delay = spec["stim_delay"]; nc.weight[0] = spec["stim_weight"]
    keep.append((ns, syn, nc))
detectors = []
for soma in somas:
    nc = h.NetCon(soma(0.5)._ref_v, None, sec=soma); nc.threshold = spec["threshold"]
    vec = h.Vector(); nc.record(vec); detectors.append((nc, vec))
build = time.perf_counter() - start
v = h.Vector().record(somas[0](0.5)._ref_v)
h.dt = spec["dt"]; h.steps_per_ms = 1.0 / spec["dt"]
times = []
for _ in range(repeat):
    h.finitialize(-65.0); t = time.perf_counter(); h.continuerun(spec["tstop"]); times.append(time.perf_counter() - t)
if abs(h.dt - spec["dt"]) > 0 or abs(h.t - spec["tstop"]) > spec["dt"] / 2:
    raise SystemExit(f"NEURON ran to t = {h.t} with dt = {h.dt}")
print(json.dumps({"compartments": sum(sec.nseg for cell in cells for sec in cell.secs.values()),
                  "nseg_rule_mismatch": int(rule_mismatch), "build": build, "runs": times,
                  "run": statistics.median(times), "spikes": [list(vec) for _, vec in detectors], "v": list(v),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

NEURAX = r"""
import json, resource, statistics, sys, time, warnings
spec, repeat = json.load(open(sys.argv[1])), int(sys.argv[2])
warnings.simplefilter("ignore")
import jax
import numpy as np
import neurax as nx
start = time.perf_counter()
cell = nx.Cell(nx.load(spec["morphology"]), nx.DLambda(spec["d_lambda"]), Ra=spec["Ra"]).insert(nx.HH())
n = spec["cells"]
net = nx.Network([cell] * n)
network = time.perf_counter() - start
net = net.watch(np.arange(n), "soma[0](0.5)", spec["threshold"])
t = time.perf_counter()
if spec["pre"]:
    targets = [f"{name}({x!r})" for name, x in zip(spec["target_sec"], spec["target_x"])]
    net = net.connect(np.asarray(spec["pre"]), np.asarray(spec["post"]), nx.ExpSyn(tau=spec["tau"]),
                      source="soma[0](0.5)", target=targets, weight=np.asarray(spec["weight"]),
                      delay=np.asarray(spec["delay"]), threshold=spec["threshold"])
connect = time.perf_counter() - t
stims = [nx.NetStim(start=t0, interval=spec["stim_interval"], number=spec["stim_number"]) for t0 in spec["stim_start"]]
net = net.stimulate(stims, np.arange(n), nx.ExpSyn(tau=spec["tau"]), target="soma[0](0.5)",
                    weight=spec["stim_weight"], delay=spec["stim_delay"])
build = time.perf_counter() - start
fn = jax.jit(lambda net: nx.simulate(net, record=["cell[0].soma[0](0.5)"], tstop=spec["tstop"], dt=spec["dt"]))
t = time.perf_counter(); compiled = fn.lower(net).compile(); compile_s = time.perf_counter() - t
times = []
for _ in range(repeat):
    t = time.perf_counter(); sol = jax.block_until_ready(compiled(net)); times.append(time.perf_counter() - t)
spikes = sol.spike_times()
print(json.dumps({"compartments": int(net.cell.tree.n_segments), "connections": net.n_connections,
                  "network": network, "connect": connect, "build": build, "compile": compile_s, "runs": times,
                  "run": statistics.median(times), "ok": bool(sol.ok),
                  "spikes": [spikes[f"cell[{i}].soma[0](0.5)"].tolist() for i in range(n)],
                  "v": jax.device_get(sol.v)[0].tolist(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BUILD = r"""
import cProfile, json, pstats, sys, time, warnings
spec = json.load(open(sys.argv[1]))
warnings.simplefilter("ignore")
import numpy as np
import neurax as nx
cell = nx.Cell(nx.load(spec["morphology"]), nx.DLambda(spec["d_lambda"]), Ra=spec["Ra"]).insert(nx.HH())
n = spec["cells"]
t = time.perf_counter(); net = nx.Network([cell] * n); network = time.perf_counter() - t
t = time.perf_counter(); pre, post = nx.random_connections(n, p=spec["p"], seed=1); random_s = time.perf_counter() - t
rng = np.random.default_rng(2)
delay = rng.uniform(1.0, 5.0, pre.size)
segments = spec["segments"]
pick = rng.integers(0, len(segments), pre.size)
targets = [f"{segments[k][0]}({segments[k][1]!r})" for k in pick]
def connect(target, k=None):
    cut = slice(None) if k is None else slice(k)
    target = target if isinstance(target, str) else target[cut]
    return net.connect(pre[cut], post[cut], nx.ExpSyn(tau=2.0), source="soma[0](0.5)", target=target, weight=0.001,
                       delay=delay[cut], threshold=-10.0)
connect("dend[0](0.5)", 10)  # warm-up: first calls of the code paths
calls = {"one target": lambda: connect("dend[0](0.5)"), "per-connection targets": lambda: connect(targets)}
out = {"cells": n, "compartments": int(net.cell.tree.n_segments), "connections": int(pre.size), "network": network,
       "random_connections": random_s, "connect": {}, "connect_runs": {}, "profile": {}}
for name, call in calls.items():
    runs = []
    for _ in range(3):
        t = time.perf_counter(); call(); runs.append(time.perf_counter() - t)
    out["connect"][name], out["connect_runs"][name] = sorted(runs)[1], runs
    if out["connect"][name] > 0.5:
        prof = cProfile.Profile(); prof.runcall(call)
        rows = sorted(pstats.Stats(prof).stats.items(), key=lambda kv: -kv[1][2])[:8]
        short = lambda f: f[f.rfind("neurax/"):] if "neurax/" in f else f
        out["profile"][name] = [{"where": f"{short(f)}:{line}({fn})", "calls": nc, "own_s": tt, "cum_s": ct}
                                for (f, line, fn), (cc, nc, tt, ct, _) in rows]
print(json.dumps(out))
"""


def dendritic_segments(cell) -> list[tuple[str, float]]:
    """``(section, x)`` of the centre of every segment of the cell's dendritic sections."""
    out = []
    for sec in cell.morphology:
        if sec.type in DENDRITE_TYPES:
            nseg = int(cell.tree.nseg[sec.index])
            out.extend((sec.name, float((2 * i + 1) / (2 * nseg))) for i in range(nseg))
    return out


def make_spec(args, synapses: int, tstop: float, cells: int | None = None) -> dict:
    """The network's complete description (see the module docstring), the same for both simulators."""
    import neurax as nx

    cells = args.cells if cells is None else cells
    cell = nx.Cell(nx.load(args.morphology), nx.DLambda(args.d_lambda), Ra=args.Ra)
    segments = dendritic_segments(cell)
    rng = np.random.default_rng(args.seed)
    pre = rng.integers(0, cells, synapses)
    post = (pre + rng.integers(1, cells, synapses)) % cells  # never pre itself
    pick = rng.integers(0, len(segments), synapses)
    scale = 10_000 / max(synapses, 1)
    return {"morphology": str(args.morphology), "d_lambda": args.d_lambda, "Ra": args.Ra, "cells": cells,
            "nseg": {sec.name: int(cell.tree.nseg[sec.index]) for sec in cell.morphology},
            "compartments_per_cell": int(cell.tree.n_segments), "segments": segments,
            "pre": pre.tolist(), "post": post.tolist(), "target_sec": [segments[k][0] for k in pick],
            "target_x": [segments[k][1] for k in pick],
            "weight": (args.weight * scale * rng.uniform(0.5, 1.5, synapses)).tolist(),
            "delay": rng.uniform(1.0, 5.0, synapses).tolist(), "threshold": THRESHOLD, "tau": 2.0,
            "stim_start": rng.uniform(0.0, args.stim_interval, cells).tolist(), "stim_interval": args.stim_interval,
            "stim_number": 1e9, "stim_weight": args.stim_weight, "stim_delay": 1.0, "tstop": tstop, "dt": DT}


def ring_mb(spec: dict) -> float:
    """The event ring buffer's size (MB) as neurax.events lays it out: depth x spike sources (float64)."""
    if not spec["delay"]:
        return 0.0
    steps = np.ceil((np.asarray(spec["delay"]) + 1e-10 - 0.5 * DT) / DT - 1e-9)
    depth = int(np.maximum(steps, 1).max()) + 1
    return depth * spec["cells"] * 8 / 1e6  # every cell's soma is a spike source (watched)


def run_spec(code: str, spec: dict, *args) -> dict:
    """``measure(code, SPEC.json, *args)`` with the spec written to a temporary file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.json"
        path.write_text(json.dumps(spec))
        return measure(code, path, *args)


def compare_spikes(a: list[list[float]], b: list[list[float]], tstop: float) -> dict:
    """Per cell, match the spikes in order: max |difference| over matched spikes, count mismatch, first divergence."""
    worst, mismatch, cells_differing, first = 0.0, 0, 0, tstop
    for x, y in zip(a, b, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        m = min(x.size, y.size)
        diff = np.abs(x[:m] - y[:m])
        worst = max(worst, float(diff.max(initial=0.0)))
        mismatch += abs(x.size - y.size)
        bad = np.flatnonzero(diff > 1e-6)
        if bad.size or x.size != y.size:
            cells_differing += 1
            first = min(first, float(x[bad[0]] if bad.size else np.concatenate([x[m:], y[m:]]).min()))
    return {"max_dt_ms": worst, "count_mismatch": mismatch, "cells_differing": cells_differing,
            "first_divergence_ms": first if cells_differing else None}


def part1(args) -> dict:
    spec = make_spec(args, args.synapses, args.tstop)
    print(f"1. {args.cells} cells x {spec['compartments_per_cell']} compartments ({Path(args.morphology).name}, "
          f"d_lambda {args.d_lambda}), {args.synapses} synapses, {args.tstop:g} ms, dt {DT}; runs: median of "
          f"{args.repeat}", flush=True)
    nrn = run_spec(NEURON, spec, args.repeat)
    nx_ = run_spec(NEURAX, spec, args.repeat)
    agree = compare_spikes(nx_["spikes"], nrn["spikes"], args.tstop)
    n_nrn, n_nx = sum(map(len, nrn["spikes"])), sum(map(len, nx_["spikes"]))
    dv = float(np.max(np.abs(np.asarray(nx_["v"]) - np.asarray(nrn["v"])))) if len(nx_["v"]) == len(nrn["v"]) \
        else float("nan")
    rate = n_nrn / args.cells / (args.tstop / 1000)
    print(f"{'':22} {'build s':>8} {'compile s':>9} {'run s':>8} {'runs s':>16} {'peak MB':>8} {'spikes':>7} "
          f"{'rate Hz':>7} {'comp':>6}")
    for name, r, n in (("NEURON", nrn, n_nrn), ("neurax", nx_, n_nx)):
        runs = " ".join(f"{x:.2f}" for x in r["runs"])
        compile_s = f"{r['compile']:.2f}" if "compile" in r else "-"
        print(f"{name:22} {r['build']:>8.2f} {compile_s:>9} {r['run']:>8.2f} {runs:>16} "
              f"{r['rss_mb']:>8.0f} {n:>7} {n / args.cells / (args.tstop / 1000):>7.1f} {r['compartments']:>6}")
    print(f"run time neurax / NEURON = {nx_['run'] / nrn['run']:.2f} (target <= 0.5); neurax network construction "
          f"{nx_['network']:.2f} s, connect {nx_['connect']:.2f} s; NEURON's d_lambda rule differs from neurax's "
          f"nseg in {nrn['nseg_rule_mismatch']} sections")
    print(f"spikes: {n_nx} neurax, {n_nrn} NEURON; count mismatch {agree['count_mismatch']} in "
          f"{agree['cells_differing']} cells (first divergence at {agree['first_divergence_ms']} ms); max |dt| over "
          f"matched spikes {agree['max_dt_ms']:.3g} ms; max |dV| cell[0] soma {dv:.3g} mV; mean rate {rate:.1f} Hz",
          flush=True)
    strip = lambda r: {k: v for k, v in r.items() if k not in ("spikes", "v")}  # noqa: E731
    return {"neuron": strip(nrn), "neurax": strip(nx_), "agreement": agree, "max_dv_mv": dv, "rate_hz": rate,
            "ratio": nx_["run"] / nrn["run"], "spikes": {"neuron": n_nrn, "neurax": n_nx}}


def part2(args) -> list[dict]:
    print(f"\n2. neurax scaling with synapses on the same {args.cells} cells, {args.scaling_tstop:g} ms "
          f"({round(args.scaling_tstop / DT)} steps), one run each; 0 = drive only, no connections")
    print(f"{'synapses':>9} {'build s':>8} {'connect s':>9} {'compile s':>9} {'run s':>8} {'peak MB':>8} "
          f"{'ring MB':>8} {'spikes':>7}", flush=True)
    rows = []
    for n in args.scaling:
        spec = make_spec(args, n, args.scaling_tstop)
        r = run_spec(NEURAX, spec, 1)
        row = {"synapses": n, "ring_mb": ring_mb(spec), "spikes": sum(map(len, r["spikes"])),
               **{k: r[k] for k in ("build", "connect", "compile", "run", "rss_mb")}}
        rows.append(row)
        print(f"{n:>9} {row['build']:>8.2f} {row['connect']:>9.2f} {row['compile']:>9.2f} {row['run']:>8.2f} "
              f"{row['rss_mb']:>8.0f} {row['ring_mb']:>8.2f} {row['spikes']:>7}", flush=True)
    return rows


def part3(args) -> dict:
    spec = make_spec(args, 0, 0.0, cells=args.build_cells)
    spec["p"] = args.build_p
    r = run_spec(BUILD, spec)
    print(f"\n3. build: {r['cells']} cells ({r['compartments']} compartments), nx.random_connections({r['cells']}, "
          f"p={args.build_p}) -> {r['connections']} connections")
    print(f"   Network([cell] * {r['cells']}) {r['network']:.2f} s; random_connections {r['random_connections']:.3f} s")
    for name, s in r["connect"].items():
        runs = " ".join(f"{x:.2f}" for x in r["connect_runs"][name])
        print(f"   connect, {name}: {s:.2f} s (median of {runs}); random_connections + connect "
              f"{r['random_connections'] + s:.2f} s")
        for p in r["profile"].get(name, []):
            print(f"      {p['own_s']:7.3f} s own {p['cum_s']:7.3f} s cum {p['calls']:>9} calls  {p['where']}")
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--morphology", default=str(MORPHOLOGY))
    parser.add_argument("--d-lambda", type=float, default=0.05)
    parser.add_argument("--Ra", type=float, default=100.0)
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--synapses", type=int, default=10_000)
    parser.add_argument("--tstop", type=float, default=1000.0, help="part 1's simulated time, ms")
    parser.add_argument("--weight", type=float, default=0.00013, help="mean weight at 10,000 synapses, uS")
    parser.add_argument("--stim-weight", type=float, default=0.02, help="NetStim -> soma ExpSyn weight, uS")
    parser.add_argument("--stim-interval", type=float, default=50.0, help="NetStim interval, ms")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of part 1 per simulator")
    parser.add_argument("--scaling", type=int, nargs="*", default=[0, 1_000, 10_000, 100_000])
    parser.add_argument("--scaling-tstop", type=float, default=100.0)
    parser.add_argument("--build-cells", type=int, default=1000)
    parser.add_argument("--build-p", type=float, default=0.1)
    parser.add_argument("--parts", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--quick", action="store_true", help="1,000 synapses, 100 ms; small scaling and build")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.synapses, args.tstop = 1_000, 100.0
        args.scaling, args.scaling_tstop = [0, 1_000, 10_000], 20.0
        args.build_cells = 100
    report = {"args": vars(args)}
    if 1 in args.parts:
        report["target"] = part1(args)
    if 2 in args.parts:
        report["scaling"] = part2(args)
    if 3 in args.parts:
        report["build"] = part3(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
