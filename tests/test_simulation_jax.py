"""simulate() is one pure function: the same call under jit, vmap and grad, float64 or float32."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurax as nx
from tests.conftest import REPO

BALL = REPO / "data" / "swc" / "ball_and_stick.swc"


@pytest.fixture(scope="module")
def cell():
    return nx.Cell(nx.load(BALL), 5, Ra=100.0).insert(nx.HH()).insert(nx.Pas(g=1e-4), on="basal")


def run(cell, amp=0.3, tstop=20.0, **kw):
    stim = [nx.IClamp("soma[0](0.5)", 2.0, 10.0, amp)]
    return nx.simulate(cell, stim, ["soma[0](0.5)", "dend[0](1)"], tstop=tstop, **kw)


def test_jit_equals_eager(cell):
    eager = run(cell)
    jitted = jax.jit(lambda c: run(c).v)(cell)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager.v), rtol=0, atol=1e-10)  # fusion: ulps
    assert eager["dend[0](1)"].shape == (801,)


def test_vmap_over_stimulus_and_parameters(cell):
    amps = jnp.array([0.0, 0.2, 0.4])
    batched = jax.vmap(lambda a: run(cell, amp=a).v)(amps)
    for k, a in enumerate(np.asarray(amps)):
        np.testing.assert_allclose(np.asarray(batched[k]), np.asarray(run(cell, amp=float(a)).v), atol=1e-9)

    def with_gk(scale):
        params = dict(cell.params)
        params["hh"] = {**params["hh"], "gkbar": params["hh"]["gkbar"] * scale}
        return run(cell.with_params(params)).v

    scales = jnp.array([0.5, 1.0, 1.5])
    batched = jax.vmap(with_gk)(scales)
    np.testing.assert_allclose(np.asarray(batched[1]), np.asarray(run(cell).v), atol=1e-9)
    assert not np.allclose(np.asarray(batched[0]), np.asarray(batched[2]))


@pytest.mark.parametrize("leaf", [("hh", "gkbar"), ("hh", "gnabar"), ("pas", "g"), ("cm",), ("Ra",),
                                  ("radius_scale",)])
def test_gradient_matches_finite_differences(cell, leaf):
    def loss(scale):
        params = jax.tree_util.tree_map(lambda x: x, cell.params)
        target = params
        for key in leaf[:-1]:
            target = target[key]
        target[leaf[-1]] = target[leaf[-1]] * scale
        v = run(cell.with_params(params), tstop=10.0).v
        return jnp.mean((v + 60.0) ** 2)

    grad = jax.grad(loss)(1.0)
    h = 1e-5
    fd = (loss(1.0 + h) - loss(1.0 - h)) / (2 * h)
    assert abs(float(grad) - float(fd)) <= 1e-5 * max(abs(float(fd)), 1e-8)


def test_float32_runs_close_to_float64(cell):
    v64 = np.asarray(run(cell).v)
    v32 = np.asarray(run(cell, dtype=jnp.float32).v)
    assert v32.dtype == np.float32
    assert np.abs(v32 - v64).max() < 0.5


def test_float32_padding_changes_nothing(cell, monkeypatch):
    """float32 node arrays get uncoupled extra leaves (a multiple of 16 nodes, so XLA:CPU vectorises the
    channel updates): the traces and a gradient equal those without them to float32 rounding (the
    vectorised and the scalar code round differently)."""
    import neurax.simulation as simulation

    assert cell.tree.n_nodes % 16 and simulation._padding(cell.tree.n_nodes, jnp.float32) > 0
    assert simulation._padding(cell.tree.n_nodes, jnp.float64) == 0

    def both():
        stim = [nx.IClamp("soma[0](0.5)", 1.0, 5.0, 0.3)]
        v = nx.simulate(cell, stim, ["soma[0](0.5)", "dend[0](1)"], tstop=10.0, dtype=jnp.float32).v
        def loss(scale):
            params = {**cell.params, "hh": {**cell.params["hh"], "gkbar": cell.params["hh"]["gkbar"] * scale}}
            return jnp.mean(nx.simulate(cell.with_params(params), stim, tstop=10.0, dtype=jnp.float32).v)

        grad = jax.grad(loss)(1.0)
        return np.asarray(v), float(grad)

    padded = both()
    monkeypatch.setattr(simulation, "PAD_FLOAT32", 1)
    plain = both()
    np.testing.assert_allclose(padded[0], plain[0], rtol=1e-5, atol=1e-4)
    assert plain[1] != 0.0 and abs(padded[1] - plain[1]) <= 1e-4 * abs(plain[1])


def test_bad_arguments(cell):
    with pytest.raises(nx.NeuraxError, match="dt must be"):
        nx.simulate(cell, tstop=10.0, dt=0.0)
    with pytest.raises(nx.NeuraxError, match="4e[+]13 steps.*shorten tstop or raise dt"):
        nx.simulate(cell, tstop=1e12)
    with pytest.raises(nx.NeuraxError, match="rates must be"):
        nx.simulate(cell, tstop=1.0, rates="fast")
    with pytest.raises(nx.LocationError):
        nx.simulate(cell, record=["dend[7](0.5)"], tstop=1.0)
    with pytest.raises(nx.LocationError, match="iclamp"):
        nx.IClamp.parse("soma[0](0.5),1,2")


def test_default_record_is_the_soma_or_the_first_section(cell, tmp_path):
    assert nx.simulate(cell, tstop=1.0).record == ("soma[0](0.5)",)
    axon = tmp_path / "axon.swc"
    axon.write_text("1 2 0 0 0 1 -1\n2 2 0 10 0 1 1\n3 2 0 20 0 1 2\n")
    sol = nx.simulate(nx.Cell(nx.load(axon)).insert(nx.HH()), tstop=1.0)
    assert sol.record == ("axon[0](0.5)",) and sol.v.shape == (1, 41)


def test_many_clamps_dense_or_scattered_agree(cell, monkeypatch):
    """Up to DENSE_STIMULI clamps are added densely, more by a scatter: both give the same traces."""
    from neurax import simulation

    places = ["soma[0](0.5)", "dend[0](1)", "dend[0](0)", "dend[0](0.5)", "soma[0](0.5)", "dend[0](0.3)"]
    clamps = [nx.IClamp(where, 1.0 + k, 5.0, 0.05 * (k + 1)) for k, where in enumerate(places)]
    record = ["soma[0](0.5)", "dend[0](1)"]
    for count in (2, len(clamps)):  # below and above the dense limit
        default = nx.simulate(cell, clamps[:count], record, tstop=15.0).v
        monkeypatch.setattr(simulation, "DENSE_STIMULI", 0 if count <= simulation.DENSE_STIMULI else 99)
        other = nx.simulate(cell, clamps[:count], record, tstop=15.0).v
        monkeypatch.undo()
        np.testing.assert_allclose(np.asarray(other), np.asarray(default), rtol=0, atol=1e-12)
        assert float(jnp.max(default[0])) > -60.0  # the clamps did depolarise the soma


def test_import_sets_xla_cpu_defaults_unless_told_otherwise():
    """neurax adds XLA:CPU's 512-bit vector preference and its larger one-kernel loop limit to XLA_FLAGS
    (on a jaxlib known to have them), and leaves a user's own settings alone."""
    from neurax._jax import _FLAGS_SINCE, LOOP_KERNEL_BYTES, _jaxlib_version

    code = "import os, neurax._jax; print(os.environ.get('XLA_FLAGS', ''))"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    added = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    loop = f"--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold={LOOP_KERNEL_BYTES}"
    new_jaxlib = _jaxlib_version() >= _FLAGS_SINCE
    assert added.stdout.strip() == (f"--xla_cpu_prefer_vector_width=512 {loop}" if new_jaxlib else "")
    env["XLA_FLAGS"] = "--xla_cpu_prefer_vector_width=256"
    kept = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert kept.stdout.strip() == (f"--xla_cpu_prefer_vector_width=256 {loop}" if new_jaxlib else env["XLA_FLAGS"])
    env["XLA_FLAGS"] = "--xla_backend_extra_options=xla_cpu_use_fusion_emitters=true"
    kept = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    own = "--xla_backend_extra_options=xla_cpu_use_fusion_emitters=true"
    assert kept.stdout.strip() == (f"{own} --xla_cpu_prefer_vector_width=512" if new_jaxlib else own)
