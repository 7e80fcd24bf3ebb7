"""Tutorial 7: networks. A ring of cells passing a spike around, then a small network that learns a task.

Part 1 builds a ring of 10 multicompartment cells (hh, a soma and a 200 um dendrite): each cell's somatic
spike reaches the next cell's dendrite through an ExpSyn after a delay that is not a multiple of dt. One NetStim
event starts it. It prints every cell's spike times (NEURON's ``NetCon.record`` times: tests compare the same
kind of ring with NEURON spike for spike) and writes a raster plot.

Part 2 trains a network by gradient descent. Two input spike trains drive two hidden cells (input 0 -> hidden0,
input 1 -> hidden1), which both drive an output cell. Pattern A plays a burst on input 0, pattern B on input 1.
The task: the output fires 3 spikes for A and none for B. The spike counts are exact in the forward run (the
network's spike record ``sol.spikes``); ``surrogate=`` gives each threshold crossing a sigmoid derivative, so
``jax.grad`` of the counts reaches every weight, through the hidden cells' spikes too.

Run: python docs/07_networks.py   (about 40 s; writes tutorial-07-ring.png)
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import neurax as nx

cell = nx.Cell(nx.load("data/swc/ball_and_stick.swc"), nx.DLambda(0.1), Ra=100.0).insert(nx.HH())

n = 10
pre = np.arange(n)
ring = nx.Network([cell] * n)  # cells named cell[0] ... cell[9]
ring = ring.connect(pre, (pre + 1) % n, nx.ExpSyn(tau=2.0), source="soma[0](0.5)", target="dend[0](0.5)",
                    weight=0.03, delay=1.0 + 0.3717 * pre, threshold=-10.0)
ring = ring.stimulate(nx.NetStim(start=1.0, number=1), 0, nx.ExpSyn(tau=2.0), target="dend[0](0.5)",
                      weight=0.03, delay=0.5)
print(ring)
start = time.perf_counter()
sol = nx.simulate(ring, record=[f"cell[{k}].soma[0](0.5)" for k in range(n)], tstop=200.0)
print(f"simulated 200 ms in {time.perf_counter() - start:.2f} s (compilation included)")
spikes = sol.spike_times()
for name, times in spikes.items():
    print(f"  {name}: {', '.join(f'{x:.3f}' for x in times)}")
try:
    from neurax.plot import plot_raster

    plot_raster(spikes, sol.t, sol, "tutorial-07-ring.png", title="a ring of 10 cells")
    print("wrote tutorial-07-ring.png")
except ImportError:
    print("(no figure: pip install 'neurax[plot]' for matplotlib)")

# -- Part 2: a network learns a task ------------------------------------------------------------------------------
burst = nx.SpikeTrain([10.0, 14.0, 18.0, 22.0, 26.0])
quiet = nx.SpikeTrain([])


def network(pattern: str) -> nx.Network:
    """Connections, in order: input 0 -> hidden0, input 1 -> hidden1, hidden0 -> output, hidden1 -> output."""
    net = nx.Network([cell] * 3, names=["hidden0", "hidden1", "output"])
    net = net.stimulate([burst if pattern == "A" else quiet, burst if pattern == "B" else quiet], [0, 1],
                        nx.ExpSyn(tau=2.0), target="dend[0](0.5)", weight=0.03, delay=1.0)
    net = net.connect([0, 1], 2, nx.ExpSyn(tau=3.0), target="dend[0](0.9)", weight=0.004, delay=1.5,
                      threshold=-10.0)
    return net.watch(2, threshold=-10.0)  # the output's spikes are recorded too


nets = {"A": network("A"), "B": network("B")}
wanted = {"A": 3.0, "B": 0.0}
output = nets["A"].wiring.source_names.index("output.soma[0](0.5)")


def spike_count(log_w, pattern):
    net = nets[pattern].with_weights(jnp.exp(log_w))  # log-weights: every weight stays positive
    sol = nx.simulate(net, record=["output.soma[0](0.5)"], tstop=50.0, surrogate=0.3)
    return sol.spikes[output].sum()


def loss(log_w):
    return sum((spike_count(log_w, p) - wanted[p]) ** 2 for p in nets)


value_and_grad = jax.jit(jax.value_and_grad(loss))
log_w = jnp.log(jnp.asarray(nets["A"].weight))
optimiser = optax.adam(0.2)
state = optimiser.init(log_w)
history = []
start = time.perf_counter()
for _ in range(40):
    value, grad = value_and_grad(log_w)
    history.append(float(value))
    if value == 0.0:
        break
    updates, state = optimiser.update(grad, state)
    log_w = optax.apply_updates(log_w, updates)
print(f"loss {' '.join(f'{x:g}' for x in history)}")
print(f"learned in {len(history) - 1} steps ({time.perf_counter() - start:.1f} s): loss {history[0]:g} -> "
      f"{history[-1]:g}")
for p in nets:
    print(f"pattern {p}: output spikes {int(spike_count(log_w, p))} (wanted {int(wanted[p])})")
print("weights (uS): input->hidden", np.round(np.exp(np.asarray(log_w))[:2, 0], 4), " hidden->output",
      np.round(np.exp(np.asarray(log_w))[2:, 0], 5))
