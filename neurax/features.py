"""Differentiable features of voltage traces: spike times, intervals, action potential shape, passive responses.

Each function takes traces ``v`` (mV, time last, batch axes allowed in front) sampled every ``dt`` ms from
``t = 0`` and returns arrays that JAX can differentiate with respect to ``v``:

* spike times are the **interpolated** threshold crossings: which samples cross is decided by comparison
  (not differentiated), and the time within the step, ``t_{k-1} + dt (thr - v_{k-1}) / (v_k - v_{k-1})``, is a
  smooth function of the two voltages. A parameter that moves a spike therefore has a gradient, where a soft
  count or a trace MSE between misaligned spikes gives none or the wrong sign;
* :func:`spike_times`, :func:`isi`, :func:`first_spike_latency`, :func:`ap_peak`, :func:`ap_width` (time above
  threshold between the interpolated up- and down-crossings) and :func:`ahp_depth` (the lowest voltage after
  each spike, before the next) work on the first ``n`` spikes; missing spikes are filled with the end of the
  trace (times) or the threshold (voltages), and :func:`spike_count` says how many there were;
* :func:`window_mean` (resting potential, steady state), :func:`input_resistance` (MOhm from a current step,
  nA) and :func:`sag` (of a hyperpolarising step, 0 none to 1);
* :func:`noise_level`: the standard deviation of white noise on a recording, from its second differences.

:func:`feature_distance` compares two dicts of features, each scaled by a typical size, into one loss.
"""

from __future__ import annotations

from neurax._jax import jax, jnp

__all__ = ["spike_times", "spike_count", "isi", "first_spike_latency", "ap_peak", "ap_width", "ahp_depth",
           "window_mean", "input_resistance", "sag", "noise_level", "feature_distance"]


def _crossings(v, threshold: float, n: int, up: bool = True):
    """Indices ``k`` (the sample after each crossing) of the first ``n`` upward (or downward) crossings along the
    last axis, and whether each exists. Indices are integers (no gradient).
    """
    v = jnp.asarray(v)
    if up:
        hit = (v[..., 1:] > threshold) & (v[..., :-1] <= threshold)
    else:
        hit = (v[..., 1:] <= threshold) & (v[..., :-1] > threshold)
    flat = hit.reshape(-1, hit.shape[-1])
    idx = jax.vmap(lambda h: jnp.nonzero(h, size=n, fill_value=h.shape[0] - 1)[0])(flat)
    count = flat.sum(-1)
    valid = jnp.arange(n)[None, :] < count[:, None]
    shape = hit.shape[:-1] + (n,)
    return (idx + 1).reshape(shape), valid.reshape(shape), count.reshape(hit.shape[:-1])


def _interpolated(v, k, threshold: float, dt: float):
    """Where between samples ``k - 1`` and ``k`` the trace crosses ``threshold`` (ms)."""
    v = jnp.asarray(v)
    after = jnp.take_along_axis(v, k, axis=-1)
    before = jnp.take_along_axis(v, k - 1, axis=-1)
    step = after - before
    frac = (threshold - before) / jnp.where(step == 0, 1.0, step)
    return ((k - 1) + jnp.clip(frac, 0.0, 1.0)) * dt


def spike_times(v, dt: float, n: int, threshold: float = -20.0):
    """The first ``n`` upward threshold crossings (ms), interpolated; missing ones are the end of the trace."""
    k, valid, _ = _crossings(v, threshold, n)
    end = (jnp.asarray(v).shape[-1] - 1) * dt
    return jnp.where(valid, _interpolated(v, k, threshold, dt), end)


def spike_count(v, threshold: float = -20.0):
    """The number of upward threshold crossings (an integer; no gradient: see ``neurax.fit.soft_spike_count``)."""
    return _crossings(v, threshold, 1)[2]


def isi(v, dt: float, n: int, threshold: float = -20.0):
    """The first ``n - 1`` inter-spike intervals (ms) of the first ``n`` spikes."""
    times = spike_times(v, dt, n, threshold)
    return jnp.diff(times, axis=-1)


def first_spike_latency(v, dt: float, onset: float, threshold: float = -20.0):
    """Time (ms) from ``onset`` (e.g. a current step's start) to the first spike."""
    return spike_times(v, dt, 1, threshold)[..., 0] - onset


def _window_after(v, k, width: int):
    """The ``width`` samples from index ``k`` on, per spike: shape ``(..., n, width)`` (clipped at the end)."""
    v = jnp.asarray(v)
    offsets = jnp.arange(width)
    idx = jnp.minimum(k[..., None] + offsets, v.shape[-1] - 1)
    flat_idx = idx.reshape(idx.shape[:-2] + (-1,))
    return jnp.take_along_axis(v, flat_idx, axis=-1).reshape(idx.shape)


def ap_peak(v, dt: float, n: int, threshold: float = -20.0, window: float = 2.0):
    """Each of the first ``n`` spikes' peak voltage (mV): the highest sample within ``window`` ms after the
    crossing. Missing spikes give the threshold.
    """
    k, valid, _ = _crossings(v, threshold, n)
    peak = _window_after(v, k, max(1, int(round(window / dt)))).max(-1)
    return jnp.where(valid, peak, threshold)


def ap_width(v, dt: float, n: int, threshold: float = -20.0, window: float = 5.0):
    """Each of the first ``n`` spikes' width at ``threshold`` (ms): from the interpolated upward crossing to the
    next interpolated downward one (within ``window`` ms). Missing spikes give 0.
    """
    up, valid, _ = _crossings(v, threshold, n)
    width = max(2, int(round(window / dt)))
    segment = _window_after(v, up, width)  # (..., n, width)
    below = segment <= threshold
    first_below = jnp.argmax(below, axis=-1)  # offset of the first sample back under threshold
    down = jnp.minimum(up + jnp.maximum(first_below, 1), jnp.asarray(v).shape[-1] - 1)
    t_up = _interpolated(v, up, threshold, dt)
    v = jnp.asarray(v)
    after = jnp.take_along_axis(v, down, axis=-1)
    before = jnp.take_along_axis(v, down - 1, axis=-1)
    step = after - before
    frac = (threshold - before) / jnp.where(step == 0, -1.0, step)
    t_down = ((down - 1) + jnp.clip(frac, 0.0, 1.0)) * dt
    return jnp.where(valid & jnp.any(below, axis=-1), t_down - t_up, 0.0)


def ahp_depth(v, dt: float, n: int, threshold: float = -20.0, window: float = 10.0):
    """The lowest voltage (mV) within ``window`` ms after each of the first ``n`` spikes (the
    after-hyperpolarisation). Missing spikes give the threshold.
    """
    k, valid, _ = _crossings(v, threshold, n)
    trough = _window_after(v, k, max(1, int(round(window / dt)))).min(-1)
    return jnp.where(valid, trough, threshold)


def window_mean(v, dt: float, window: tuple[float, float]):
    """The mean voltage (mV) over ``window`` = ``(start, stop)`` ms: a resting potential or a steady state."""
    a, b = (int(round(x / dt)) for x in window)
    return jnp.asarray(v)[..., a:b + 1].mean(-1)


def input_resistance(v, dt: float, amp: float, rest: tuple[float, float], steady: tuple[float, float]):
    """Input resistance (MOhm): the steady-state change of a current step of ``amp`` nA over its amplitude."""
    return (window_mean(v, dt, steady) - window_mean(v, dt, rest)) / amp


def sag(v, dt: float, rest: tuple[float, float], step: tuple[float, float], steady: tuple[float, float],
        sharpness: float = 5.0):
    """Sag of a hyperpolarising step: ``(v_ss - v_min) / (v_rest - v_min)``, with ``v_min`` a smooth minimum
    (``sharpness`` per mV) over ``step`` and ``v_ss`` the mean over ``steady`` (both ms windows).
    """
    a, b = (int(round(x / dt)) for x in step)
    segment = jnp.asarray(v)[..., a:b + 1]
    v_min = -jax.nn.logsumexp(-sharpness * segment, axis=-1) / sharpness
    v_rest, v_ss = window_mean(v, dt, rest), window_mean(v, dt, steady)
    return (v_ss - v_min) / (v_rest - v_min)


def noise_level(v):
    """The standard deviation (mV) of white noise on traces ``v`` (time last; one value per trace).

    A membrane voltage sampled every 0.025-0.1 ms is smooth: its second difference ``v[k+1] - 2 v[k] + v[k-1]``
    is tiny except in the few samples of each spike, while white noise of standard deviation s gives second
    differences of standard deviation ``s * sqrt(6)``. The median absolute second difference (robust to the
    spikes) scaled for a normal distribution gives s. A noise-free simulation gives nearly 0 (its own
    curvature); use it on recordings sampled finely enough that the trace is smooth between spikes.
    """
    v = jnp.asarray(v)
    d2 = v[..., 2:] - 2.0 * v[..., 1:-1] + v[..., :-2]
    mad = jnp.median(jnp.abs(d2 - jnp.median(d2, axis=-1, keepdims=True)), axis=-1)
    return 1.482602218505602 * mad / jnp.sqrt(6.0)


def feature_distance(features: dict, target: dict, scales: dict | None = None):
    """``sum over features of mean(((f - f_target) / scale)^2)``: features in their own units, each divided by
    a typical size (``scales``, default 1), so that a millisecond and a millivolt weigh what the caller says.
    """
    total = 0.0
    for name, value in features.items():
        scale = 1.0 if scales is None else scales.get(name, 1.0)
        diff = (jnp.asarray(value) - jnp.asarray(target[name])) / scale
        total = total + jnp.mean(diff ** 2)
    return total
