"""The Hines solve: dense-solve agreement (random and real trees; sequential, lanes, batched), gradients
against finite differences, and compositions with jit, vmap, grad and lax.scan."""

from __future__ import annotations

import numpy as np
import pytest

import neurax as nx
from neurax._jax import jax, jnp, lax
from neurax.solver import TreeStructure, cable_solve, tree_solve
from neurax.solver.hines import LANE_COST_NS, LanePlan
from tests.conftest import shared

METHODS = ("sequential", "lanes")


def random_tree(n: int, n_roots: int, rng: np.random.Generator, chain: float = 0.8) -> np.ndarray:
    """A Hines-ordered parent array: roots first, mostly chains (like sections) with random branches."""
    parent = np.full(n, -1)
    for i in range(n_roots, n):
        parent[i] = i - 1 if rng.random() < chain else rng.integers(0, i)
    return parent


def system(parent: np.ndarray, rng: np.random.Generator, batch: tuple[int, ...] = ()):
    """A diagonally dominant tree system (like a simulation step's); a, b are 0 at the roots."""
    n = parent.size
    child = np.flatnonzero(parent >= 0)
    a = np.zeros(n)
    b = np.zeros(n)
    a[child] = -rng.uniform(0.5, 20.0, child.size)
    b[child] = -rng.uniform(0.5, 20.0, child.size)
    d = np.full(n, 1.0) - b
    np.add.at(d, parent[child], -a[child])
    d = d.reshape((n,) + (1,) * len(batch)) * rng.uniform(1.0, 1.5, (n,) + batch)
    return d, a, b, rng.normal(size=(n,) + batch)


def dense(parent, d, a, b, rhs):
    """numpy's dense solve of the tree matrix, column by column for trailing batch axes."""
    n = parent.size
    d2, rhs2 = d.reshape(n, -1), rhs.reshape(n, -1)
    a2 = np.broadcast_to(a.reshape(n, -1), d2.shape)
    b2 = np.broadcast_to(b.reshape(n, -1), d2.shape)
    x = np.empty_like(rhs2)
    child = np.flatnonzero(parent >= 0)
    for k in range(rhs2.shape[1]):
        matrix = np.diag(d2[:, k])
        matrix[child, parent[child]] = b2[child, k]
        matrix[parent[child], child] = a2[child, k]
        x[:, k] = np.linalg.solve(matrix, rhs2[:, k])
    return x.reshape(rhs.shape)


def relative_error(x, reference):
    return float(np.max(np.abs(np.asarray(x) - reference)) / np.max(np.abs(reference)))


def structure(parent, lanes=None):
    return TreeStructure.from_parents(parent, lanes=lanes)


@pytest.fixture(scope="module")
def real_trees():
    """Compartment trees of real cells (Hines order, roots first)."""
    trees = {"ca1_n120 nseg 16": nx.discretize(nx.load(shared("jaxley/morph_ca1_n120.swc")), 16).parent}
    for name in ("nrn/c91662.swc", "arbor/pyramidal.swc"):
        trees[name] = nx.discretize(nx.load(shared(name)), nx.DLambda(0.1), Ra=100.0).parent
    return {name: np.asarray(parent) for name, parent in trees.items()}


# -- structure -------------------------------------------------------------------------------------------


def test_from_parents_checks_the_order():
    with pytest.raises(ValueError, match="roots"):
        TreeStructure.from_parents([0, -1])
    with pytest.raises(ValueError, match="precede"):
        TreeStructure.from_parents([-1, 2, 0])
    with pytest.raises(ValueError, match="lanes"):
        TreeStructure.from_parents([-1, 0], lanes=7)
    with pytest.raises(ValueError, match="method"):
        tree_solve(TreeStructure.from_parents([-1, 0]), *jnp.ones((4, 2)), method="fast")
    assert TreeStructure.from_parents([-1, -1, 0]).n_roots == 2


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_lanes", [2, 3, 4])
def test_lane_plan_is_a_partition(seed, n_lanes):
    rng = np.random.default_rng(seed)
    parent = random_tree(int(rng.integers(2, 400)), int(rng.integers(1, 4)), rng)
    plan = LanePlan.build(parent, n_lanes)
    n = parent.size
    nodes = np.concatenate([plan.region, plan.slot_node[plan.slot_node < n]])
    np.testing.assert_array_equal(np.sort(nodes), np.arange(n))
    in_region = np.isin(np.arange(n), plan.region)
    assert np.all(in_region[parent[plan.region][parent[plan.region] >= 0]])  # closed under parents
    for k in range(n_lanes):  # a slot's parent is an earlier slot of its lane, or the ghost
        inner = plan.slot_parent[k] < plan.length
        assert np.all(plan.slot_parent[k][inner] < np.arange(plan.length)[inner])
        lane_nodes = plan.slot_node[k][:-1][inner]
        np.testing.assert_array_equal(parent[lane_nodes], plan.slot_node[k][plan.slot_parent[k][inner]])
    np.testing.assert_array_equal(parent[plan.top_node], plan.region[plan.top_parent])


def test_lanes_are_opt_in_and_skip_small_trees(real_trees):
    parent = real_trees["ca1_n120 nseg 16"]
    assert structure(parent).lanes is None and structure(parent, lanes=1).lanes is None
    assert structure(random_tree(50, 1, np.random.default_rng(0)), lanes="auto").lanes is None
    assert structure(real_trees["arbor/pyramidal.swc"], lanes="auto").lanes is None


# -- agreement with dense solves -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("method", METHODS)
def test_random_trees_match_dense(seed, method):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    parent = random_tree(n, int(rng.integers(1, min(n, 4) + 1)), rng, chain=rng.uniform(0.0, 0.95))
    args = system(parent, rng)
    lanes = int(rng.integers(2, 5)) if method == "lanes" and n > 1 else 1
    x = tree_solve(structure(parent, lanes), *map(jnp.asarray, args), method=method)
    assert relative_error(x, dense(parent, *args)) < 1e-12


@pytest.mark.parametrize("n_lanes", [2, 3, 4])
def test_real_trees_lanes_match_sequential(real_trees, n_lanes):
    rng = np.random.default_rng(n_lanes)
    for name, parent in real_trees.items():
        args = tuple(map(jnp.asarray, system(parent, rng)))
        x_seq = tree_solve(structure(parent), *args, method="sequential")
        x_lanes = tree_solve(structure(parent, n_lanes), *args, method="lanes")
        assert relative_error(x_seq, dense(parent, *map(np.asarray, args))) < 1e-12, name
        assert relative_error(x_lanes, np.asarray(x_seq)) < 1e-14, name


def test_cost_model_picks_lanes_for_a_large_cell():
    parent = np.asarray(nx.discretize(nx.load(shared("jaxley/morph_ca1_n120.swc")), 64).parent)  # 10,141 nodes
    s = structure(parent, lanes="auto")
    assert s.lanes is not None and s.lanes.predicted_ns < LANE_COST_NS[1] * parent.size
    args = tuple(map(jnp.asarray, system(parent, np.random.default_rng(1))))
    assert relative_error(tree_solve(s, *args), np.asarray(tree_solve(s, *args, method="sequential"))) < 1e-14


@pytest.mark.parametrize("batch", [(1,), (3,), (8,), (13,), (2, 5), (40,)])
@pytest.mark.parametrize("shared_coefficients", [True, False])
def test_batched_arrays_match_dense(batch, shared_coefficients):
    rng = np.random.default_rng(len(batch) * 100 + batch[-1])
    parent = random_tree(150, 2, rng)
    d, a, b, rhs = system(parent, rng, batch)
    if not shared_coefficients:  # a and b differ across the batch too
        a = a.reshape((-1,) + (1,) * len(batch)) * rng.uniform(0.5, 1.0, d.shape)
        b = b.reshape((-1,) + (1,) * len(batch)) * rng.uniform(0.5, 1.0, d.shape)
    reference = dense(parent, d, a, b, rhs)
    for method in METHODS:
        x = tree_solve(structure(parent, 3), *map(jnp.asarray, (d, a, b, rhs)), method=method)
        assert x.shape == rhs.shape
        assert relative_error(x, reference) < 1e-12, method


def test_float32():
    rng = np.random.default_rng(3)
    parent = random_tree(200, 1, rng)
    d, a, b, rhs = system(parent, rng)
    for method in METHODS:
        x = tree_solve(structure(parent, 2), *(jnp.asarray(v, jnp.float32) for v in (d, a, b, rhs)), method=method)
        assert x.dtype == jnp.float32
        assert relative_error(x, dense(parent, d, a, b, rhs)) < 1e-4
    batched = jax.vmap(lambda r: tree_solve(structure(parent), *(jnp.asarray(v, jnp.float32) for v in (d, a, b)), r))
    rhs20 = rng.normal(size=(20, parent.size))
    np.testing.assert_allclose(np.asarray(batched(jnp.asarray(rhs20, jnp.float32))),
                               dense(parent, d[:, None].repeat(20, 1), a, b, rhs20.T).T, rtol=1e-3, atol=1e-5)


# -- vmap, jit, scan -------------------------------------------------------------------------------------


def batch_of_systems(parent, rng, size):
    per = [system(parent, rng) for _ in range(size)]
    return tuple(jnp.asarray(np.stack(v)) for v in zip(*per, strict=True))


@pytest.mark.parametrize("method", ("auto",) + METHODS)
@pytest.mark.parametrize("size", [1, 5, 19])
def test_vmap_matches_one_by_one(real_trees, method, size):
    parent = real_trees["arbor/pyramidal.swc"]
    s = structure(parent, 3)
    d, a, b, rhs = batch_of_systems(parent, np.random.default_rng(size), size)
    one = jax.jit(lambda *args: tree_solve(s, *args, method=method))

    def expected(*args):  # one system at a time; arguments with a leading axis vary
        return np.stack([np.asarray(one(*(v[k] if v.shape[0] == size else v[0] for v in args))) for k in range(size)])

    solve = jax.jit(jax.vmap(lambda *args: tree_solve(s, *args, method=method)))
    assert relative_error(solve(d, a, b, rhs), expected(d, a, b, rhs)) < 1e-14
    # Batched in some arguments only: rhs alone, a and b, d alone.
    one_each = (d[:1], a[:1], b[:1], rhs[:1])
    by_rhs = jax.jit(jax.vmap(lambda r: tree_solve(s, d[0], a[0], b[0], r, method)))(rhs)
    assert relative_error(by_rhs, expected(*one_each[:3], rhs)) < 1e-14
    by_coef = jax.jit(jax.vmap(lambda a_, b_: tree_solve(s, d[0], a_, b_, rhs[0], method)))(a, b)
    assert relative_error(by_coef, expected(d[:1], a, b, rhs[:1])) < 1e-14
    by_d = jax.jit(jax.vmap(lambda d_, r: tree_solve(s, d_, a[0], b[0], r, method), in_axes=(0, None)))(d, rhs[0])
    assert relative_error(by_d, expected(d, a[:1], b[:1], rhs[:1])) < 1e-14


def test_nested_vmap_and_axes():
    rng = np.random.default_rng(7)
    parent = random_tree(120, 1, rng)
    s = structure(parent, 2)
    systems = [[system(parent, rng) for _ in range(4)] for _ in range(3)]
    d, a, b, rhs = (jnp.asarray(np.array([[sys_[k] for sys_ in row] for row in systems])) for k in range(4))
    nested = jax.jit(jax.vmap(jax.vmap(lambda *args: tree_solve(s, *args))))(d, a, b, rhs)
    for i in range(3):
        for j in range(4):
            expected = dense(parent, *(np.asarray(v[i, j]) for v in (d, a, b, rhs)))
            assert relative_error(nested[i, j], expected) < 1e-12
    # Batch axis not in front.
    moved = jax.vmap(lambda r: tree_solve(s, d[0, 0], a[0, 0], b[0, 0], r), in_axes=1, out_axes=1)(rhs[0].T)
    assert relative_error(moved.T, np.stack([dense(parent, *(np.asarray(v[0, 0]) for v in (d, a, b)),
                                                    np.asarray(rhs[0, j])) for j in range(4)])) < 1e-12


def scan_of_solves(s, a, b, steps=30, method="auto"):
    """A small simulation-like loop: the diagonal and right-hand side depend on the state."""

    def run(d0, r0):
        def step(v, _):
            x = tree_solve(s, d0 + 0.01 * v * v, a, b, r0 - 0.1 * v, method)
            return x, x[0]

        return lax.scan(step, jnp.zeros_like(r0), None, length=steps)

    return run


def test_vmap_of_scan_matches_loop(real_trees):
    parent = real_trees["ca1_n120 nseg 16"]
    rng = np.random.default_rng(11)
    d0, a, b, r0 = system(parent, rng)
    s = structure(parent)
    scales = jnp.linspace(0.5, 2.0, 12)
    run = scan_of_solves(s, jnp.asarray(a), jnp.asarray(b))
    batched = jax.jit(jax.vmap(lambda c: run(jnp.asarray(d0), c * jnp.asarray(r0))))(scales)
    for k in (0, 5, 11):
        v, trace = jax.jit(run)(jnp.asarray(d0), scales[k] * jnp.asarray(r0))
        assert relative_error(batched[0][k], np.asarray(v)) < 1e-13
        assert relative_error(batched[1][k], np.asarray(trace)) < 1e-13


# -- gradients -------------------------------------------------------------------------------------------


def assert_finite_differences(loss, args, grads, parent, rng, samples=6):
    """grads (of loss at args) match central differences at a few entries of each argument (for a and b,
    entries of non-root nodes: a root's a and b are not in the matrix)."""
    child = np.flatnonzero(parent >= 0)
    for which, grad in enumerate(grads):
        for i in rng.choice(child if which in (1, 2) else parent.size, samples, replace=False):
            h = 1e-6 * max(1.0, abs(float(args[which][i])))
            up = [x.at[i].add(h) if k == which else x for k, x in enumerate(args)]
            down = [x.at[i].add(-h) if k == which else x for k, x in enumerate(args)]
            fd = (loss(*up) - loss(*down)) / (2 * h)
            np.testing.assert_allclose(grad[i], fd, rtol=1e-6, atol=1e-9 * abs(float(loss(*args))))


def loss_fn(s, weights, method):
    def loss(d, a, b, rhs):
        return jnp.sum(weights * tree_solve(s, d, a, b, rhs, method) ** 2)

    return loss


@pytest.mark.parametrize("method", METHODS)
def test_gradient_matches_finite_differences(method):
    rng = np.random.default_rng(5)
    parent = random_tree(90, 2, rng)
    s = structure(parent, 3)
    args = [jnp.asarray(v) for v in system(parent, rng)]
    loss = jax.jit(loss_fn(s, jnp.asarray(rng.normal(size=parent.size)), method))
    grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))(*args)
    assert_finite_differences(loss, args, grads, parent, rng)
    roots = np.flatnonzero(parent < 0)
    assert np.all(np.asarray(grads[1])[roots] == 0) and np.all(np.asarray(grads[2])[roots] == 0)


@pytest.mark.parametrize("method", ("auto",) + METHODS)
def test_vmap_of_grad_and_grad_of_vmap(method):
    rng = np.random.default_rng(9)
    parent = random_tree(160, 1, rng)
    s = structure(parent, 3)
    d, a, b, rhs = batch_of_systems(parent, rng, 11)
    loss = loss_fn(s, jnp.asarray(rng.normal(size=parent.size)), method)
    grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))
    expected = [grad(d[k], a[k], b[k], rhs[k]) for k in range(11)]
    batched = jax.jit(jax.vmap(grad))(d, a, b, rhs)
    for which in range(4):
        reference = np.stack([np.asarray(e[which]) for e in expected])
        assert relative_error(batched[which], reference) < 1e-12
    # grad of a vmapped loss, with a and b shared by the batch: their gradients sum over it.
    total = jax.jit(jax.grad(lambda d_, a_, b_, r_: jnp.sum(jax.vmap(loss, in_axes=(0, None, None, 0))(d_, a_, b_, r_)),
                             argnums=(0, 1, 2, 3)))(d, a[0], b[0], rhs)
    expected = [grad(d[k], a[0], b[0], rhs[k]) for k in range(11)]
    assert relative_error(total[0], np.stack([np.asarray(e[0]) for e in expected])) < 1e-12
    for which in (1, 2):
        assert relative_error(total[which], sum(np.asarray(e[which]) for e in expected)) < 1e-12


def test_grad_of_vmapped_scan_matches_finite_differences(real_trees):
    parent = real_trees["arbor/pyramidal.swc"]
    rng = np.random.default_rng(13)
    d0, a, b, r0 = (jnp.asarray(v) for v in system(parent, rng))
    run = scan_of_solves(structure(parent), a, b, steps=20)

    def loss(scale_d, scales):
        v, trace = jax.vmap(lambda c: run(d0 * scale_d, c * r0))(scales)
        return jnp.sum(trace ** 2) + jnp.sum(v[:, -1])

    scales = jnp.array([0.7, 1.0, 1.4])
    g_d, g_s = jax.jit(jax.grad(loss, argnums=(0, 1)))(1.1, scales)
    h = 1e-6
    np.testing.assert_allclose(g_d, (loss(1.1 + h, scales) - loss(1.1 - h, scales)) / (2 * h), rtol=1e-6)
    for k in range(3):
        e = jnp.zeros(3).at[k].set(h)
        np.testing.assert_allclose(g_s[k], (loss(1.1, scales + e) - loss(1.1, scales - e)) / (2 * h), rtol=1e-6)


# -- cable_solve: the solve with the axial terms at v folded in ------------------------------------------


def axial_terms(parent, a, b, v):
    """What the couplings add to each node's right-hand side at voltages v (NEURON's nrn_rhs), in numpy."""
    out = np.zeros_like(v)
    for i in np.flatnonzero(parent >= 0):
        w = v[parent[i]] - v[i]
        out[i] -= b[i] * w
        out[parent[i]] += a[i] * w
    return out


def test_cable_solve_is_the_solve_of_the_assembled_system(real_trees):
    parent = real_trees["ca1_n120 nseg 16"]
    rng = np.random.default_rng(21)
    d, a, b, rhs = system(parent, rng)
    v = rng.normal(-65.0, 5.0, parent.size)
    x = dense(parent, d, a, b, rhs + axial_terms(parent, a, b, v))
    s = structure(parent)
    got = jax.jit(lambda *args: cable_solve(s, *args))(*map(jnp.asarray, (d, a, b, rhs, v)))
    assert relative_error(np.asarray(got) - v, x) < 1e-12
    # Under vmap (the column solve, batch in front), with shared and batched a, b, and nested.
    scales = jnp.linspace(0.5, 1.5, 5)
    batched = jax.jit(jax.vmap(lambda c: cable_solve(s, jnp.asarray(d), jnp.asarray(a), jnp.asarray(b),
                                                     c * jnp.asarray(rhs), c * jnp.asarray(v))))(scales)
    coupled = jax.jit(jax.vmap(jax.vmap(lambda c, e: cable_solve(s, jnp.asarray(d), e * jnp.asarray(a), jnp.asarray(b),
                                                                 c * jnp.asarray(rhs), jnp.asarray(v)),
                                        in_axes=(None, 0)), in_axes=(0, None)))(scales, scales[:3])
    for k, c in enumerate(np.asarray(scales)):
        expected = dense(parent, d, a, b, c * rhs + axial_terms(parent, a, b, c * v))
        assert relative_error(np.asarray(batched[k]) - c * v, expected) < 1e-12
        for j, e in enumerate(np.asarray(scales[:3])):
            expected = dense(parent, d, e * a, b, c * rhs + axial_terms(parent, e * a, b, v))
            assert relative_error(np.asarray(coupled[k, j]) - v, expected) < 1e-12


def test_cable_solve_gradient_matches_finite_differences():
    rng = np.random.default_rng(23)
    parent = random_tree(70, 2, rng)
    s = structure(parent)
    args = [jnp.asarray(x) for x in system(parent, rng)] + [jnp.asarray(rng.normal(size=parent.size))]
    weights = jnp.asarray(rng.normal(size=parent.size))

    def loss(*args):
        return jnp.sum(weights * cable_solve(s, *args) ** 2)

    grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3, 4)))(*args)
    batched = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1, 2, 3, 4)), in_axes=(None, None, None, None, 0)))(
        *args[:4], jnp.stack([args[4], 2.0 * args[4]]))

    # The same two systems as trailing axes of one call (nodes first; a and b shared).
    def stacked_loss(d, rhs, v):
        return jnp.sum(weights[:, None] * cable_solve(s, d, *args[1:3], rhs, v) ** 2)

    two = [jnp.stack([x, x], axis=1) for x in (args[0], args[3])] + [jnp.stack([args[4], 2.0 * args[4]], axis=1)]
    trailing = jax.jit(jax.grad(stacked_loss, argnums=(0, 1, 2)))(*two)
    for got, which in zip(trailing, (0, 3, 4), strict=True):
        assert relative_error(got.T, np.asarray(batched[which])) < 1e-12
    for which in range(5):
        assert relative_error(batched[which][0], np.asarray(grads[which])) < 1e-12
    assert_finite_differences(loss, args, grads, parent, rng)
