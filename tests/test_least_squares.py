"""Levenberg-Marquardt populations (neurax.least_squares): convergence, pruning, resume, identifiability."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurax as nx

jax.config.update("jax_enable_x64", True)  # neurax turns it on when it first uses JAX; T is made before
T = jnp.linspace(0.0, 5.0, 60)
TRUE = {"a": jnp.asarray(2.0), "k": jnp.asarray([0.7, 3.0])}


def model(p):
    """Two decaying exponentials, a classic ill-conditioned least-squares problem."""
    return p["a"] * jnp.exp(-p["k"][0] * T) + jnp.exp(-p["k"][1] * T)


TARGET = model(TRUE)


def residuals(p):
    return model(p) - TARGET


def starts(n):
    rng = np.random.default_rng(0)
    return {"a": jnp.asarray(2.0 * np.exp(rng.uniform(-0.4, 0.4, n))),
            "k": jnp.asarray(np.array([0.7, 3.0]) * np.exp(rng.uniform(-0.4, 0.4, (n, 2))))}


def test_every_member_reaches_the_exact_minimum_quadratically():
    result = nx.fit.least_squares(residuals, starts(4), steps=40, progress=False)
    np.testing.assert_allclose(result.params["a"], 2.0, rtol=1e-7)
    np.testing.assert_allclose(result.params["k"], [0.7, 3.0], rtol=1e-7)
    assert np.all(result.best_losses < 1e-16)
    assert result.history.shape[1] == 4 and result.history.shape[0] < 40  # all converged and stopped
    assert np.all(np.diff(result.history, axis=0) <= 0)  # a member moves only when its loss falls
    assert result.evaluations >= 4 * (3 + 1)
    assert result.converged.all()  # stopped by the tolerances, not the iteration limit
    assert not nx.fit.least_squares(residuals, starts(4), steps=1, progress=False).converged.any()


def test_hopeless_members_stop_early():
    far = starts(3)
    far["k"] = far["k"].at[2].set(jnp.asarray([40.0, 50.0]))  # both rates far too fast: a flat, poor start
    result = nx.fit.least_squares(residuals, far, steps=12, prune_after=1, prune_factor=2.0, progress=False)
    history = result.history
    assert history[-1, 2] == history[1, 2] and history[0, 2] > 10 * history[0, :2].max()


def test_checkpoint_resumes_to_the_same_result(tmp_path):
    path = tmp_path / "lm.npz"
    whole = nx.fit.least_squares(residuals, starts(2), steps=8, progress=False)
    nx.fit.least_squares(residuals, starts(2), steps=3, checkpoint=path, progress=False)
    resumed = nx.fit.least_squares(residuals, starts(2), steps=8, checkpoint=path, progress=False)
    np.testing.assert_allclose(resumed.history, whole.history, rtol=1e-12)
    np.testing.assert_allclose(resumed.params["k"], whole.params["k"], rtol=1e-12)


def test_jacobian_equals_the_analytic_one():
    r, jac = nx.fit.jacobian(residuals, TRUE)
    exact = np.stack([np.exp(-0.7 * T), -2.0 * T * np.exp(-0.7 * T), -T * np.exp(-3.0 * T)], axis=1)
    assert np.abs(r).max() == 0.0
    np.testing.assert_allclose(jac, exact, atol=2e-6)


def test_residuals_that_are_never_finite_are_refused():
    with pytest.raises(nx.NeuraxError, match="not finite"):
        nx.fit.least_squares(lambda p: jnp.log(-jnp.abs(p["a"]) - 1.0) * T, {"a": jnp.ones(2)}, progress=False)


BALL = "data/swc/ball_and_stick.swc"


def test_identifiability_flags_a_parameter_the_protocol_cannot_see():
    """A current step at the soma determines pas.g and cm to a fraction of a percent at 0.1 mV noise (the same
    figure as the Fisher information in log values); a parameter the residuals ignore is infinitely uncertain."""
    cell = nx.Cell(nx.load(BALL), 3, Ra=100.0).insert(nx.Pas(g=1e-4, e=-65.0))
    tr = cell.trainable({"pas.g": "all", "cm": "all"},
                        {"pas.g": nx.LogBounded(1e-6, 1e-2), "cm": nx.LogBounded(0.2, 5.0)})
    stim = [nx.IClamp("soma[0](0.5)", 2.0, 10.0, -0.05)]
    target = nx.simulate(cell, stim, ["soma[0](0.5)"], tstop=20.0).v
    n = target.size

    def resid(p):
        return (nx.simulate(tr.apply(p), stim, ["soma[0](0.5)"], tstop=20.0).v - target).ravel() / np.sqrt(n)

    std = nx.fit.identifiability(resid, tr.init(), tr, noise=0.1)
    assert 0 < float(std["pas.g"][0]) < 0.05 and 0 < float(std["cm"][0]) < 0.05
    # the same from the Jacobian in log values directly (a Log transform's coordinate is the log value)
    logs = cell.trainable({"pas.g": "all", "cm": "all"}, {"pas.g": nx.Log(), "cm": nx.Log()})

    def resid_log(p):
        return (nx.simulate(logs.apply(p), stim, ["soma[0](0.5)"], tstop=20.0).v - target).ravel() / np.sqrt(n)

    _, jac = nx.fit.jacobian(resid_log, logs.init())
    cov = np.linalg.inv(jac.T @ jac * n / 0.1 ** 2)  # columns in sorted key order: cm, pas.g
    np.testing.assert_allclose([float(std["pas.g"][0]), float(std["cm"][0])], np.sqrt(np.diag(cov))[::-1], rtol=1e-3)

    # residuals that do not depend on cm at all: its uncertainty is infinite, pas.g's unchanged
    fixed_cm = tr.init()["cm"]
    blind = nx.fit.identifiability(lambda p: resid({"pas.g": p["pas.g"], "cm": fixed_cm}), tr.init(), tr, noise=0.1)
    assert np.isinf(blind["cm"][0]) and float(blind["pas.g"][0]) <= float(std["pas.g"][0])
