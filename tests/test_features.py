"""Trace features: values on known traces, gradients equal to finite differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurax as nx
from neurax import features as F

DT = 0.025


def triangle_spikes():
    """A trace at -70 mV with two triangular spikes to +30 mV starting at 10 and 30 ms (2 ms up, 2 ms down)."""
    t = np.arange(0, 50 + DT / 2, DT)
    v = np.full_like(t, -70.0)
    for start in (10.0, 30.0):
        up = (t >= start) & (t < start + 2)
        down = (t >= start + 2) & (t < start + 4)
        v[up] = -70 + 50 * (t[up] - start)
        v[down] = 30 - 50 * (t[down] - start - 2)
    return t, v


def test_features_of_a_known_trace():
    _, v = triangle_spikes()
    v = jnp.asarray(v)
    assert int(F.spike_count(v)) == 2
    np.testing.assert_allclose(F.spike_times(v, DT, 3), [11.0, 31.0, 50.0], atol=1e-9)  # third: missing
    np.testing.assert_allclose(F.isi(v, DT, 2), [20.0], atol=1e-9)
    np.testing.assert_allclose(F.first_spike_latency(v, DT, 5.0), 6.0, atol=1e-9)
    np.testing.assert_allclose(F.ap_peak(v, DT, 2), [30.0, 30.0], atol=1e-9)
    np.testing.assert_allclose(F.ap_width(v, DT, 2), [2.0, 2.0], atol=1e-9)  # -20 mV at +1 ms and +3 ms
    np.testing.assert_allclose(F.ahp_depth(v, DT, 1), [-70.0], atol=1e-9)
    np.testing.assert_allclose(F.window_mean(v, DT, (0.0, 9.0)), -70.0)
    assert F.feature_distance({"a": jnp.array([1.0, 2.0])}, {"a": jnp.array([1.0, 4.0])}, {"a": 2.0}) == 0.5


@pytest.fixture(scope="module")
def cell():
    return nx.Cell(nx.load("data/swc/ball_and_stick.swc"), 3).insert(nx.HH())


def test_spike_time_gradient_equals_finite_differences(cell):
    def second_spike(amp):
        v = nx.simulate(cell, [nx.IClamp("soma[0](0.5)", 5.0, 30.0, amp)], ["soma[0](0.5)"], tstop=40.0).v[0]
        return F.spike_times(v, DT, 2)[1]

    grad = jax.grad(second_spike)(0.3)
    h = 1e-6
    assert np.isclose(grad, (second_spike(0.3 + h) - second_spike(0.3 - h)) / (2 * h), rtol=1e-5)
    assert grad < 0  # more current, earlier spike


def test_passive_features_of_a_hyperpolarising_step(cell):
    v = nx.simulate(cell, [nx.IClamp("soma[0](0.5)", 5.0, 30.0, -0.2)], ["soma[0](0.5)"], tstop=40.0).v[0]
    r = F.input_resistance(v, DT, -0.2, (0.0, 4.9), (30.0, 34.9))
    assert 50 < float(r) < 1000  # MOhm, positive
    s = F.sag(v, DT, (0.0, 4.9), (5.0, 35.0), (30.0, 34.9))
    assert 0.0 <= float(s) < 0.5


def test_noise_level_reads_white_noise_through_spikes():
    t = np.arange(0.0, 200.0, DT)
    v = -65.0 + 5.0 * np.sin(t / 30.0)
    for k in range(10):  # ten 100 mV spikes, 1 ms wide
        v = v + 100.0 * np.exp(-0.5 * ((t - 15.0 - 18.0 * k) / 0.25) ** 2)
    noisy = v + np.random.default_rng(0).normal(0.0, 0.5, t.size)
    assert abs(float(F.noise_level(noisy)) / 0.5 - 1) < 0.05
    assert float(F.noise_level(v)) < 1e-3
    both = np.asarray(F.noise_level(np.stack([v, noisy])))
    np.testing.assert_allclose(both, [F.noise_level(v), F.noise_level(noisy)])
