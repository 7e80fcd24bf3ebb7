"""Networks built from arrays: connectivity helpers, NEURON's event rules on small cases, gradients, bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest

import neurax as nx
from neurax._jax import jax, jnp


@pytest.fixture(scope="module")
def cell():
    return nx.Cell(nx.load("data/swc/ball_and_stick.swc"), nx.DLambda(0.1), Ra=100.0).insert(nx.HH())


def ring(cell, n=4, weight=0.05, delay=1.3):
    pre = np.arange(n)
    net = nx.Network([cell] * n).connect(pre, (pre + 1) % n, nx.ExpSyn(tau=2.0), target="dend[0](0.5)",
                                         weight=weight, delay=delay, threshold=-10.0)
    return net.stimulate(nx.NetStim(start=1.0, number=1), 0, nx.ExpSyn(tau=2.0), target="dend[0](0.5)",
                         weight=0.05, delay=1.0)


def test_connectivity_helpers():
    pre, post = nx.all_to_all(4)
    assert pre.size == 12 and not np.any(pre == post)
    pre, post = nx.all_to_all(3, 2)
    assert pre.size == 6
    pre, post = nx.random_connections(200, p=0.1, seed=3)
    assert 0.08 < pre.size / (200 * 199) < 0.12 and not np.any(pre == post)
    w = np.zeros((3, 3))
    w[0, 2] = 0.5
    assert [x.tolist() for x in nx.from_matrix(w)] == [[0], [2], [0.5]]


def test_merged_cells_keep_their_sections_and_parameters(cell):
    other = cell.set("hh.gnabar", 0.2, on="somatic")
    net = nx.Network([cell, other], names=["a", "b"])
    names = [s.name for s in net.cell.morphology]
    assert names == ["a.soma[0]", "a.dend[0]", "b.soma[0]", "b.dend[0]"]
    assert net.cell.get("hh.gnabar", on="b.soma[0]")[0] == 0.2
    assert net.cell.get("hh.gnabar", on="a")[0] == 0.12
    assert net.cell.tree.n_segments == 2 * cell.tree.n_segments
    # each merged cell alone simulates as the cell did
    sol = nx.simulate(net, [nx.IClamp("b.soma[0](0.5)", 1, 5, 1.0)], ["b.soma[0](0.5)"], tstop=10.0)
    alone = nx.simulate(other, [nx.IClamp("soma[0](0.5)", 1, 5, 1.0)], ["soma[0](0.5)"], tstop=10.0)
    assert np.max(np.abs(np.asarray(sol.v) - np.asarray(alone.v))) < 1e-12


def test_ring_passes_spikes_around_with_its_delays(cell):
    sol = nx.simulate(ring(cell), tstop=40.0)
    first = [t[0] for t in sol.spike_times().values()]
    assert np.all(np.diff(first) > 1.3)  # each cell after the one before it, by more than the delay


def test_delay_in_steps_follows_the_half_step_rule():
    # one event from a spike train: delivered at the first step whose midpoint is at or after its time
    cell = nx.Cell(nx.load("data/swc/ball_and_stick.swc"), 3).insert(nx.Pas(e=-65.0))  # at rest until the event
    for when in (5.0, 5.0125, 5.01):
        net = nx.Network([cell]).stimulate(nx.SpikeTrain([when]), 0, nx.ExpSyn(tau=1e9), weight=1e-3, delay=1.0)
        net = net.place(nx.ExpSyn(), 0)  # a second synapse elsewhere changes nothing
        sol = nx.simulate(net, tstop=8.0)
        v = np.asarray(sol.v)[0]
        t = np.asarray(sol.t)
        moved = int(np.flatnonzero(np.abs(v - v[0]) > 1e-12)[0])  # first sample after the delivering step
        k = int(np.searchsorted(t[:-1] + 0.0125, when + 1.0, side="left"))
        assert moved == k + 1


def test_gradient_reaches_weights_and_surrogate_reaches_upstream(cell):
    net = ring(cell, n=3)

    def loss(w, beta):
        v = nx.simulate(net.with_weights(w), record=["cell[2].soma[0](0.5)"], tstop=30.0, surrogate=beta).v
        return jnp.mean((v + 65.0) ** 2)

    w = jnp.asarray(net.weight)
    plain = jax.grad(loss)(w, None)
    surrogate = jax.grad(loss)(w, 2.0)
    assert plain[1, 0] != 0 and plain[0, 0] == 0  # 1 -> 2 acts on cell 2's voltage; 0 -> 1 only through a spike
    assert surrogate[0, 0] != 0
    eps = 1e-7
    e = jnp.zeros_like(w).at[1, 0].set(eps)
    assert np.isclose(plain[1, 0], (loss(w + e, None) - loss(w - e, None)) / (2 * eps), rtol=1e-4)


def test_hundred_thousand_connections_build_quickly(cell):
    net = nx.Network([cell] * 100)
    pre, post = nx.random_connections(100, p=1.0, seed=0)
    pre, post = np.tile(pre, 11)[:100_000], np.tile(post, 11)[:100_000]
    start = time.perf_counter()
    net = net.connect(pre, post, nx.ExpSyn(), target="dend[0](0.5)", weight=1e-4, delay=2.0, share=True)
    assert net.n_connections == 100_000
    assert time.perf_counter() - start < 5.0  # measured well under a second; generous for shared CI machines


@pytest.mark.parametrize("make, message", [
    (lambda net: net.connect(0, 7, nx.ExpSyn()), "cell 7 does not exist"),
    (lambda net: net.connect("x", 1, nx.ExpSyn()), "no cell named 'x'"),
    (lambda net: net.connect(0, 1, nx.ExpSyn(), target="dend[9](0.5)"), "dend[9]"),
    (lambda net: net.connect(0, 1, nx.ExpSyn(), delay=-1.0), "negative"),
    (lambda net: net.connect(0, 1, nx.ExpSyn(), weight=float("nan")), "NaN"),
    (lambda net: net.connect(0, 1, nx.HH()), "not a point process"),
    (lambda net: net.connect([0, 1], [1, 0, 1], nx.ExpSyn()), "same length"),
    (lambda net: net.connect(0, 1, nx.ExpSyn(), threshold=5.0).connect(0, 1, nx.ExpSyn(), threshold=6.0),
     "one threshold"),
    (lambda net: net.stimulate(nx.NetStim(noise=2.0), 0, nx.ExpSyn()), "noise"),
    (lambda net: net.connect(0, 1, "ExpSyn"), "no point process named 'ExpSyn'"),
])
def test_bad_connections_are_refused_clearly(cell, make, message):
    net = nx.Network([cell, cell])
    with pytest.raises(nx.NeuraxError, match=None) as err:
        make(net)
    assert message in str(err.value)


def test_delay_shorter_than_dt_is_refused(cell):
    net = nx.Network([cell, cell]).connect(0, 1, nx.ExpSyn(), delay=0.01)
    with pytest.raises(nx.NeuraxError, match="shorter than the time step"):
        nx.simulate(net, tstop=1.0)


def test_synapse_without_net_receive_is_refused(cell, tmp_path):
    mod = tmp_path / "clamp.mod"
    mod.write_text("NEURON { POINT_PROCESS Inj NONSPECIFIC_CURRENT i RANGE amp }\nPARAMETER { amp = 0 }\n"
                   "ASSIGNED { i }\nBREAKPOINT { i = -amp }\n")
    inj = nx.load_mod(str(mod))
    with pytest.raises(nx.NeuraxError, match="no NET_RECEIVE"):
        nx.Network([cell, cell]).connect(0, 1, inj())


def test_graded_synapse_depolarises_and_its_gradients_are_exact(cell):
    net = nx.Network([cell, cell]).connect_graded(0, 1, target="dend[0](0.5)", gmax=0.01, e=0.0, v_half=-20.0,
                                                  slope=5.0)
    clamp = [nx.IClamp("cell[0].soma[0](0.5)", 5.0, 20.0, 0.5)]
    v = np.asarray(nx.simulate(net, clamp, ["cell[1].soma[0](0.5)"], tstop=40.0).v[0])
    assert v.max() > 0  # the presynaptic spikes open the graded conductance: the postsynaptic cell spikes

    def loss(graded):
        return jnp.mean(nx.simulate(net.with_graded(graded), clamp, ["cell[1].soma[0](0.5)"], tstop=40.0).v ** 2)

    g = jnp.asarray(net.graded)
    grad = jax.grad(loss)(g)
    for j in range(4):
        h = 1e-7 * max(1.0, abs(float(g[0, j])))
        e = jnp.zeros_like(g).at[0, j].set(h)
        assert np.isclose(grad[0, j], (loss(g + e) - loss(g - e)) / (2 * h), rtol=1e-3), j


@pytest.mark.parametrize("kwargs, message", [
    (dict(gmax=-1.0), "negative"), (dict(slope=0.0), "slope"), (dict(e=float("nan")), "NaN"),
])
def test_bad_graded_synapses_are_refused(cell, kwargs, message):
    with pytest.raises(nx.NeuraxError, match=message):
        nx.Network([cell, cell]).connect_graded(0, 1, **kwargs)


def test_netstim_times_follow_neurons_rules():
    # noise 0: NEURON's first event (start + interval) - interval, then sums of interval; `number` spikes
    times = nx.NetStim(start=2.0, interval=7.3, number=5).times(1000.0)
    expected = [(2.0 + 7.3) - 7.3]
    for _ in range(4):
        expected.append(expected[-1] + 7.3)
    assert times.tolist() == expected
    assert nx.NetStim(start=-1.0).times(100.0).size == 0 and nx.NetStim(number=0).times(100.0).size == 0
    assert nx.NetStim(start=0.0, interval=1.0, number=2.5).times(100.0).size == 3
    # noise: intervals are (1 - noise) interval plus an exponential part of mean noise * interval
    for noise in (1.0, 0.5):
        t = nx.NetStim(start=0.0, interval=10.0, number=20000, noise=noise, seed=4).times(1e9)
        gaps = np.diff(t)
        assert abs(gaps.mean() / 10.0 - 1) < 0.03
        assert gaps.min() >= (1 - noise) * 10.0 - 1e-9
        assert abs(gaps.std() / 10.0 - noise) < 0.03  # the exponential part's spread


def test_locations_resolve_to_the_nodes_neuron_uses(cell):
    net = nx.Network([cell, cell.set("cm", 2.0)], names=["a", "b"])
    locs = ["soma[0](0.5)", "dend[0](0)", "dend[0](1)", "dend[0](0.5)", "dend[0](0.3)", "dend[0](0.999)",
            "dend[0](0.125)", "soma[0](0)"]
    cells = np.array([0, 1] * len(locs))
    locations = [loc for loc in locs for _ in range(2)]
    got = net._nodes(cells, locations)
    want = [net.cell.tree.node_of(f"{'ab'[c]}.{loc}") for c, loc in zip(cells, locations, strict=True)]
    assert got.tolist() == want
