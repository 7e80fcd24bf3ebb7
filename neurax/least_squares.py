"""Levenberg-Marquardt for trace fits: many starts at once, Jacobians from one vmapped batch of simulations.

A fit of recorded traces is a least-squares problem: residuals ``r(p)`` (model minus target, one per recorded
sample) whose sum of squares is the loss. Gauss-Newton steps, which use the Jacobian ``J = dr/dp``, converge
quadratically where the residual vanishes at the solution (noise-free targets), and take an ill-conditioned
problem's scales into account. First-order methods (Adam, or L-BFGS on the loss) need hundreds of steps there to
bring the stiffest parameters within 1%.

``J`` has one row per sample (10^4 to 10^5) and one column per parameter (a few to a few tens). Reverse mode
would need one backward pass per row. Forward differences need ``P + 1`` simulations, run here as one
``jax.vmap`` batch, one compiled function, at the cost of two to three gradients for ``P`` near 14 on a CPU.
Differences are taken in the trainable's unconstrained coordinates (log or bounded scales), with a step of
:data:`STEP` (float64; the simulations must be float64 for such a step to resolve).

The members of a population (starts) are independent fits: each keeps its own damping ``lambda``, accepts a
step only when it lowers its loss (Nielsen's update of ``lambda`` from the ratio of actual to predicted
decrease), and stops once it has converged. Each step carries geodesic acceleration (Transtrum and Sethna,
2012): the residuals' second derivative along the step, from one more simulation, bends it along the curved,
narrow valleys that fits of neuron models have; without it, steps there shrink to a crawl (measured on the
Allen hh problem of the fitting suite, from one point 54% off: 30 iterations without it ended 23% off, 15
with it 11% off). Members far behind the best after ``prune_after`` iterations stop early, so the budget goes
to the promising ones. The active members' trial points run as one vmapped batch (padded to the population's
or a Jacobian's size, so that only those two batch sizes compile).

Example::

    def residuals(p):
        v = nx.simulate(tr.apply(p), stimuli, record, tstop=200.0).v
        return (v - target).ravel()
    starts = nx.fit.sample_starts(tr, 8, spread=0.5)
    result = nx.fit.least_squares(residuals, starts, steps=30)
    tr.values(result.params), result.best_loss           # loss: the sum of squared residuals
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from neurax._jax import jax, jnp
from neurax.errors import NeuraxError

__all__ = ["least_squares", "jacobian", "identifiability", "STEP"]

#: Forward-difference step in the unconstrained coordinates (float64: truncation and rounding errors of the
#: Jacobian both near 1e-7 relative, far below what Gauss-Newton steps need).
STEP = 1e-7

#: The fraction of a step at which geodesic acceleration samples the residuals' second derivative.
CURVATURE_STEP = 0.1


def least_squares(residuals: Callable, starts: dict, *, steps: int = 30, damping: float = 1e-3,
                  ftol: float = 1e-10, xtol: float = 1e-9, acceleration: bool = True, prune_after: int | None = None,
                  prune_factor: float = 10.0, checkpoint: str | Path | None = None, progress: bool = True):
    """Minimise ``sum(residuals(p) ** 2)`` from every start with Levenberg-Marquardt steps.

    Args:
        residuals: a function of one member's parameters (unconstrained pytree) returning a 1-D array
            (traceable; its units are the loss's square root, e.g. mV).
        starts: unconstrained starting points with a leading axis of members (:func:`neurax.fit.sample_starts`).
        steps: iterations at most (each computes the Jacobian of every member that moved, one batch of
            ``P + 1`` simulations per member, and tries one step for every active member).
        damping: the initial ``lambda`` (relative to the diagonal of ``J^T J``).
        ftol: a member has converged when an accepted step lowers its loss by less than this fraction.
        xtol: ... or moves no parameter by more than this (unconstrained units).
        acceleration: add geodesic acceleration to each step (one more batch of simulations per iteration):
            a second-order correction that follows curved valleys, where plain steps shrink to a crawl.
        prune_after: after this many iterations, members whose loss is more than ``prune_factor`` times the
            best stop (``None``: never).
        prune_factor: see ``prune_after``.
        checkpoint: a ``.npz`` file written after every iteration; a run with the same starts' shape resumes
            from it.
        progress: one progress line per iteration on stderr.

    Returns:
        A :class:`neurax.fit.PopulationResult`: the best member's parameters, every member's best point and
        loss, the loss history ``(iterations, members)``, and which members converged (stopped by ``ftol`` or
        ``xtol``, not by the iteration limit, pruning or a damping that grew without bound: a stall).
    """
    from jax.flatten_util import ravel_pytree

    from neurax.fit import PopulationResult

    leaves = jax.tree_util.tree_leaves(starts)
    if not leaves:
        raise NeuraxError("least_squares needs at least one parameter")
    members = int(leaves[0].shape[0])
    first = jax.tree_util.tree_map(lambda x: x[0], starts)
    _, unravel = ravel_pytree(first)
    x = np.stack([np.asarray(ravel_pytree(jax.tree_util.tree_map(lambda a, k=k: a[k], starts))[0], float)
                  for k in range(members)])
    size = x.shape[1]
    flat = jax.vmap(lambda u: jnp.ravel(residuals(unravel(u))))
    evaluate = jax.jit(flat)
    points = np.vstack([np.zeros(size), STEP * np.eye(size)])
    shapes = sorted({members, size + 1})  # batch sizes compiled: the population and a Jacobian

    def evaluate_rows(rows: np.ndarray, which: np.ndarray) -> np.ndarray:
        """The residuals of ``rows[which]`` (the active members only), padded to a compiled batch size."""
        out = np.full((rows.shape[0], r.shape[1]), np.nan)
        for begin in range(0, which.size, shapes[-1]):
            chunk = which[begin:begin + shapes[-1]]
            batch = next(s for s in shapes if s >= chunk.size)
            padded = np.concatenate([rows[chunk], np.repeat(rows[chunk[:1]], batch - chunk.size, axis=0)])
            out[chunk] = np.asarray(evaluate(jnp.asarray(padded)), float)[:chunk.size]
        return out

    lam = np.full(members, float(damping))
    nu = np.full(members, 2.0)
    active = np.ones(members, bool)
    converged = np.zeros(members, bool)
    history: list[np.ndarray] = []
    start_iteration = 0
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists():
        with np.load(path) as saved:
            if saved["x"].shape == x.shape:
                x, lam, nu = saved["x"].copy(), saved["lam"].copy(), saved["nu"].copy()
                active = saved["active"].astype(bool)
                converged = saved["converged"].astype(bool) if "converged" in saved else converged
                history = list(saved["history"])
                start_iteration = len(history)
    r = np.array(evaluate(jnp.asarray(x)), float)
    evaluations = members
    if r.ndim != 2 or r.shape[1] == 0:
        raise NeuraxError("least_squares: residuals must return a non-empty 1-D array")
    cost = np.where(np.all(np.isfinite(r), axis=1), np.sum(r * r, axis=1), np.inf)
    if not np.any(np.isfinite(cost)):
        raise NeuraxError("least_squares: the residuals are not finite at any start; check the starts and bounds")
    active &= np.isfinite(cost)
    jac: list[np.ndarray | None] = [None] * members
    clock = time.perf_counter()
    iteration = start_iteration
    for iteration in range(start_iteration, steps):
        if not active.any():
            break
        trial = x.copy()
        predicted = np.zeros(members)
        steps_taken: dict[int, tuple] = {}
        for m in np.flatnonzero(active):
            if jac[m] is None:
                batch = np.asarray(evaluate(jnp.asarray(x[m][None, :] + points)), float)
                evaluations += size + 1
                r[m] = batch[0]
                jac[m] = (batch[1:] - batch[0]).T / STEP
            a = jac[m].T @ jac[m]
            g = jac[m].T @ r[m]
            diag = np.maximum(np.diag(a), 1e-12 * max(np.max(np.diag(a)), 1e-300))
            damped = a + lam[m] * np.diag(diag)
            delta = _solve(damped, -g)
            steps_taken[m] = (damped, delta)
            trial[m] = x[m] + delta
            predicted[m] = -(2 * delta @ g + delta @ a @ delta)
        accelerated = np.zeros(members, bool)
        if acceleration:
            # geodesic acceleration (Transtrum & Sethna 2012): the residuals' second derivative along the step,
            # from one more batch, bends the step along a curved valley of the loss
            probe = x.copy()
            for m, (_, delta) in steps_taken.items():
                probe[m] = x[m] + CURVATURE_STEP * delta
            r_probe = evaluate_rows(probe, np.flatnonzero(active))  # every active member took a step
            evaluations += int(active.sum())
            for m, (damped, delta) in steps_taken.items():
                second = 2.0 / CURVATURE_STEP * ((r_probe[m] - r[m]) / CURVATURE_STEP - jac[m] @ delta)
                if not np.all(np.isfinite(second)):
                    continue
                bend = _solve(damped, -(jac[m].T @ second))
                if 2.0 * np.linalg.norm(bend) <= 0.75 * np.linalg.norm(delta):
                    trial[m] = x[m] + delta + 0.5 * bend
                    accelerated[m] = True
        r_trial = evaluate_rows(trial, np.flatnonzero(active))
        evaluations += int(active.sum())
        for m in np.flatnonzero(active):
            new = float(np.sum(r_trial[m] ** 2)) if np.all(np.isfinite(r_trial[m])) else np.inf
            step = trial[m] - x[m]
            if new < cost[m]:
                rho = (cost[m] - new) / max(predicted[m], 1e-300)
                lam[m] *= max(1.0 / 3.0, 1.0 - (2.0 * min(rho, 1.0) - 1.0) ** 3)
                nu[m] = 2.0
                relative = (cost[m] - new) / cost[m] if cost[m] > 0 else 0.0
                x[m], r[m], cost[m], jac[m] = trial[m], r_trial[m], new, None
                if relative < ftol or np.max(np.abs(step)) < xtol or new == 0.0:
                    active[m], converged[m] = False, True
            else:
                lam[m] *= nu[m]
                nu[m] *= 2.0
                if lam[m] > 1e16 or np.max(np.abs(step)) < xtol * 1e-3:
                    active[m] = False
        history.append(cost.copy())
        if prune_after is not None and iteration + 1 == prune_after and members > 1:
            active &= cost <= prune_factor * np.min(cost)
        if path is not None:
            tmp = path.with_name(path.name + ".tmp.npz")
            np.savez(tmp, x=x, lam=lam, nu=nu, active=active, converged=converged, history=np.asarray(history))
            tmp.replace(path)
        if progress:
            rate = (time.perf_counter() - clock) / (iteration + 1 - start_iteration)
            print(f"\r  least squares: iteration {iteration + 1}/{steps}  best {np.min(cost):.6g}  median "
                  f"{np.median(cost):.6g}  ({int(active.sum())}/{members} active, {rate:.2f} s/iteration)",
                  end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    stacked = jax.vmap(unravel)(jnp.asarray(x))
    k = int(np.argmin(cost))
    return PopulationResult(params=unravel(jnp.asarray(x[k])), members=stacked, best_losses=cost.copy(),
                            history=np.asarray(history).reshape(-1, members), evaluations=evaluations,
                            converged=converged.copy())


def _solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``matrix^-1 rhs``, by least squares where the matrix is singular."""
    try:
        return np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(matrix, rhs, rcond=None)[0]


def jacobian(residuals: Callable, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """The residuals at ``params`` (one member, unconstrained) and their Jacobian ``(samples, P)`` with
    respect to the flattened unconstrained parameters, by forward differences run as one vmapped batch.
    """
    from jax.flatten_util import ravel_pytree

    x, unravel = ravel_pytree(params)
    size = x.size
    points = x[None, :] + jnp.asarray(np.vstack([np.zeros(size), STEP * np.eye(size)]))
    batch = np.asarray(jax.jit(jax.vmap(lambda u: jnp.ravel(residuals(unravel(u)))))(points), float)
    return batch[0], (batch[1:] - batch[0]).T / STEP


def identifiability(residuals: Callable, params: dict, trainable, *, noise: float = 0.1,
                    samples: int | None = None) -> dict:
    """How well the protocols behind ``residuals`` determine each parameter near ``params``.

    From the Gauss-Newton Hessian ``J^T J`` (the Fisher information of traces with Gaussian noise), each
    parameter's standard deviation with every other parameter free: what a fit to recordings with noise of
    ``noise`` mV would leave uncertain. Values near or above 0.1 (10%) mean the protocols do not determine
    that parameter: add a recording site or a protocol that it shapes, or fix it.

    Args:
        residuals: as for :func:`least_squares`, scaled so that ``sum(r ** 2)`` is the mean squared error
            over ``samples`` samples (divide model minus target by ``sqrt(samples)``).
        params: one member's unconstrained parameters, e.g. a fit's result.
        trainable: the :class:`~neurax.params.Trainable` they belong to.
        noise: the recording noise (mV) to judge by.
        samples: how many samples the residuals average over (default: their number).

    Returns:
        ``{key: std}`` per trainable key (an array of the key's shape): relative for positive quantities
        (0.01 = 1%), in the parameter's unit (mV) for the others.
    """
    from jax.flatten_util import ravel_pytree

    from neurax.fit import relative_scale

    r, jac = jacobian(residuals, params)
    n = int(samples or r.size)
    x, unravel = ravel_pytree(params)
    # d(value)/d(u) per flattened parameter, to express the covariance in values (or log values)
    values = trainable.values(params)
    flat_values, unravel_values = ravel_pytree(values)
    scale = np.asarray(jax.jacfwd(lambda u: ravel_pytree(trainable.values(unravel(u)))[0])(x), float)
    relative = np.asarray(ravel_pytree({k: jnp.full(jnp.shape(v), relative_scale(trainable.transforms[k]))
                                        for k, v in values.items()})[0], bool)
    flat_values = np.asarray(flat_values, float)
    scale = np.where(relative[:, None], scale / flat_values[:, None], scale)
    h = jac.T @ jac * n / noise ** 2                     # information about u
    cov = scale @ np.linalg.pinv(h, rcond=1e-15, hermitian=True) @ scale.T
    std = np.sqrt(np.maximum(np.diag(cov), 0.0))
    std = np.where(np.diag(h) > 0, std, np.inf)
    return {key: np.asarray(value) for key, value in unravel_values(jnp.asarray(std)).items()}
