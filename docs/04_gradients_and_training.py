"""Tutorial 4: gradients and training against a NEURON recording.

The target is a voltage recording that NEURON 9 made of a ball-and-stick cell with unknown hh and pas
parameters (tests/reference_neuron/fit_targets/fit_ball.npz). We choose the trainable parameters, take exact
gradients with jax.grad, and fit with optax.

Run: python docs/04_gradients_and_training.py   (about a minute)
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import optax

import neurax as nx

repo = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(repo))
from tests.reference_neuron.fit_refs import load_fit_target  # noqa: E402

ref = load_fit_target("fit_ball")
tg = ref["target"]
stims = [nx.IClamp.parse(s) for s in tg["iclamp"]]
# Discretise as the recording was (NEURON's d_lambda rule with its Ra and cm), then start from wrong values.
cell = (nx.Cell(nx.load(repo / "data/swc/ball_and_stick.swc"), nx.DLambda(0.1), Ra=tg["Ra"], cm=tg["cm"])
        .insert(nx.HH(), on="somatic").insert(nx.Pas(), on="basal")
        .set("Ra", 100.0).set("cm", 1.0))

# Trainable parameters: one value per section list (Log transforms keep them positive by default).
tr = cell.trainable({"hh.gnabar": "somatic", "hh.gkbar": "somatic", "pas.g": "basal", "pas.e": "basal",
                     "Ra": "all", "cm": "all"})
params = tr.init()
print(tr, "start:", {k: round(float(v[0]), 6) for k, v in tr.values(params).items()})


def loss(p):
    v = nx.simulate(tr.apply(p), stims, tg["record"], tstop=tg["tstop"], dt=tg["dt"]).v
    return nx.fit.mse(v, ref["v"])


value, grads = jax.value_and_grad(loss)(params)  # exact gradients through the whole simulation
print(f"loss {float(value):.3f}; d loss / d log(Ra) = {float(grads['Ra'][0]):.4f}")

# Smoothed traces first (wide basins when spikes are misaligned), then the plain trace error.
for sigma, steps in [(2.0, 30), (0.0, 80)]:
    target = nx.fit.smooth(jnp.asarray(ref["v"]), sigma, tg["dt"]) if sigma else jnp.asarray(ref["v"])

    def staged(p, sigma=sigma, target=target):
        v = nx.simulate(tr.apply(p), stims, tg["record"], tstop=tg["tstop"], dt=tg["dt"]).v
        return nx.fit.mse(nx.fit.smooth(v, sigma, tg["dt"]) if sigma else v, target)

    result = nx.fit.fit(staged, params, optimizer=optax.lbfgs(), steps=steps, tol=1e-12)
    params = result.params

found = {k: float(v[0]) for k, v in tr.values(params).items()}
for key, value in found.items():
    true = ref["true_params"][key if key in ref["true_params"] else f"{key}@{'somatic' if 'hh' in key else 'basal'}"]
    print(f"{key:>10}: fitted, NEURON's: {value:.6g}, {true:.6g}")
