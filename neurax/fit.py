"""Fitting: losses of voltage traces and an optimisation loop (optax) with progress and resume.

A fit is a loss of the trainable parameters (see :mod:`neurax.params`) minimised by gradient descent::

    tr = cell.trainable({"hh.gnabar": "somatic", "hh.gkbar": "somatic", "Ra": "all"})
    def loss(p):
        v = nx.simulate(tr.apply(p), stimuli, record, tstop=60.0).v
        return nx.fit.mse(v, target)
    result = nx.fit.fit(loss, tr.init(), optimizer=optax.adam(0.05), steps=200, checkpoint="fit.pkl")
    tr.values(result.params)

Losses: :func:`mse` (trace mean squared error), :func:`soft_spike_count` (a differentiable spike count)
and :func:`spike_count_loss`, and :func:`feature_loss` (mean, standard deviation and resting level of
traces). Units: mV, ms.
"""

from __future__ import annotations

import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurax._jax import jax, jnp
from neurax.errors import NeuraxError

__all__ = ["mse", "smooth", "soft_spike_count", "spike_count_loss", "feature_loss", "fit", "FitResult"]


def mse(v, target, weights=None):
    """Mean squared difference (mV^2) between traces ``v`` and ``target`` (same shape), optionally weighted."""
    diff = (jnp.asarray(v) - jnp.asarray(target)) ** 2
    if weights is not None:
        diff = diff * weights
    return diff.mean()


def smooth(v, sigma: float, dt: float):
    """Traces blurred with a Gaussian of width ``sigma`` ms along the last axis (sample step ``dt`` ms).

    Comparing smoothed traces widens the basin of a spike-timing mismatch; fitting with a decreasing
    ``sigma`` and ending with plain :func:`mse` avoids the local minima of raw spike trains.
    """
    half = int(np.ceil(4 * sigma / dt))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * dt / sigma) ** 2)
    kernel = jnp.asarray(kernel / kernel.sum())
    v = jnp.asarray(v)
    flat = v.reshape(-1, v.shape[-1])
    padded = jnp.pad(flat, ((0, 0), (half, half)), mode="edge")
    out = jax.vmap(lambda x: jnp.convolve(x, kernel, mode="valid"))(padded)
    return out.reshape(v.shape)


def soft_spike_count(v, threshold: float = -20.0, sharpness: float = 1.0):
    """A differentiable count of upward threshold crossings along the last axis.

    Each step contributes ``sigmoid(s (v[k] - thr)) * sigmoid(s (thr - v[k-1]))``; as ``sharpness``
    (1/mV) grows this tends to the exact count.
    """
    v = jnp.asarray(v)
    up = jax.nn.sigmoid(sharpness * (v[..., 1:] - threshold))
    below = jax.nn.sigmoid(sharpness * (threshold - v[..., :-1]))
    return (up * below).sum(axis=-1)


def spike_count_loss(v, target_counts, threshold: float = -20.0, sharpness: float = 1.0):
    """Squared difference between soft spike counts of ``v`` and target counts."""
    return jnp.mean((soft_spike_count(v, threshold, sharpness) - jnp.asarray(target_counts)) ** 2)


def feature_loss(v, target, t=None, window: tuple[float, float] | None = None):
    """Squared differences of trace features: mean, standard deviation, and the first sample (rest).

    Args:
        v: traces (..., time).
        target: target traces of the same shape.
        t: sample times (ms), needed with ``window``.
        window: only compare features within ``(start, stop)`` ms.
    """
    v, target = jnp.asarray(v), jnp.asarray(target)
    if window is not None:
        mask = (np.asarray(t) >= window[0]) & (np.asarray(t) <= window[1])
        v, target = v[..., mask], target[..., mask]

    def features(x):
        return jnp.stack([x.mean(-1), x.std(-1), x[..., 0]])

    return jnp.mean((features(v) - features(target)) ** 2)


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        params: the best parameters found (lowest loss).
        losses: loss at every step taken (including earlier runs when resumed).
        step: number of steps taken in total.
        best_loss: the lowest loss seen.
    """

    params: dict
    losses: list[float] = field(default_factory=list)
    step: int = 0
    best_loss: float = float("inf")


def fit(loss: Callable, params, *, optimizer=None, steps: int = 100, tol: float | None = None,
        progress: bool = True, checkpoint: str | Path | None = None, save_every: int = 10,
        resume: bool = True) -> FitResult:
    """Minimise ``loss(params)`` with an optax optimiser and exact gradients.

    Args:
        loss: a function of the parameter pytree returning a scalar (traceable by JAX).
        params: starting parameters (e.g. ``Trainable.init()``).
        optimizer: an optax ``GradientTransformation`` (default ``optax.adam(0.05)``).
        steps: the total number of steps to reach (a resumed fit continues from where it stopped).
        tol: stop once the loss falls below this value.
        progress: print one progress line per step to stderr.
        checkpoint: a file to save the state to every ``save_every`` steps and at the end; with
            ``resume`` (the default) an existing checkpoint is loaded and the fit continues from it.
        save_every: steps between checkpoints.
        resume: continue from ``checkpoint`` if it exists.

    Returns:
        A :class:`FitResult`.
    """
    try:
        import optax
    except ImportError:  # pragma: no cover - optax missing
        raise NeuraxError("neurax.fit needs optax: pip install 'neurax[fit]'") from None
    optimizer = optimizer or optax.adam(0.05)
    state = optimizer.init(params)
    result = FitResult(params=params)
    if checkpoint is not None and resume and Path(checkpoint).exists():
        with open(checkpoint, "rb") as handle:
            saved = pickle.load(handle)
        params = jax.tree_util.tree_map(jnp.asarray, saved["params"])
        state = jax.tree_util.tree_map(lambda x: jnp.asarray(x) if isinstance(x, np.ndarray) else x, saved["state"])
        result = FitResult(params=jax.tree_util.tree_map(jnp.asarray, saved["best"]), losses=list(saved["losses"]),
                           step=int(saved["step"]), best_loss=float(saved["best_loss"]))
    # Line-search optimisers (optax.lbfgs) take the value, the gradient and the loss function too, and keep the
    # value and gradient at the point they accept: reused, that saves one gradient per step.
    extra_args = isinstance(optimizer, optax.GradientTransformationExtraArgs)
    if extra_args and optax.tree.get(state, "value") is not None:
        from_state = optax.value_and_grad_from_state(loss)
        value_and_grad = jax.jit(lambda params, state: from_state(params, state=state))
    else:
        plain_value_and_grad = jax.jit(jax.value_and_grad(loss))
        value_and_grad = lambda params, state: plain_value_and_grad(params)  # noqa: E731

    @jax.jit
    def update(params, state, value, grads):
        if extra_args:
            updates, state = optimizer.update(grads, state, params, value=value, grad=grads, value_fn=loss)
        else:
            updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    start = time.perf_counter()
    first = result.step
    while result.step < steps:
        value, grads = value_and_grad(params, state)
        value = float(value)
        if not np.isfinite(value):
            raise NeuraxError(f"the loss became {value} at step {result.step}; lower the learning rate or bound "
                              "the parameters (neurax.Bounded)")
        if value < result.best_loss:
            result.best_loss, result.params = value, params
        result.losses.append(value)
        result.step += 1
        if progress:
            rate = (time.perf_counter() - start) / (result.step - first)
            print(f"\r  fit: step {result.step}/{steps}  loss {value:.6g}  best {result.best_loss:.6g}  "
                  f"({rate:.2f} s/step)", end="", file=sys.stderr, flush=True)
        if tol is not None and value < tol:
            break
        params, state = update(params, state, value, grads)
        if checkpoint is not None and result.step % save_every == 0:
            _save(checkpoint, params, state, result)
    if progress:
        print(file=sys.stderr)
    if checkpoint is not None:
        _save(checkpoint, params, state, result)
    return result


def _save(path, params, state, result: FitResult) -> None:
    to_numpy = lambda tree: jax.tree_util.tree_map(  # noqa: E731
        lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, tree)
    data = {"params": to_numpy(params), "state": to_numpy(state), "best": to_numpy(result.params),
            "losses": result.losses, "step": result.step, "best_loss": result.best_loss}
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(data, handle)
    tmp.replace(path)
