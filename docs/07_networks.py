"""Tutorial 7: networks. A ring of cells passing a spike around.

Part 1 builds a ring of 10 multicompartment cells (hh, a soma and a 200 um dendrite): each cell's somatic
spike reaches the next cell's dendrite through an ExpSyn after a delay that is not a multiple of dt. One NetStim
event starts it. It prints every cell's spike times (NEURON's ``NetCon.record`` times: tests compare the same
kind of ring with NEURON spike for spike) and writes a raster plot.

Gradients reach connection weights (``jax.grad`` of a loss of ``nx.simulate(net.with_weights(w), ...)``), and
``surrogate=`` of ``nx.simulate`` lets them pass through threshold crossings to upstream cells
(``tests/test_network.py``).

Run: python docs/07_networks.py   (about 5 s; writes ring_raster.png)
"""

import time

import numpy as np

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

    plot_raster(spikes, sol.t, sol, "ring_raster.png", title="a ring of 10 cells")
    print("wrote ring_raster.png")
except ImportError:
    print("(no figure: pip install 'neurax[plot]' for matplotlib)")
