"""Fitting: recover parameters of real cells from NEURON-generated traces; losses; stop and resume."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import neurax as nx
from tests.conftest import reference_source
from tests.reference_neuron.fit_refs import load_fit_target


def target_cell(ref):
    tg = ref["target"]
    morph = nx.load(reference_source(tg["morphology"]))
    policy = nx.DLambda(tg["d_lambda"]) if tg["nseg"] is None else tg["nseg"]
    cell = nx.Cell(morph, policy, Ra=tg["Ra"], cm=tg["cm"])
    for m in tg["mechanisms"]:
        cell = cell.insert(nx.HH(**m["params"]) if m["name"] == "hh" else nx.Pas(**m["params"]), on=m["on"])
    return cell, [nx.IClamp.parse(s) for s in tg["iclamp"]]


def test_true_parameters_reproduce_the_neuron_target():
    ref = load_fit_target("fit_pvalb")
    cell, stims = target_cell(ref)
    tg = ref["target"]
    v = nx.simulate(cell, stims, tg["record"], tstop=tg["tstop"], dt=tg["dt"]).v
    assert np.abs(np.asarray(v) - ref["v"]).max() < 1e-6


@pytest.mark.slow
def test_recover_eight_parameters_of_a_real_cell_from_50_percent_off():
    """hh gnabar, gkbar, gl on the soma and on the basal dendrites, Ra and cm of an Allen Pvalb cell."""
    ref = load_fit_target("fit_pvalb")
    cell, stims = target_cell(ref)
    tg, true = ref["target"], ref["true_params"]
    keys = ["hh.gnabar@somatic", "hh.gkbar@somatic", "hh.gl@somatic", "hh.gnabar@basal", "hh.gkbar@basal",
            "hh.gl@basal", "Ra", "cm"]
    tr = cell.trainable({k: k.split("@")[1] if "@" in k else "all" for k in keys})
    params = tr.unconstrained({k: true[k] * (1.5 if i % 2 == 0 else 0.5) for i, k in enumerate(keys)})
    target = jnp.asarray(ref["v"])

    def loss_for(sigma):
        goal = nx.fit.smooth(target, sigma, tg["dt"]) if sigma else target

        def loss(p):
            v = nx.simulate(tr.apply(p), stims, tg["record"], tstop=tg["tstop"], dt=tg["dt"]).v
            return nx.fit.mse(nx.fit.smooth(v, sigma, tg["dt"]) if sigma else v, goal)

        return loss

    # Blurred traces first (wide basins for spike-timing mismatch), then the plain trace error.
    for sigma, steps in [(4.0, 30), (2.0, 30), (1.0, 30), (0.0, 150)]:
        result = nx.fit.fit(loss_for(sigma), params, optimizer=optax.lbfgs(), steps=steps, progress=False,
                            tol=1e-14 if sigma == 0 else None)
        params = result.params
    values = tr.values(params)
    errors = {k: abs(float(values[k][0]) / true[k] - 1) for k in keys}
    assert max(errors.values()) < 0.01, errors


def test_stop_and_resume(tmp_path):
    ref = load_fit_target("fit_ball")
    cell, stims = target_cell(ref)
    tg = ref["target"]
    tr = cell.trainable({"Ra": "all", "cm": "all"})
    params = tr.unconstrained({"Ra": 100.0, "cm": 1.0})

    def loss(p):
        v = nx.simulate(tr.apply(p), stims, tg["record"], tstop=10.0, dt=tg["dt"]).v
        return nx.fit.mse(v, ref["v"][:, : v.shape[-1]])

    path = tmp_path / "fit.pkl"
    first = nx.fit.fit(loss, params, optimizer=optax.adam(0.05), steps=4, checkpoint=path, progress=False)
    assert first.step == 4 and path.exists()
    resumed = nx.fit.fit(loss, params, optimizer=optax.adam(0.05), steps=8, checkpoint=path, progress=False)
    fresh = nx.fit.fit(loss, params, optimizer=optax.adam(0.05), steps=8, progress=False)
    assert resumed.step == 8 and len(resumed.losses) == 8
    np.testing.assert_allclose(resumed.losses, fresh.losses, rtol=1e-9)
    assert resumed.losses[-1] < resumed.losses[0]


def test_losses():
    t = np.arange(0, 100, 0.025)
    v = np.where((t % 20 >= 10) & (t % 20 < 11), 30.0, -65.0)[None, :]  # 5 square "spikes"
    assert float(nx.fit.soft_spike_count(v, sharpness=5.0)[0]) == pytest.approx(5.0, abs=1e-6)
    assert float(nx.fit.spike_count_loss(v, [5], sharpness=5.0)) == pytest.approx(0.0, abs=1e-9)
    assert float(nx.fit.mse(v, v)) == 0.0 and float(nx.fit.feature_loss(v, v)) == 0.0
    smooth = np.asarray(nx.fit.smooth(v, 2.0, 0.025))
    assert smooth.shape == v.shape and smooth.max() < 0.0


# -- populations and the recipe --------------------------------------------------------------------------------

BALL = "data/swc/ball_and_stick.swc"


def test_log_bounded_keeps_values_inside_and_round_trips():
    t = nx.LogBounded(1e-4, 1.0)
    u = np.array([-50.0, -1.0, 0.0, 2.0, 50.0])
    x = np.asarray(t.forward(jnp.asarray(u)))
    assert np.all((x >= 1e-4) & (x <= 1.0))
    np.testing.assert_allclose(t.inverse(x[1:4]), u[1:4], rtol=1e-9)
    with pytest.raises(nx.NeuraxError, match="outside"):
        t.inverse(2.0)
    with pytest.raises(nx.NeuraxError, match="lower < upper"):
        nx.LogBounded(1.0, 0.5)


def passive_problem():
    cell = nx.Cell(nx.load(BALL), 3, Ra=100.0).insert(nx.Pas(g=1e-4, e=-65.0))
    truth = cell.set("pas.g", 2e-4).set("cm", 1.5)
    stim = [nx.IClamp("soma[0](0.5)", 2.0, 10.0, 0.05)]
    target = nx.simulate(truth, stim, ["soma[0](0.5)"], tstop=20.0).v
    tr = cell.trainable({"pas.g": "all", "cm": "all"},
                        {"pas.g": nx.LogBounded(1e-6, 1e-2), "cm": nx.LogBounded(0.2, 5.0)})
    return cell, tr, stim, target


def test_starts_cover_the_range_and_stay_in_bounds():
    _, tr, _, _ = passive_problem()
    starts = nx.fit.sample_starts(tr, 16, spread=0.5, seed=3)
    values = jax.vmap(tr.values)(starts)
    g = np.asarray(values["pas.g"]).ravel()
    assert g.shape == (16,) and np.all((g >= 1e-4 / 1.5 - 1e-12) & (g <= 1e-4 * 1.5 + 1e-12))
    assert g.max() / g.min() > 1.8  # spread over the box, not clustered
    wide = nx.fit.sample_starts(tr, 4, spread=100.0, seed=3)  # clipped inside the LogBounded ranges
    assert np.all(np.asarray(jax.vmap(tr.values)(wide)["cm"]) < 5.0)


def test_population_finds_both_passive_parameters():
    _, tr, stim, target = passive_problem()

    def loss(p):
        return nx.fit.mse(nx.simulate(tr.apply(p), stim, ["soma[0](0.5)"], tstop=20.0).v, target)

    result = nx.fit.fit_population(loss, nx.fit.sample_starts(tr, 8, spread=0.5, seed=0), steps=60,
                                   optimizer=optax.adam(0.1), restart_every=20, progress=False)
    values = tr.values(result.params)
    assert abs(float(values["pas.g"][0]) / 2e-4 - 1) < 0.02 and abs(float(values["cm"][0]) / 1.5 - 1) < 0.02
    assert result.history.shape == (60, 8) and result.restarts > 0
    assert result.best_loss <= result.history[0].min()
    spread = result.spread(tr, k=3)
    assert set(spread) == {"pas.g", "cm"}


def test_recipe_refuses_bad_targets():
    _, tr, stim, target = passive_problem()
    with pytest.raises(nx.NeuraxError, match="shape"):
        nx.fit.recipe(tr, [(stim, target[:, :-5])], record=["soma[0](0.5)"], tstop=20.0)
    bad = np.asarray(target).copy()
    bad[0, 17] = np.nan
    with pytest.raises(nx.NeuraxError, match="NaN"):
        nx.fit.recipe(tr, [(stim, bad)], record=["soma[0](0.5)"], tstop=20.0)


def test_evolution_strategy_finds_a_quadratic_minimum():
    best, history = nx.fit.evolve(lambda p: jnp.sum((p["a"] - 3.0) ** 2) + (p["b"] + 1.0) ** 2,
                                  {"a": jnp.zeros(3), "b": jnp.zeros(())}, generations=80, population=12)
    np.testing.assert_allclose(best["a"], 3.0, atol=1e-3)
    assert abs(float(best["b"]) + 1.0) < 1e-3 and np.all(np.diff(history) <= 0)


def test_spread_is_relative_for_positive_values_and_absolute_for_reversal_potentials():
    cell = nx.Cell(nx.load(BALL), 1).insert(nx.Pas())
    tr = cell.trainable({"pas.g": "all", "pas.e": "all"},
                        {"pas.g": nx.LogBounded(1e-6, 1e-2), "pas.e": nx.Bounded(-90.0, -50.0)})
    members = {"pas.g": jnp.stack([tr.unconstrained({"pas.g": g, "pas.e": -70.0})["pas.g"] for g in (1e-4, 2e-4)]),
               "pas.e": jnp.stack([tr.unconstrained({"pas.g": 1e-4, "pas.e": e})["pas.e"] for e in (-70.0, -64.0)])}
    result = nx.fit.PopulationResult(params=jax.tree_util.tree_map(lambda x: x[0], members), members=members,
                                     best_losses=np.array([1.0, 1.5]), history=np.zeros((1, 2)))
    spread = result.spread(tr, k=2)
    np.testing.assert_allclose(spread["pas.g"], [1.0], rtol=1e-9)  # 2e-4 / 1e-4 - 1
    np.testing.assert_allclose(spread["pas.e"], [6.0], rtol=1e-9)  # mV


def test_recipe_needs_bounds_and_trainable_bounded_gives_physical_ones():
    cell = nx.Cell(nx.load(BALL), 1).insert(nx.HH(), on="somatic").insert(nx.Pas(), on="basal")
    tr = cell.trainable({"hh.gnabar": "somatic", "pas.e": "basal", "cm": "all", "Ra": "all"})
    stim = [nx.IClamp("soma[0](0.5)", 1.0, 5.0, 0.1)]
    target = np.zeros((1, 401))
    with pytest.raises(nx.NeuraxError, match="hh.gnabar, pas.e, cm, Ra have no bounds.*bounded()"):
        nx.fit.recipe(tr, [(stim, target)], record=["soma[0](0.5)"], tstop=10.0)
    b = tr.bounded()
    t = b.transforms
    assert (t["hh.gnabar"].lower, t["hh.gnabar"].upper) == pytest.approx((0.12 / 100, 0.12 * 100))
    assert isinstance(t["pas.e"], nx.Bounded) and (t["pas.e"].lower, t["pas.e"].upper) == (-150.0, 150.0)
    assert (t["cm"].lower, t["Ra"].upper) == (0.2, 5000.0)
    for key, value in b.values(b.init()).items():  # the same values, now on bounded scales
        np.testing.assert_allclose(value, tr.values(tr.init())[key], rtol=1e-12)
    linear = cell.trainable({"hh.gl@d": nx.ByDistance("somatic", lambda d, th: th[0] + th[1] * d, init=[3e-4, 0.0])})
    with pytest.raises(nx.NeuraxError, match="unbounded linear scale.*nx.Bounded"):
        linear.bounded()
    with pytest.raises(nx.NeuraxError, match="outside the default bounds"):
        cell.set("cm", 20.0).trainable({"cm": "all"}).bounded()


def test_aligned_mse_forgives_a_latency_and_keeps_its_gradient():
    t = jnp.arange(0.0, 50.0, 0.1)

    def trace(delay):
        return -65.0 + 80.0 * jnp.exp(-0.5 * ((t - 20.0 - delay) / 1.0) ** 2)

    target = trace(0.0)
    assert float(nx.fit.mse(trace(0.3), target)) > 10.0
    assert float(nx.fit.aligned_mse(trace(0.3), target, 0.1, max_shift=1.0)) < 1e-6
    assert float(nx.fit.aligned_mse(trace(3.0), target, 0.1, max_shift=1.0)) > 10.0  # beyond the window
    soft = jax.grad(lambda d: nx.fit.aligned_mse(trace(d), target, 0.1, max_shift=1.0, temperature=1.0))
    hard = jax.grad(lambda d: nx.fit.aligned_mse(trace(d), target, 0.1, max_shift=1.0))
    assert np.isfinite(float(soft(0.25))) and abs(float(hard(0.25))) > 0  # between grid shifts: a pull to align
    with pytest.raises(nx.NeuraxError, match="max_shift"):
        nx.fit.aligned_mse(target, target, 0.1, max_shift=30.0)


def test_recipe_recovers_a_passive_cell_and_resumes_from_its_checkpoint(tmp_path):
    _, tr, stim, target = passive_problem()
    first = nx.fit.recipe(tr, [(stim, target)], record=["soma[0](0.5)"], tstop=20.0, starts=4, steps=10, polish=20,
                          progress=False, checkpoint=tmp_path)
    values = tr.values(first.params)
    assert abs(float(values["pas.g"][0]) / 2e-4 - 1) < 1e-6 and abs(float(values["cm"][0]) / 1.5 - 1) < 1e-6
    assert [s["stage"] for s in first.stages] == ["screen", "global", "polish"] and first.loss < 1e-12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe-global.npz", "recipe-polish.npz"]
    assert all(float(np.max(u)) < 0.01 for u in first.uncertainty.values())  # both well determined
    again = nx.fit.recipe(tr, [(stim, target)], record=["soma[0](0.5)"], tstop=20.0, starts=4, steps=10, polish=20,
                          progress=False, checkpoint=tmp_path)
    assert sum(s["simulations"] for s in again.stages) < sum(s["simulations"] for s in first.stages)
    for key in values:
        np.testing.assert_allclose(tr.values(again.params)[key], values[key], rtol=1e-12)


def test_report_shows_stages_uncertainty_features_and_warns_about_undetermined_parameters(tmp_path):
    _, tr, stim, target = passive_problem()
    protocols = [(stim, target)]
    result = nx.fit.recipe(tr, protocols, record=["soma[0](0.5)"], tstop=20.0, starts=4, steps=6, polish=10,
                           progress=False)
    png = tmp_path / "fit.png"
    text = nx.fit.report(result, tr, protocols, record=["soma[0](0.5)"], tstop=20.0, png=str(png),
                         true={"pas.g": 2e-4, "cm": 1.5})
    assert "stage global" in text and "stage polish" in text and "at 0.1 mV noise" in text
    assert "protocol 0: 0 / 0" in text and "warning" not in text and png.stat().st_size > 10_000
    result.uncertainty["cm"] = np.array([0.5])  # as if the protocol left cm undetermined
    assert "warning: the protocols hardly determine cm" in nx.fit.report(result, tr, protocols,
                                                                         record=["soma[0](0.5)"], tstop=20.0)


def test_bounds_per_element_keep_each_coefficient_in_its_own_range():
    t = nx.LogBounded((1e-6, 50.0), (1e-2, 2000.0))  # e.g. a profile's g0 (S/cm^2) and length (um)
    x = np.asarray(t.forward(jnp.asarray([[-8.0, 8.0], [8.0, -8.0]])))
    assert np.all((x[:, 0] >= 1e-6) & (x[:, 0] <= 1e-2) & (x[:, 1] >= 50.0) & (x[:, 1] <= 2000.0))
    np.testing.assert_allclose(t.forward(jnp.asarray(t.inverse([3e-5, 400.0]))), [3e-5, 400.0], rtol=1e-12)
    b = nx.Bounded((-90.0, 0.0), (-50.0, 1.0))
    np.testing.assert_allclose(b.forward(jnp.asarray(b.inverse([-70.0, 0.25]))), [-70.0, 0.25], rtol=1e-12)
    with pytest.raises(nx.NeuraxError, match="outside"):
        t.inverse([3e-5, 4000.0])
    with pytest.raises(nx.NeuraxError, match="lower < upper"):
        nx.Bounded((0.0, 2.0), (1.0, 1.0))


def test_cma_es_adapts_to_a_rotated_ill_conditioned_valley():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    a = jnp.asarray(q @ np.diag(10.0 ** np.linspace(0, 4, 8)) @ q.T)  # condition number 1e4, not axis-aligned
    best, history = nx.fit.evolve(lambda p: p["x"] @ a @ p["x"], {"x": jnp.ones(8, dtype=jnp.float64)},
                                  generations=300, population=12)
    assert history[-1] < 1e-8 * history[0] and np.abs(np.asarray(best["x"])).max() < 1e-4


def test_a_stalled_polish_gets_a_quiet_refit_and_keeps_the_better_point():
    cell = nx.Cell(nx.load(BALL), 1, Ra=100.0).insert(nx.HH())
    truth = cell.set("hh.gnabar", 0.1).set("hh.gkbar", 0.045).set("hh.gl", 2.5e-4)
    record = ["soma[0](0.5)"]
    protocols = []
    for amp in (0.005, 0.3):  # one quiet protocol, one that spikes
        stim = [nx.IClamp("soma[0](0.5)", 2.0, 20.0, amp)]
        protocols.append((stim, nx.simulate(truth, stim, record, tstop=30.0).v))
    keys = {"hh.gnabar": "all", "hh.gkbar": "all", "hh.gl": "all"}
    tr = cell.trainable(keys, {k: nx.LogBounded(1e-5, 1.0) for k in keys})
    # two polish iterations cannot converge from 50% off: the refit stages run
    result = nx.fit.recipe(tr, protocols, record=record, tstop=30.0, starts=4, steps=3, screen=0, polish=2,
                           progress=False)
    names = [s["stage"] for s in result.stages]
    assert names[names.index("polish"):names.index("polish") + 3] == ["polish", "quiet", "repolish"]
    quiet, repolish = (result.stages[names.index(n)] for n in ("quiet", "repolish"))
    assert quiet["simulations"] < repolish["simulations"]  # one protocol of two
    plain = np.mean([np.mean((np.asarray(nx.simulate(tr.apply(result.params), s, record, tstop=30.0).v) - t) ** 2)
                     for s, t in protocols])
    np.testing.assert_allclose(result.loss, plain, rtol=1e-9, atol=1e-15)  # the loss of the parameters returned


def test_a_fit_that_does_not_explain_its_targets_is_warned_about():
    """A target 3 mV above anything the model can reach (its leak reversal is fixed): the plain MSE stays far
    above the targets' noise (none: a simulation), and the report says the fit does not explain the targets."""
    _, tr, stim, target = passive_problem()
    shifted = [(stim, np.asarray(target) + 3.0)]
    record = ["soma[0](0.5)"]
    result = nx.fit.recipe(tr, shifted, record=record, tstop=20.0, starts=4, steps=2, screen=0, polish=2,
                           restarts=1, progress=False)
    assert not result.explained and result.noise < 0.01 and result.loss > 1.0
    names = [s["stage"] for s in result.stages]  # no passive stage (every key is passive): one restart, no -again
    assert names == ["global", "polish", "global-restart1", "polish-restart1"]
    text = nx.fit.report(result, tr, shifted, record=record, tstop=20.0)
    assert "warning: the fit does not explain the targets" in text
    noisy = [(stim, np.asarray(target) + np.random.default_rng(0).normal(0.0, 0.5, np.shape(target)))]
    fitted = nx.fit.recipe(tr, noisy, record=record, tstop=20.0, starts=4, steps=10, polish=20, progress=False)
    assert fitted.explained and abs(fitted.noise / 0.5 - 1) < 0.1  # down to the noise it carries
    assert not any("restart" in s["stage"] for s in fitted.stages)  # explained: no restart
    assert "the fit explains the targets down to their noise" in nx.fit.report(fitted, tr, noisy, record=record,
                                                                                tstop=20.0)


def test_a_fit_from_the_passive_stage_that_does_not_explain_its_targets_searches_again_from_the_drawn_starts():
    """hh on one compartment, a quiet and a spiking protocol, targets 3 mV above what the model can reach: the
    passive stage runs, the fit does not explain the targets, so the search runs again from the starts as drawn
    (stages with the suffix -again), then from fresh starts (-restart1, -restart2); the loss returned is that of
    the parameters returned."""
    cell = nx.Cell(nx.load(BALL), 1, Ra=100.0).insert(nx.HH())
    truth = cell.set("hh.gnabar", 0.1).set("hh.gkbar", 0.045).set("hh.gl", 2.5e-4)
    record = ["soma[0](0.5)"]
    protocols = []
    for amp in (0.005, 0.3):
        stim = [nx.IClamp("soma[0](0.5)", 2.0, 20.0, amp)]
        protocols.append((stim, np.asarray(nx.simulate(truth, stim, record, tstop=30.0).v) + 3.0))
    keys = {"hh.gnabar": "all", "hh.gkbar": "all", "hh.gl": "all"}
    tr = cell.trainable(keys, {k: nx.LogBounded(1e-5, 1.0) for k in keys})
    result = nx.fit.recipe(tr, protocols, record=record, tstop=30.0, starts=4, steps=2, screen=0, polish=2,
                           progress=False)
    names = [s["stage"] for s in result.stages]
    assert names[0] == "passive" and "global-again" in names and "polish-again" in names
    assert names.index("global-again") > names.index("polish") and not result.explained
    assert names.index("global-restart2") > names.index("global-restart1") > names.index("polish-again")
    plain = np.mean([np.mean((np.asarray(nx.simulate(tr.apply(result.params), s, record, tstop=30.0).v) - t) ** 2)
                     for s, t in protocols])
    np.testing.assert_allclose(result.loss, plain, rtol=1e-9)
