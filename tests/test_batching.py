"""Batches under vmap on CPU run in tiles, side by side on the cores or one after another: the results, vmap
of grad and grad of vmap are those of the simulations one by one."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurax as nx
from neurax import batching
from neurax.errors import NeuraxError
from tests.conftest import REPO


@pytest.fixture(scope="module")
def cell():
    return nx.Cell(nx.load(REPO / "data" / "swc" / "ball_and_stick.swc"), 5, Ra=100.0).insert(nx.HH())


def test_tile_size():
    sizes = lambda workers, cases: [batching.tile_size(b, n, 8, workers) for b, n in cases]  # noqa: E731
    # One after another: tiles of 16 where a tile's state array reaches 512 kB / 3, else the whole batch.
    assert sizes(1, ((32, 1405), (40, 1405), (24, 1405), (128, 313))) == [16, 20, 24, 128]
    # Side by side: at most 16 per tile, a multiple of the workers' count of tiles, whatever the cell.
    assert sizes(2, ((32, 1405), (8, 1405), (128, 313), (33, 20), (3, 20), (2, 20), (1, 20))) == \
        [16, 4, 16, 9, 2, 1, 1]
    assert sizes(4, ((32, 20), (6, 20), (2, 20))) == [8, 2, 1]


def test_threads_from_the_environment(monkeypatch):
    monkeypatch.setenv("NEURAX_THREADS", "3")
    assert batching.threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("NEURAX_THREADS", bad)
        with pytest.raises(NeuraxError, match="NEURAX_THREADS"):
            batching.threads()
    monkeypatch.delenv("NEURAX_THREADS")
    assert batching.threads() >= 1


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_tiles_match_one_by_one(cell, monkeypatch, workers):
    """Seven simulations in tiles of 3 (the last padded): side by side on 2 or 3 threads, or in order."""
    monkeypatch.setenv("NEURAX_THREADS", str(workers))
    monkeypatch.setattr(batching, "TILE_ROWS", 3)
    nx.simulation.compiled.clear_cache()  # the tile size is fixed when a simulation is compiled
    monkeypatch.setattr(batching, "TILE_BYTES", 8)
    calls = []
    side_by_side = batching._side_by_side
    monkeypatch.setattr(batching, "_side_by_side", lambda *a: calls.append(a[3]) or side_by_side(*a))

    def soma(scale, amp):
        params = dict(cell.params)
        params["hh"] = {**params["hh"], "gkbar": params["hh"]["gkbar"] * scale}
        stim = [nx.IClamp("soma[0](0.5)", 2.0, 10.0, amp)]
        return nx.simulate(cell.with_params(params), stim, ["soma[0](0.5)"], tstop=8.0).v[0]

    scales = jnp.linspace(0.6, 1.4, 7)
    amps = jnp.linspace(0.1, 0.5, 7)
    batched = jax.jit(jax.vmap(soma))(scales, amps)
    eager = jax.vmap(soma)(scales, amps)
    shared_amp = jax.jit(jax.vmap(soma, in_axes=(0, None)))(scales, 0.3)
    nested = jax.jit(jax.vmap(jax.vmap(soma, in_axes=(None, 0)), in_axes=(0, None)))(scales[:2], amps[:4])
    # Tiles of 3 on 2 threads: 4 tiles (the multiple of 2 above 7 / 3), of 2 simulations each.
    assert calls[:1] == ([] if workers == 1 else [4 if workers == 2 else 3])
    loss = lambda scale, amp: jnp.sum(soma(scale, amp) ** 2)  # noqa: E731
    per_example = jax.jit(jax.vmap(jax.grad(loss)))(scales, amps)
    of_sum = jax.jit(jax.grad(lambda s: jnp.sum(jax.vmap(loss)(s, amps))))(scales)
    for k in range(7):
        one = np.asarray(soma(scales[k], amps[k]))
        np.testing.assert_allclose(np.asarray(batched[k]), one, rtol=0, atol=1e-9)
        np.testing.assert_allclose(np.asarray(eager[k]), one, rtol=0, atol=1e-9)
        np.testing.assert_allclose(np.asarray(shared_amp[k]), np.asarray(soma(scales[k], 0.3)), rtol=0, atol=1e-9)
        g = float(jax.grad(loss)(scales[k], amps[k]))
        np.testing.assert_allclose([float(per_example[k]), float(of_sum[k])], [g, g], rtol=1e-9)
    np.testing.assert_allclose(np.asarray(nested[1, 3]), np.asarray(soma(scales[1], amps[3])), rtol=0, atol=1e-9)
