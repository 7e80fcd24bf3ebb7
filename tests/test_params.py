"""Placing parameters on regions, groups, trainable subsets, and exact gradients on a real morphology."""

from __future__ import annotations

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

import neurax as nx
from tests.conftest import REPO

PVALB = REPO / "data" / "swc" / "Pvalb_469628681_m.swc"


@pytest.fixture(scope="module")
def cell():
    return nx.Cell(nx.load(PVALB), nx.DLambda(0.1), Ra=100.0).insert(nx.HH())


def test_set_orders_regions_and_distance_functions(cell):
    c = cell.set("hh.gnabar", 0.2).set("hh.gnabar", 0.3, on="somatic")
    assert np.all(c.get("hh.gnabar", "somatic") == 0.3) and np.all(c.get("hh.gnabar", "basal") == 0.2)
    d = c.distance("nodes")[c.nodes("basal")]
    c = c.set("hh.gl", lambda x: 1e-4 * (1 + x / 100), on="basal")
    np.testing.assert_allclose(c.get("hh.gl", "basal"), 1e-4 * (1 + d / 100))
    c = c.set("cm", 2.0, on="dend[3]").set("Ra", 150.0, on="basal").set("radius_scale", 0.5, on="axonal")
    assert np.all(c.get("cm", "dend[3]") == 2.0) and np.all(c.get("Ra", "basal") == 150.0)
    assert cell.get("cm", "dend[3]")[0] == 1.0  # the original is unchanged


def test_set_takes_traced_values(cell):
    """Under jit, vmap and grad, set gives the same parameters as with numbers (and is differentiable)."""
    def somatic_gk(scale):
        c = cell.set("hh.gkbar", 0.05 * scale, on="somatic").set("hh.gl", lambda d: scale * 1e-4 * (1 + d / 100))
        return c.params["hh"]["gkbar"], c.params["hh"]["gl"]

    for k, scale in enumerate((0.5, 2.0)):
        plain = somatic_gk(scale)
        for traced in (jax.jit(somatic_gk)(scale), [x[k] for x in jax.vmap(somatic_gk)(jnp.array([0.5, 2.0]))]):
            for a, b in zip(traced, plain, strict=True):
                np.testing.assert_allclose(np.asarray(a), b, rtol=1e-15)
    somatic = np.isin(cell.mechanisms[0][1], cell.nodes("somatic"))
    grad = jax.grad(lambda s: jnp.sum(somatic_gk(s)[0]))(1.0)
    assert float(grad) == pytest.approx(0.05 * somatic.sum())

    # A list with one (traced) value per element of the region.
    count = cell.get("hh.gnabar", "somatic").size

    def listed(scale):
        values = [scale * 0.01 * (i + 1) for i in range(count)]
        return cell.set("hh.gnabar", values, on="somatic").params["hh"]["gnabar"]

    np.testing.assert_allclose(np.asarray(jax.jit(listed)(3.0)), listed(3.0), rtol=1e-15)
    assert float(jax.grad(lambda s: jnp.sum(listed(s)))(3.0)) == pytest.approx(0.01 * count * (count + 1) / 2)


def test_distances_follow_the_morphology(cell):
    morph = cell.morphology
    for name in ("dend[3](0.5)", "axon[0](1)", "soma[0](0)"):
        node = cell.tree.node_of(name)
        assert cell.distance("nodes")[node] == pytest.approx(morph.distance(name), abs=1e-9)


def test_groups_are_regions(cell):
    c = cell.group("oblique", ["dend[1]", "dend[4]"])
    assert c.groups["oblique"] == ("dend[1]", "dend[4]")
    c = c.insert(nx.Pas(g=5e-5), on="oblique")
    assert set(c.nodes("oblique")) == set(c.mechanisms[1][1])
    with pytest.raises(nx.NeuraxError, match="already a section list"):
        c.group("basal", ["dend[1]"])


@pytest.mark.parametrize("bad, match", [
    (("hh.nope", 1.0), "has no parameter"), (("kdr.gbar", 1.0), "unknown parameter"),
    (("hh.gl", float("nan")), "finite"),
])
def test_bad_settings(cell, bad, match):
    with pytest.raises(nx.NeuraxError, match=match):
        cell.set(*bad)
    with pytest.raises(nx.LocationError):
        cell.set("cm", 1.0, on="oblique")


def test_mechanism_must_cover_the_region(cell):
    c = nx.Cell(cell.morphology, 1).insert(nx.Pas(), on="basal")
    with pytest.raises(nx.NeuraxError, match="not inserted everywhere"):
        c.set("pas.g", 1e-4, on="all")
    basal = sorted(c.morphology.sectionlists["basal"])
    assert sorted(c.holders("g_pas")) == basal and sorted(c.holders("pas.e")) == basal
    assert len(c.holders("cm")) == len(c.morphology)
    with pytest.raises(nx.NeuraxError, match="did you mean"):
        c.holders("g_pass")


def test_trainable_round_trip_and_sharing(cell):
    tr = cell.trainable({"hh.gnabar@soma": "somatic", "hh.gkbar": nx.PerSection("basal"),
                         "hh.gl": nx.PerCompartment("basal"), "Ra": "all", "cm": nx.Shared("all"),
                         "hh.el": "all"}, transforms={"cm": nx.Bounded(0.5, 3.0)})
    p = tr.init()
    assert p["hh.gkbar"].shape == (len(cell.sections("basal")),)
    assert p["hh.gl"].shape == (len(cell.nodes("basal")),)
    assert tr.size == sum(v.size for v in p.values())
    back = tr.apply(p)
    for key in ("cm", "Ra"):
        np.testing.assert_allclose(np.asarray(back.params[key]), cell.params[key], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(back.params["hh"]["gl"]), cell.params["hh"]["gl"], rtol=1e-12)
    values = tr.values(tr.unconstrained({"cm": 2.0, "Ra": 80.0, "hh.gnabar@soma": 0.2, "hh.gkbar": 0.01,
                                         "hh.gl": 1e-4, "hh.el": -60.0}))
    assert float(values["cm"][0]) == pytest.approx(2.0) and float(values["hh.el"][0]) == pytest.approx(-60.0)
    with pytest.raises(nx.NeuraxError, match="outside Bounded"):
        tr.unconstrained({"cm": 5.0, "Ra": 80.0, "hh.gnabar@soma": 0.2, "hh.gkbar": 0.01, "hh.gl": 1e-4,
                          "hh.el": -60.0})


def test_gradients_match_central_differences_on_a_real_cell(cell):
    """Conductances, Ra, cm, a radius scale and a distance-dependent parameter (relative error <= 1e-5).

    With the exact hh rates: NEURON's rate table is piecewise linear in v, so a finite difference that
    straddles a table node (every 1 mV) measures the kink, not the derivative (the gradient itself is
    exact either way).
    """
    tr = cell.trainable({
        "hh.gnabar": "somatic", "hh.gkbar": "basal", "Ra": "all", "cm": "all", "radius_scale": "basal",
        "hh.gl": nx.ByDistance("basal", lambda d, th: th[0] * (1.0 + th[1] * d), init=[3e-4, 2e-3]),
    })
    stim = [nx.IClamp("soma[0](0.5)", 1.0, 8.0, 0.3)]

    def loss(p):
        v = nx.simulate(tr.apply(p), stim, ["soma[0](0.5)", "dend[20](1)"], tstop=12.0, rates="exact").v
        return jnp.mean((v + 50.0) ** 2)

    p = tr.init()
    grads = jax.jit(jax.grad(loss))(p)
    flat, unravel = jax.flatten_util.ravel_pytree(p)
    gflat = jax.flatten_util.ravel_pytree(grads)[0]
    f = jax.jit(lambda x: loss(unravel(x)))
    for k in range(flat.size):
        h = 1e-5 * (abs(float(flat[k])) or 1.0)  # a step relative to the coefficient's size
        e = jnp.zeros_like(flat).at[k].set(h)
        fd = (f(flat + e) - f(flat - e)) / (2 * h)
        assert abs(float(gflat[k]) - float(fd)) <= 1e-5 * abs(float(fd)) + 1e-9, (k, float(gflat[k]), float(fd))
