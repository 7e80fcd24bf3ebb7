"""Gradients through imported mechanisms agree with central differences (float64, relative 1e-5).

The cell is the bundled ball-and-stick with the library's channels: a spiking soma (NaT, Kv3_1, SK, CaHVA and
the CaPool calcium pool, whose current and concentration feed back into SK) and an Ih density that rises
with path distance from the soma, as published L5 models place it. The loss is the mean soma voltage over a
spiking current step, so each gradient passes through spikes, the calcium pool and the kinetic Ih scheme.

Rates are evaluated exactly (``rates="exact"``, NEURON's ``usetable = 0``): with TABLEs the simulation is a
piecewise-linear function of v, whose kinks make central differences jump about (the gradient is then that
of the interpolated rates, which JAX takes exactly, but differences cannot check it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurax as nx
from tests.conftest import REPO

STEP = 1e-5  # relative step of the central differences
TSTOP = 30.0  # ms: two spikes


@pytest.fixture(scope="module")
def model():
    lib = nx.channels.library()
    cell = (nx.Cell(nx.load(REPO / "data" / "swc" / "ball_and_stick.swc"), nseg=3)
            .insert(nx.Pas(g=1e-4, e=-70.0))
            .insert(lib["NaT"](gbar=1.0), on="somatic").insert(lib["Kv3_1"](gbar=0.5), on="somatic")
            .insert(lib["SK"](gbar=0.02), on="somatic").insert(lib["CaHVA"](gbar=0.002), on="somatic")
            .insert(lib["CaPool"](), on="somatic").insert(lib["Ih"](), on="all"))
    stim = [nx.IClamp("soma[0](0.5)", 2.0, 25.0, 0.8)]

    def loss(p: dict) -> jnp.ndarray:
        c = cell
        for name in ("NaT.gbar", "Kv3_1.gbar", "SK.gbar", "CaHVA.gbar", "CaPool.gamma", "CaPool.decay"):
            c = c.set(name, p[name], on="somatic")
        # Ih rising with distance: gbar = g0 (1 + slope * d / 100 um)
        c = c.set("Ih.gbar", lambda d: p["Ih.g0"] * (1.0 + p["Ih.slope"] * jnp.asarray(d) / 100.0), on="all")
        sol = nx.simulate(c, stim, ["soma[0](0.5)"], tstop=TSTOP, celsius=34.0, v_init=-70.0,
                          rates="exact")
        return jnp.mean(sol.v)

    params = {"NaT.gbar": 1.0, "Kv3_1.gbar": 0.5, "SK.gbar": 0.02, "CaHVA.gbar": 0.002, "CaPool.gamma": 0.0005,
              "CaPool.decay": 80.0, "Ih.g0": 1e-4, "Ih.slope": 2.0}
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()}
    return jax.jit(loss), params


def test_the_cell_spikes(model):
    loss, params = model
    assert float(loss(params)) > -65.0  # spiking raises the mean well above rest


def test_gradients_match_central_differences(model):
    loss, params = model
    grads = jax.jit(jax.grad(loss))(params)
    worst = 0.0
    for name, value in params.items():
        h = STEP * float(value)
        at = {k: float(loss(dict(params, **{name: value + k * h}))) for k in (-2, -1, 1, 2)}
        fd = (8 * (at[1] - at[-1]) - (at[2] - at[-2])) / (12 * h)  # fourth-order central difference
        g = float(grads[name])
        scale = max(abs(fd), 1e-12)
        assert abs(g - fd) <= 1e-5 * scale, f"{name}: grad {g:.10g}, central difference {fd:.10g}"
        assert np.isfinite(g) and g != 0.0, name
        worst = max(worst, abs(g - fd) / scale)
    print(f"largest relative difference from central differences: {worst:.2e}")


def test_float32_runs_the_whole_library():
    """Every library channel in float32: subthreshold within 1e-3 mV of float64, the same spikes above."""
    lib = nx.channels.library()
    cell = nx.Cell(nx.load(REPO / "data" / "swc" / "ball_and_stick.swc"), nseg=3).insert(nx.Pas(g=1e-4, e=-70.0))
    for name, cls in lib.items():
        cell = cell.insert(cls(), on="all" if name in ("Ih", "CaPool") else "somatic")
    for amp, tol in ((0.05, 1e-3), (0.8, None)):
        stim = [nx.IClamp("soma[0](0.5)", 2.0, 25.0, amp)]
        v = {}
        for dtype in (jnp.float64, jnp.float32):
            sol = nx.simulate(cell, stim, ["soma[0](0.5)", "dend[0](1)"], tstop=40.0, celsius=34.0, v_init=-70.0,
                              dtype=dtype)
            assert sol.v.dtype == dtype and sol.ok
            v[dtype] = np.asarray(sol.v, dtype=float)
        if tol:
            assert np.abs(v[jnp.float64] - v[jnp.float32]).max() < tol
        else:
            spikes = [int(((x[0, 1:] > 0) & (x[0, :-1] <= 0)).sum()) for x in v.values()]
            assert spikes[0] == spikes[1] >= 3, spikes


@pytest.mark.parametrize("b", [4.8, 2.5, 1.0, 0.5, -1.5])
def test_fixed_power_derivative_reuses_the_value_and_equals_jaxs(b):
    """``a ^ b`` with a fixed exponent (a Hill function) has the derivative ``b a^b / a``, also at ``a = 0``."""
    from neurax._deferred import custom_jvp
    from neurax.nmodl.interpret import _power_rule, _power_value

    power = custom_jvp(_power_value, _power_rule, (0,))
    a = jnp.array([0.0, 1e-4, 0.3, 2.0, 7.5])
    ours = jax.vmap(jax.grad(lambda x: power(b, x)))(a)
    jaxs = jax.vmap(jax.grad(lambda x: jnp.power(x, b)))(a)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(jaxs), rtol=1e-13)
    np.testing.assert_array_equal(np.asarray(power(b, a)), np.asarray(jnp.power(a, b)))


@pytest.mark.parametrize("b", [4.8, 2.5, 1.0, 0.5, 0.0, -1.5, 3.0, -2.0])
def test_traced_power_derivative_reuses_the_value_and_equals_jaxs(b):
    """``a ^ b`` with the exponent traced too (a Hill coefficient that is a parameter) has the derivatives
    ``b a^b / a`` and ``log(a) a^b``: JAX's values (at ``a = 0`` and for negative ``a`` too), from one power.
    """
    from neurax._deferred import custom_jvp
    from neurax.nmodl.interpret import _traced_power_rule

    power = custom_jvp(jnp.power, _traced_power_rule, (), True)
    a = jnp.array([0.0, 1e-4, 0.3, 1.0, 2.0, 7.5, -0.5, -2.0])
    exponent = jnp.full_like(a, b)
    for ta, tb in [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]:
        tangents = (jnp.full_like(a, ta), jnp.full_like(a, tb))
        ours = jax.jvp(power, (a, exponent), tangents)
        jaxs = jax.jvp(jnp.power, (a, exponent), tangents)
        np.testing.assert_array_equal(np.asarray(ours[0]), np.asarray(jaxs[0]))
        np.testing.assert_allclose(np.asarray(ours[1]), np.asarray(jaxs[1]), rtol=1e-13)
    # the derivative in a alone (the exponent a constant of the step) takes no second power and no logarithm
    program = jax.make_jaxpr(lambda x: jax.jvp(lambda u: power(u, exponent), (x,), (jnp.ones_like(x),)))(a)
    names = [eqn.primitive.name for eqn in program.jaxpr.eqns]
    assert names.count("pow") == 1 and "log" not in names


def test_power_of_a_constant_base_keeps_float32(tmp_path):
    """``3 ^ x`` with ``x`` a float32 array stays float32 (the constant base must not promote it to float64)."""
    from neurax.nmodl.interpret import Frame, Interpreter

    (tmp_path / "powtest.mod").write_text("NEURON { SUFFIX powtest }\nFUNCTION grow(x) { grow = 3 ^ x }\n")
    mechanisms = nx.load_mods([tmp_path / "powtest.mod"])
    cls = mechanisms["powtest"] if isinstance(mechanisms, dict) else mechanisms[0]
    x = jnp.array([0.5, 1.5], jnp.float32)
    out = Interpreter(cls.model, xp=jnp).inline(cls.model.functions["grow"], [x], Frame(dict(cls.model.constants)))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out), 3.0 ** np.array([0.5, 1.5]), rtol=1e-6)


def test_gradients_through_nonlinear_implicit_blocks():
    """A current gated by a nonlinear two-state DERIVATIVE block (derivimplicit: Newton's method, differentiated
    implicitly by ``lax.custom_root``, whose tangent solve builds the Jacobian from its columns) and a second-order
    binding scheme (KINETIC, sparse: a fixed loop of Newton steps, differentiated through each small dense solve).
    The gradients of a spiking simulation through both agree with central differences (1e-8 to 1e-9 here; the
    tangent solve's matrix transposed, gbar's is off by 1.5e-3).
    """
    gate = nx.load_mod(str(REPO / "tests" / "data" / "mod" / "gradient" / "nonlinear_gate.mod"))
    base = (nx.Cell(nx.load(REPO / "data" / "swc" / "ball_and_stick.swc"), nseg=3)
            .insert(nx.HH(), on="somatic").insert(nx.Pas(g=1e-4, e=-65.0)).insert(gate()))
    stim = [nx.IClamp("soma[0](0.5)", 2.0, 25.0, 0.3)]

    def loss(p: dict) -> jnp.ndarray:
        c = base
        for name, value in p.items():
            c = c.set(f"nonlinear_gate.{name}", value)
        sol = nx.simulate(c, stim, ["soma[0](0.5)", "dend[0](0.9)"], tstop=TSTOP)
        return jnp.mean(sol.v)

    params = {k: jnp.asarray(v, dtype=jnp.float64)
              for k, v in {"gbar": 0.004, "e": -80.0, "tau": 5.0, "kon": 0.5, "koff": 0.2}.items()}
    loss = jax.jit(loss)
    grads = jax.jit(jax.grad(loss))(params)
    for name, value in params.items():
        h = STEP * abs(float(value))
        at = {k: float(loss(dict(params, **{name: value + k * h}))) for k in (-2, -1, 1, 2)}
        fd = (8 * (at[1] - at[-1]) - (at[2] - at[-2])) / (12 * h)
        g = float(grads[name])
        assert np.isfinite(g) and g != 0.0, name
        assert abs(g - fd) <= 1e-5 * abs(fd), f"{name}: grad {g:.10g}, central difference {fd:.10g}"
