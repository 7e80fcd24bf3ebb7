"""The small dense solves of :mod:`neurax.nmodl.solvers`: values and derivatives (the derivative is taken from the
solution, ``dx = A^-1 (db - dA x)``, not through the elimination; these tests hold it to the linear algebra)."""

from __future__ import annotations

import numpy as np
import pytest

from neurax._jax import jax, jnp, lax  # float64 on
from neurax.nmodl.solvers import solve_small

N = 4  # instances


def _system(entries, rhs):
    """A 3x3 system per instance with constant entries (a zero below the diagonal, a 2 above it) and a constant
    right-hand side entry, the rest from ``entries`` (7, N) and ``rhs`` (2, N)."""
    e = list(entries)
    matrix = [[e[0], 2.0, e[1]],
              [e[2], e[3], e[4]],
              [0.0, e[5], e[6]]]
    return matrix, [rhs[0], 1.5, rhs[1]]


def _solved(entries, rhs):
    return jnp.stack(solve_small(*_system(entries, rhs)))


def _reference(entries, rhs):
    matrix, b = _system(entries, rhs)
    a = jnp.stack([jnp.stack([jnp.broadcast_to(jnp.asarray(x), (N,)) for x in row]) for row in matrix])
    b = jnp.stack([jnp.broadcast_to(jnp.asarray(x), (N,)) for x in b])
    return jnp.linalg.solve(jnp.moveaxis(a, -1, 0), jnp.moveaxis(b, -1, 0)[..., None])[..., 0].T


@pytest.fixture
def inputs():
    rng = np.random.default_rng(3)
    entries = jnp.asarray(rng.uniform(-1.0, 1.0, (7, N)) + np.array([4.0, 0, 0, 5.0, 0, 0, 6.0])[:, None])
    return entries, jnp.asarray(rng.uniform(-1.0, 1.0, (2, N)))


def test_values_are_the_solution(inputs):
    np.testing.assert_allclose(_solved(*inputs), _reference(*inputs), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("jacobian", [jax.jacfwd, jax.jacrev], ids=["forward", "reverse"])
def test_derivatives_are_those_of_the_solution(inputs, jacobian):
    for arg in (0, 1):
        got = jacobian(_solved, argnums=arg)(*inputs)
        want = jacobian(_reference, argnums=arg)(*inputs)
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)


def test_vmap_and_float32(inputs):
    entries, rhs = inputs
    batched = jax.vmap(_solved, in_axes=(None, 0))(entries, jnp.stack([rhs, 2 * rhs]))
    np.testing.assert_allclose(batched[1], _reference(entries, 2 * rhs), rtol=1e-13, atol=1e-15)
    single = _solved(entries.astype(jnp.float32), rhs.astype(jnp.float32))
    assert single.dtype == jnp.float32
    np.testing.assert_allclose(single, _reference(entries, rhs), rtol=1e-5)


def test_reverse_mode_through_a_root_whose_tangent_solve_is_the_small_solve():
    """As the Newton iteration of a nonlinear block uses it: ``lax.custom_root`` transposes the tangent solve."""
    def root(c):
        def f(x):
            return [x[0] ** 3 + x[1] - c, x[0] - x[1] ** 3]

        def jac(x):
            return [[3 * x[0] ** 2, jnp.ones_like(x[0])], [jnp.ones_like(x[0]), -3 * x[1] ** 2]]

        def solve(_, x0):
            def body(_, x):
                return [u - d for u, d in zip(x, solve_small(jac(x), f(x)), strict=True)]
            return lax.fori_loop(0, 40, body, x0)

        def tangent_solve(g, y):  # the matrix from the linearised residual, column by column, as _newton does
            columns = [g([jnp.ones_like(c) if k == j else jnp.zeros_like(c) for k in range(2)]) for j in range(2)]
            return solve_small([[columns[j][i] for j in range(2)] for i in range(2)], y)

        return lax.custom_root(f, [jnp.ones_like(c), jnp.ones_like(c)], solve, tangent_solve)

    c = jnp.asarray([2.0, 3.0])
    loss = lambda c: jnp.sum(root(c)[0])  # noqa: E731
    g = jax.grad(loss)(c)
    h = 1e-6
    fd = (jax.vmap(loss)(jnp.stack([c + h * e for e in jnp.eye(2)]))
          - jax.vmap(loss)(jnp.stack([c - h * e for e in jnp.eye(2)]))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
