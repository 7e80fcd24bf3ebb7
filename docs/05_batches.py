"""Tutorial 5: many simulations at once with jax.vmap (an f-I curve and a conductance sweep).

``nx.simulate`` is one pure function, so ``jax.vmap`` runs it over a batch of stimuli or parameters in one
call. On a CPU, neurax runs the batch in tiles of up to 16 simulations, one tile per core at the same time
(``NEURAX_THREADS=N`` sets how many; 1 runs them one after another). On a GPU the whole batch runs at once.

Run: python docs/05_batches.py   (about 12 s)
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

import neurax as nx

cell = nx.Cell(nx.load("data/swc/c91662.swc"), nx.DLambda(0.1), Ra=100.0).insert(nx.HH())
print(cell)
record = ["soma[0](0.5)"]


def spikes(v):
    """Upward crossings of -20 mV along the last axis (nx.fit.soft_spike_count is the differentiable one)."""
    return jnp.sum((v[..., 1:] >= -20.0) & (v[..., :-1] < -20.0), axis=-1)


# 1. An f-I curve: one simulation per current amplitude, as one batched call.
def soma_for_amp(amp):
    return nx.simulate(cell, [nx.IClamp("soma[0](0.5)", 10.0, 100.0, amp)], record, tstop=120.0).v[0]


def best_time(fn, repeat=3):
    """The shortest of ``repeat`` timings of ``fn()`` (s): single timings on a shared machine are noisy."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


amps = jnp.linspace(0.0, 3.0, 16)  # nA
f_i = jax.jit(jax.vmap(soma_for_amp))
traces = f_i(amps).block_until_ready()  # (16, samples); the first call compiles
batched_s = best_time(lambda: f_i(amps).block_until_ready())
counts = np.asarray(spikes(traces))
for amp, count in zip(np.asarray(amps), counts, strict=True):
    print(f"f-I: {amp:4.2f} nA -> {count:2d} spikes in 100 ms")

# The same simulations one after another, for comparison (one compiled simulation, 16 calls).
one = jax.jit(soma_for_amp)
singles = [one(a).block_until_ready() for a in amps]
single_s = best_time(lambda: [one(a).block_until_ready() for a in amps], repeat=2)
print(f"batch of 16: {batched_s:.2f} s; one by one: {single_s:.2f} s ({single_s / batched_s:.1f}x faster in a batch)")
print("largest difference, batched against one by one:",
      float(np.abs(np.asarray(traces) - np.stack([np.asarray(s) for s in singles])).max()), "mV")


# 2. A sweep over two conductances: vmap over a flat list of (gnabar, gkbar) pairs.
def soma_for(gna, gk):
    swept = cell.set("hh.gnabar", gna).set("hh.gkbar", gk)
    return nx.simulate(swept, [nx.IClamp("soma[0](0.5)", 10.0, 100.0, 1.5)], record, tstop=120.0).v[0]


gna, gk = (x.ravel() for x in jnp.meshgrid(jnp.array([0.08, 0.12, 0.16, 0.2]), jnp.array([0.024, 0.036, 0.048])))
grid = np.asarray(spikes(jax.jit(jax.vmap(soma_for))(gna, gk))).reshape(3, 4)
print("spikes at 1.5 nA; rows gkbar 0.024, 0.036, 0.048 S/cm2; columns gnabar 0.08 .. 0.2 S/cm2:")
for row in grid:
    print("  sweep:", " ".join(f"{c:3d}" for c in row))
