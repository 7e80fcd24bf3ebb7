"""Tutorial 1: load a reconstruction and simulate it exactly as NEURON would.

Run: python docs/01_simulate.py   (about 10 s; writes tutorial-01.png if matplotlib is installed)
"""

import numpy as np

import neurax as nx

# A NeuroMorpho.Org CA1 pyramidal cell, imported with NEURON's Import3d rules: same sections, same names.
morph = nx.load("data/swc/c91662.swc")
print(morph)                                   # <Morphology ...: 194 sections (soma[0..0], axon[0..0], ...)>
print(morph["apic[10]"], "L =", round(morph["apic[10]"].L, 2), "um")
print("section lists:", {name: len(secs) for name, secs in morph.sectionlists.items()})

# A cell: the d_lambda rule (Ra first, as in NEURON), hh everywhere, a passive leak on the apical tree.
cell = (nx.Cell(morph, nx.DLambda(0.1), Ra=100.0, cm=1.0)
        .insert(nx.HH())
        .insert(nx.Pas(g=5e-5, e=-65.0), on="apical"))
print(cell)

# NEURON's fixed-step backward Euler: IClamp at the soma, voltages at three places, 50 ms at dt 0.025.
stim = nx.IClamp("soma[0](0.5)", delay=5.0, dur=40.0, amp=2.0)
record = ["soma[0](0.5)", "apic[10](1)", "axon[0](1)"]
sol = nx.simulate(cell, [stim], record, tstop=50.0, dt=0.025)
for name in record:
    trace = np.asarray(sol[name])
    spikes = int(np.count_nonzero((trace[1:] >= -20) & (trace[:-1] < -20)))
    print(f"{name:>14}: {spikes} spikes, peak {trace.max():.1f} mV")

try:
    from neurax.plot import plot_simulation

    plot_simulation(sol, cell, "tutorial-01.png", title="c91662: hh + apical pas")
    print("wrote tutorial-01.png")
except ImportError:
    print("install matplotlib (pip install 'neurax[plot]') for the figure")
