"""Tutorial 8: the default fitting recipe, many starts at once, and the fit's report.

The target is the NEURON recording of tutorial 4 (a ball-and-stick cell, hh on the soma and pas on the
dendrite; tests/reference_neuron/fit_targets/fit_ball.npz). Instead of one start and a hand-made schedule,
``nx.fit.recipe`` fits a population of starts at once with Levenberg-Marquardt steps (``nx.fit.least_squares``):
each Jacobian is one vmapped batch of simulations, members far behind the best stop early, and the two best
are polished at the recording's time step. Every parameter lives on a bounded log scale (``nx.LogBounded``), so
no member can drive a conductance to 1e-10 or cm below 0.3. ``nx.fit.report`` then says how well each parameter
is determined: the spread of the best members, and the uncertainty that recordings with 0.1 mV noise would
leave (``nx.fit.identifiability``, from the Gauss-Newton Hessian at the fit). Its first lines compare the fit's
residual with the noise the recording carries (``nx.features.noise_level``): a fit that explains the recording
ends near that noise; one that does not gets a warning (a wrong basin, or a model that cannot produce the
recording). Before warning, the recipe tries to leave a wrong basin by itself: a refit to the quiet protocols
alone, then new searches (from the starts as drawn, then up to ``restarts=2`` times from fresh starts), keeping
the best; ``result.stages`` lists what ran.

Run: python docs/08_fitting_recipe.py   (about a minute; writes tutorial-08-fit.png)
"""

import sys
from pathlib import Path

import numpy as np

import neurax as nx

repo = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(repo))
from tests.reference_neuron.fit_refs import load_fit_target  # noqa: E402

ref = load_fit_target("fit_ball")
tg = ref["target"]
stims = [nx.IClamp.parse(s) for s in tg["iclamp"]]
cell = (nx.Cell(nx.load(repo / "data/swc/ball_and_stick.swc"), nx.DLambda(0.1), Ra=tg["Ra"], cm=tg["cm"])
        .insert(nx.HH(), on="somatic").insert(nx.Pas(), on="basal")
        .set("Ra", 100.0).set("cm", 1.0))  # wrong starting values, as in tutorial 4

# Bounded scales: physical ranges, log-spaced for the positive quantities.
tr = cell.trainable(
    {"hh.gnabar": "somatic", "hh.gkbar": "somatic", "pas.g": "basal", "pas.e": "basal", "Ra": "all", "cm": "all"},
    {"hh.gnabar": nx.LogBounded(0.01, 1.0), "hh.gkbar": nx.LogBounded(0.002, 0.3),
     "pas.g": nx.LogBounded(1e-6, 1e-2), "pas.e": nx.Bounded(-90.0, -50.0),
     "Ra": nx.LogBounded(20.0, 500.0), "cm": nx.LogBounded(0.3, 3.0)})

protocols = [(stims, ref["v"])]  # one protocol here; give several (each its stimuli and recording) when you can
result = nx.fit.recipe(tr, protocols, record=tg["record"], tstop=tg["tstop"], dt=tg["dt"], starts=8, steps=20,
                       polish=30, seed=0)
text = nx.fit.report(result, tr, protocols, record=tg["record"], tstop=tg["tstop"], dt=tg["dt"],
                     png="tutorial-08-fit.png", true={"hh.gnabar": 0.14, "hh.gkbar": 0.042, "pas.g": 5e-4,
                                                 "pas.e": -72.0, "Ra": tg["Ra"], "cm": tg["cm"]})
print(text)
found = {k: float(np.asarray(v).ravel()[0]) for k, v in tr.values(result.params).items()}
true = {"hh.gnabar": 0.14, "hh.gkbar": 0.042, "pas.g": 5e-4, "pas.e": -72.0, "Ra": tg["Ra"], "cm": tg["cm"]}
for key, value in found.items():
    print(f"{key:>10}: fitted, NEURON's: {value:.6g}, {true[key]:.6g}")
print("wrote tutorial-08-fit.png")
