"""Tutorial 6: bring a NEURON model over, check it against NEURON, then fit ten of its conductances.

The model is docs/models/pyramidal.hoc: a PyramidalCell template (PyramidalCell.hoc) on the bundled CA1
reconstruction c91662 (2,806 compartments), with the channels of neurax's library (neurax/channels: NaT,
NaP, Kv3.1, KT, KP, Kv1, Im, Ih, SK, BK, CaHVA, CaLVA, a calcium pool) placed per region as published layer 5
models do, and an apical Ih density that rises exponentially with distance from the soma.

1. Port: ``neurax port docs/models/pyramidal.hoc --mod neurax/channels --out pyramidal.json`` does on the
   command line what ``nx.port`` does here: it runs the script in NEURON with the .mod files compiled and writes
   every section, segment value and stimulus to one model file. Without NEURON installed, the tutorial loads
   the file that command wrote (tests/reference_neuron/ports/pyramidal.json.gz).
2. Match NEURON: 500 ms with the script's own 0.8 nA step, against NEURON's recording of the same run.
3. Fit: NEURON recorded the cell with ten conductances changed by 10-20% (tests/reference_neuron/
   generate_port_fit.py: somatic NaT, Kv3.1 and SK, the leak everywhere, axonal NaT, Kv3.1 and KP, apical NaT
   and Im, and the apical Ih gradient's scale) under a hyperpolarising step and three brief pulses, at the soma
   and three dendritic and axonal tips. Starting from the model's values, L-BFGS with exact gradients through
   the whole simulation finds NEURON's values.

Run: python docs/06_porting.py   (about five minutes on two cores)
"""

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import optax

import neurax as nx

repo = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(repo))
from tests.reference_neuron.trace_refs import load_port_model, load_port_trace  # noqa: E402

# -- 1. Port -----------------------------------------------------------------------------------------------
start = time.perf_counter()
if importlib.util.find_spec("neuron") is not None:
    with tempfile.TemporaryDirectory() as tmp:
        model = nx.port(str(repo / "docs/models/pyramidal.hoc"), mods=[str(repo / "neurax/channels")],
                        out=f"{tmp}/pyramidal.json")
    how = "ported with NEURON"
else:
    model = load_port_model()
    how = "NEURON not installed: loaded the stored port"
cell = model.cell
print(f"{how} in {time.perf_counter() - start:.1f} s: {len(cell.morphology)} sections, {cell.tree.n_segments} "
      f"compartments, mechanisms {', '.join(sorted({m.name for m, _ in cell.mechanisms}))}; settings {model.settings}")

# -- 2. The same voltages as NEURON --------------------------------------------------------------------------
ref = load_port_trace("pyramidal_0.8nA")
sol = model.simulate(ref["record"])  # the model's own clamp and settings (500 ms)
for loc in ref["record"]:
    v, want = np.asarray(sol[loc]), ref["by_record"][loc]
    spikes = int(((v[1:] >= 0) & (v[:-1] < 0)).sum())
    print(f"{loc:>32}: max |V - V_NEURON| = {np.abs(v - want).max():.2e} mV, spikes {spikes} "
          f"(NEURON {ref['spike_counts'][ref['record'].index(loc)]})")

# -- 3. Fit ten conductances to a NEURON recording ------------------------------------------------------------
target = load_port_trace("pyramidal_fit")
meta = target["meta"]
stims = [nx.IClamp(c["location"], c["delay"], c["dur"], c["amp"]) for c in meta["iclamp"]]
record, settings = target["record"], meta["settings"]
g0 = meta["model_values"]["Ih.g0@apical"]  # the template's set_ih_gradient(g0): gbar = g0 (-0.8696 + 2.087 e^(d/323))
spec = {
    "NaT.gbar@somatic": "somatic", "Kv3_1.gbar@somatic": "somatic", "SK.gbar@somatic": "somatic",
    "pas.g@all": "all",
    "NaT.gbar@axonal": "axonal", "Kv3_1.gbar@axonal": "axonal", "KP.gbar@axonal": "axonal",
    "NaT.gbar@apical": "apical", "Im.gbar@apical": "apical",
    "Ih.g0@apical": nx.ByDistance("apical", lambda d, th: th[0] * (-0.8696 + 2.087 * jnp.exp(d * 0.0031)), init=[g0]),
}
# Log transforms: every value stays positive, and a unit step means the same relative change for each.
tr = cell.trainable({k.replace("Ih.g0", "Ih.gbar"): v for k, v in spec.items()},
                    transforms={"Ih.gbar@apical": nx.Log()})
params = tr.init()
same = tr.apply(params).get("Ih.gbar", "apical") / cell.get("Ih.gbar", "apical") - 1
print(f"the trainable Ih gradient reproduces the ported densities to {np.abs(same).max():.1e} (relative)")


def loss(p):
    v = nx.simulate(tr.apply(p), stims, record, **settings).v
    return nx.fit.mse(v, target["v"])


start = time.perf_counter()
result = nx.fit.fit(loss, params, optimizer=optax.lbfgs(), steps=100, tol=1e-8)
print(f"L-BFGS: loss {result.losses[0]:.3g} -> {result.best_loss:.3g} mV^2 in {result.step} steps, "
      f"{time.perf_counter() - start:.0f} s")
true = meta["true_values"]
for key, value in tr.values(result.params).items():
    name = key.replace("Ih.gbar", "Ih.g0")
    print(f"{name:>20}: start, fitted, NEURON's: {meta['model_values'][name]:.6g}, {float(value[0]):.6g}, "
          f"{true[name]:.6g}  (error {float(value[0]) / true[name] - 1:+.1e})")
