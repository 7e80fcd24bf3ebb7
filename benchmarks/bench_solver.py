"""Speed of the Hines solve (neurax.solver): ns per node per solve, and batched throughput.

Each figure times one jitted ``lax.scan`` of ``--solves`` solves (400 by default) on the compartment tree of
``jaxley/morph_ca1_n120.swc`` at nseg 16 (2653 nodes); each step changes the diagonal and right-hand side
(as a simulation step does), which costs the "no solve" row. Reported: the best of ``--repeat`` runs,
in rounds that interleave all variants so that load from other processes hits all alike.

* sequential: one node per iteration (NEURON's order);
* lanes K: the lane solve with K lanes (root region chosen by the cost model), and the plan the cost
  model picks (``TreeStructure.from_parents(parent, lanes="auto")``);
* batch B: ``jax.vmap`` of the whole scan over B systems (the batched solve), solves per second relative
  to the first batch size.

    python benchmarks/bench_solver.py [--solves 400] [--repeat 10] [--batches 1 8 32 128]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import neurax as nx
from neurax._jax import jax, jnp, lax
from neurax.solver.hines import TreeStructure, tree_solve

REPO = Path(__file__).resolve().parents[1]
CELL = REPO.parent / "shared" / "morphologies" / "jaxley" / "morph_ca1_n120.swc"


def system(parent: np.ndarray, rng: np.random.Generator):
    """A diagonally dominant tree system like a simulation step's (values in mS/cm^2 and mA/cm^2)."""
    n = parent.size
    child = np.flatnonzero(parent >= 0)
    a = np.zeros(n)
    b = np.zeros(n)
    a[child] = -rng.uniform(5.0, 50.0, child.size)
    b[child] = -rng.uniform(5.0, 50.0, child.size)
    d = np.full(n, 40.0)
    d[child] -= b[child]
    np.add.at(d, parent[child], -a[child])
    return d, a, b, rng.normal(size=n)


def best_times(calls: dict, repeat: int) -> dict:
    """Best wall time (s) of each compiled call; rounds interleave the calls so load spikes hit all alike."""
    compiled = {}
    for key, (fn, args) in calls.items():
        compiled[key] = (jax.jit(fn).lower(*args).compile(), args)
        jax.block_until_ready(compiled[key][0](*args))
    best = dict.fromkeys(calls, np.inf)
    for _ in range(repeat):
        for key, (fn, args) in compiled.items():
            t = time.perf_counter()
            jax.block_until_ready(fn(*args))
            best[key] = min(best[key], time.perf_counter() - t)
    return best


def scan_of_solves(structure, d0, a, b, r0, solves: int, method: str | None):
    """v -> v after ``solves`` steps of ``v = solve(d0 + 1e-3 v^2, a, b, r0 - 1e-3 v)``."""

    def step(v, _):
        d = d0 + 1e-3 * v * v
        rhs = r0 - 1e-3 * v
        x = rhs / d if method is None else tree_solve(structure, d, a, b, rhs, method)
        return x, None

    return lambda v: lax.scan(step, v, None, length=solves)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solves", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 8, 32, 128])
    args = parser.parse_args()

    parent = np.asarray(nx.discretize(nx.load(CELL), 16).parent)
    n = parent.size
    d0, a, b, r0 = map(jnp.asarray, system(parent, np.random.default_rng(0)))
    v0 = jnp.zeros(n)
    print(f"tree: {CELL.name} nseg 16, {n} nodes; {args.solves} solves per scan; {jax.devices()[0].device_kind}")

    default = TreeStructure.from_parents(parent)  # what simulate uses: the sequential loop for one system
    rows = [("no solve (step overhead)", None, default), ("sequential", "sequential", default)]
    for k in (2, 3, 4):
        rows.append((f"lanes K={k}", "lanes", TreeStructure.from_parents(parent, lanes=k)))
    rows.append(("lanes, cost model's plan", "lanes", TreeStructure.from_parents(parent, lanes="auto")))
    calls = {label: (scan_of_solves(structure, d0, a, b, r0, args.solves, method), (v0,))
             for label, method, structure in rows}
    scan = scan_of_solves(default, d0, a, b, r0, args.solves, "auto")
    for batch in args.batches:
        scale = jnp.asarray(np.random.default_rng(batch).uniform(0.5, 1.5, batch))
        calls[batch] = (jax.vmap(lambda s, v: scan(v * s)), (scale, jnp.ones((batch, n))))
    best = best_times(calls, args.repeat)

    base = best["sequential"] / args.solves / n * 1e9
    print(f"\n{'solve':28s} {'ns/node':>8s} {'us/solve':>9s} {'speed-up':>9s}  plan")
    for label, method, structure in rows:
        ns = best[label] / args.solves / n * 1e9
        plan = structure.lanes if method == "lanes" else None
        desc = f"K={plan.n_lanes}, root region {plan.region.size}, lane length {plan.length}" if plan else ""
        speed = f"{base / ns:8.2f}x" if method else ""
        print(f"{label:28s} {ns:8.2f} {ns * n / 1e3:9.2f} {speed:>9s}  {desc}")

    print(f"\n{'vmap of the scan':28s} {'ns/node':>8s} {'us/solve':>9s} {'solves/s':>10s} {'vs batch 1':>10s}")
    for batch in args.batches:
        t = best[batch] / args.solves / batch
        print(f"{'batch ' + str(batch):28s} {t / n * 1e9:8.2f} {t * 1e6:9.2f} {1 / t:10.0f} "
              f"{best[args.batches[0]] / args.solves / args.batches[0] / t:9.2f}x")


if __name__ == "__main__":
    main()
