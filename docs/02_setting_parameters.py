"""Tutorial 2: setting parameters on section lists, sections, and as functions of distance.

Every setting returns a new cell (cells are immutable) and applies in order: a later setting overrides an
earlier one where the regions overlap, exactly like assigning range variables in NEURON.

Run: python docs/02_setting_parameters.py   (a few seconds)
"""

import numpy as np

import neurax as nx

cell = nx.Cell(nx.load("data/swc/c91662.swc"), nx.DLambda(0.1), Ra=100.0).insert(nx.HH())

# One value on a section list, then a different one on a single section.
cell = cell.set("hh.gnabar", 0.08, on="apical").set("hh.gnabar", 0.2, on="apic[0]")
# Capacitance, axial resistivity and a radius scaling factor, per region.
cell = cell.set("cm", 2.0, on=["basal", "apical"]).set("Ra", 150.0, on="axonal").set("radius_scale", 1.2, on="basal")
# A value that grows with path distance from the soma (NEURON users write this with distance()).
cell = cell.set("hh.gkbar", lambda d: 0.036 * (1.0 + d / 200.0), on="apical")

d = cell.distance("nodes")[cell.nodes("apical")]
gk = cell.get("hh.gkbar", "apical")
print(f"apical gkbar: {gk.min():.4f} .. {gk.max():.4f} S/cm2 over {d.min():.0f} .. {d.max():.0f} um from the soma")
print("gnabar on apic[0]:", cell.get("hh.gnabar", "apic[0]"), " on apic[1]:", cell.get("hh.gnabar", "apic[1]")[:1])
print("parameters:", {k: (v.shape if hasattr(v, "shape") else {p: a.shape for p, a in v.items()})
                      for k, v in cell.params.items()})

sol = nx.simulate(cell, [nx.IClamp("soma[0](0.5)", 2.0, 20.0, 1.5)], ["soma[0](0.5)"], tstop=25.0)
print("soma peak:", round(float(np.max(sol.v)), 2), "mV")
