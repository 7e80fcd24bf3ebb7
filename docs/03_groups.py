"""Tutorial 3: groups of your own (NEURON SectionLists) as regions.

Run: python docs/03_groups.py   (a few seconds)
"""

import neurax as nx

morph = nx.load("data/swc/c91662.swc")
cell = nx.Cell(morph, nx.DLambda(0.1), Ra=100.0)

# A group is a named set of sections built from names, section lists or other groups.
distal = [s.name for s in morph.sectionlist("apical") if morph.distance(f"{s.name}(0.5)") > 400]
cell = cell.group("distal_apical", distal).group("trunk", ["apic[0]", "apic[1]", "apic[2]"])
print({name: len(secs) for name, secs in cell.groups.items()})

# Groups work wherever a region does: insert, set, trainable.
cell = cell.insert(nx.HH()).insert(nx.Pas(g=1e-4, e=-70.0), on="distal_apical")
cell = cell.set("hh.gnabar", 0.0, on="distal_apical")          # passive tips
tr = cell.trainable({"hh.gkbar@trunk": "trunk", "pas.g": nx.PerSection("distal_apical")})
print(tr)
