"""The adjoint (neurax/adjoint.py) gives the gradients of reverse-mode differentiation step by step.

The reference is ``Run.checkpointed``, which JAX differentiates through the time loop itself (with
``cable_solve``'s own VJP), so the two share nothing but the forward step. ``simulate(..., checkpoint=k)``
is the adjoint again, rerunning chunks of k steps in the backward pass.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurax as nx
import neurax.adjoint as adjoint
from neurax.mechanisms.base import Mechanism
from neurax.simulation import Run
from tests.conftest import REPO

BALL = REPO / "data" / "swc" / "ball_and_stick.swc"


@dataclass(frozen=True)
class Coupled(Mechanism):
    """A made-up channel whose two states drive each other, with NEURON's difference-quotient slope."""

    g: float = 2e-3
    e: float = -70.0
    rate: float = 0.05

    name: ClassVar[str] = "coupled"
    states: ClassVar[tuple[str, ...]] = ("a", "b")

    def init(self, v, p, ctx):
        return {"a": 0.2 + 0.001 * (v + 65.0), "b": jnp.full_like(v, 0.1)}

    def current(self, v, s, p, ctx):
        return p["g"] * s["a"] * (1.0 + s["b"] ** 2) * (v - p["e"]) + 1e-6 * (v + 60.0) ** 2

    def advance(self, v, s, p, ctx):
        dt = ctx["dt"]
        a = s["a"] + dt * (0.01 * jnp.tanh((v + 50.0) / 10.0) * s["b"] - p["rate"] * s["a"])
        b = s["b"] + dt * (0.02 * s["a"] - 0.03 * s["b"] * s["a"])
        return {"a": a, "b": b}


def simulate(cell, stim, record, *, tstop, v_init=-65.0, celsius=6.3, checkpoint=None):
    """``nx.simulate``; with ``checkpoint="reference"``, differentiated by JAX step by step instead."""
    if checkpoint != "reference":
        return nx.simulate(cell, stim, record, tstop=tstop, v_init=v_init, celsius=celsius, checkpoint=checkpoint)
    run = Run(cell, stim, record, tstop=tstop, dt=0.025, v_init=v_init, celsius=celsius, rates="table",
              dtype=jnp.float64)
    return run.finish(run.checkpointed(9))


def gradients(cell, checkpoint, tstop=10.0):
    """Gradients of a loss of two traces for every parameter of the cell, the clamp, v_init and celsius."""
    def loss(params, amp, v_init, celsius):
        stim = [nx.IClamp("soma[0](0.5)", 1.0, 5.0, amp), nx.IClamp("dend[0](0.5)", 3.0, 4.0, 0.5 * amp)]
        sol = simulate(cell.with_params(params), stim, ["soma[0](0.5)", "dend[0](1)"], tstop=tstop,
                       v_init=v_init, celsius=celsius, checkpoint=checkpoint)
        return jnp.mean((sol.v + 55.0) ** 2) + jnp.sum(sol.v[1, ::7]) * 1e-2

    return jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))(cell.params, 0.3, -64.0, 8.0)


def assert_same(got, want, atol=1e-12):
    """Equal to rtol 1e-9, or to ``atol`` times each leaf's largest value (entries that cancel to near zero)."""
    for (path, g), w in zip(jax.tree_util.tree_leaves_with_path(got), jax.tree_util.tree_leaves(want), strict=True):
        g, w = np.asarray(g), np.asarray(w)
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=atol * max(1.0, float(np.abs(w).max())),
                                   err_msg=jax.tree_util.keystr(path))


@pytest.mark.parametrize("chunk", [None, 7])
def test_adjoint_matches_step_by_step_gradient(chunk, monkeypatch):
    """hh, pas and a coupled two-state channel; every parameter, both clamps' amplitude, v_init and the
    temperature (which reaches hh's rate tables, so its derivative goes through advance). With chunks of 7
    steps, 400 steps make 58 chunks, the last padded with 6 steps that change nothing."""
    if chunk:
        monkeypatch.setattr(adjoint, "CHUNK_STEPS", (chunk, chunk))
        nx.simulation.compiled.clear_cache()  # chunks are sized when a simulation is compiled
    cell = (nx.Cell(nx.load(BALL), 5, Ra=100.0).insert(nx.HH()).insert(nx.Pas(g=1e-4), on="basal")
            .insert(Coupled(), on="somatic"))
    want = gradients(cell, checkpoint="reference")
    got = gradients(cell, checkpoint=None)
    assert_same(got, want)
    assert_same(gradients(cell, checkpoint=11), want)  # 37 chunks rerun, the last padded with 7 steps
    assert float(jnp.abs(got[0]["coupled"]["rate"]).max()) > 0 and float(jnp.abs(got[3])) > 0


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
def test_adjoint_of_conductances_alone(stride, monkeypatch):
    """Only inputs that the states' update does not read (so the recursion keeps no state cotangents), and
    states stored every ``stride`` steps (recomputed in between) with chunks of 12, the last padded with 8 steps."""
    monkeypatch.setattr(adjoint, "STATE_STRIDE", stride)
    monkeypatch.setattr(adjoint, "CHUNK_STEPS", (12, 12))
    nx.simulation.compiled.clear_cache()
    cell = nx.Cell(nx.load(BALL), 5).insert(nx.HH()).insert(nx.Pas(g=1e-4), on="basal")

    def grad(checkpoint):
        def loss(g):
            params = {**cell.params, "hh": {**cell.params["hh"], "gnabar": g[0], "gkbar": g[1]},
                      "pas": {**cell.params["pas"], "g": g[2]}}
            sol = simulate(cell.with_params(params), [nx.IClamp("soma[0](0.5)", 1.0, 5.0, 0.3)],
                           ["soma[0](0.5)", "dend[0](1)"], tstop=10.0, checkpoint=checkpoint)
            return jnp.mean((sol.v + 55.0) ** 2)

        hh, pas = cell.params["hh"], cell.params["pas"]
        return jax.jit(jax.grad(loss))((hh["gnabar"], hh["gkbar"], pas["g"]))

    assert_same(grad(None), grad("reference"))


@pytest.mark.parametrize("sparse", [0, 8])
def test_adjoint_of_many_recorded_nodes(sparse, monkeypatch):
    """Samples' cotangents added node by node (up to ``SPARSE_RECORDS`` records) or scattered per chunk,
    with a node recorded twice."""
    monkeypatch.setattr(adjoint, "SPARSE_RECORDS", sparse)
    nx.simulation.compiled.clear_cache()
    cell = nx.Cell(nx.load(BALL), 5).insert(nx.HH())
    record = ["soma[0](0.5)", "dend[0](0.1)", "dend[0](0.5)", "dend[0](0.5)", "dend[0](1)"]

    def grad(checkpoint):
        def loss(g):
            params = {**cell.params, "hh": {**cell.params["hh"], "gnabar": g[0], "gkbar": g[1]}}
            sol = simulate(cell.with_params(params), [nx.IClamp("soma[0](0.5)", 1.0, 5.0, 0.3)], record,
                           tstop=5.0, checkpoint=checkpoint)
            return jnp.sum(jnp.arange(1.0, 6.0)[:, None] * (sol.v + 55.0) ** 2)

        hh = cell.params["hh"]
        return jax.jit(jax.grad(loss))((hh["gnabar"], hh["gkbar"]))

    assert_same(grad(None), grad("reference"))


def test_adjoint_without_stimuli_for_few_steps():
    """No clamps (an empty stimulus array), and 0, 1, 2 or 40 steps (fewer than one chunk)."""
    cell = nx.Cell(nx.load(BALL), 3).insert(nx.HH())

    def loss(gk, tstop):
        params = {**cell.params, "hh": {**cell.params["hh"], "gkbar": cell.params["hh"]["gkbar"] * gk}}
        return jnp.sum(nx.simulate(cell.with_params(params), [], ["soma[0](0.5)"], tstop=tstop, v_init=-40.0).v ** 2)

    for tstop in (0.0, 0.025, 0.05, 1.0):
        got = float(jax.grad(loss)(1.0, tstop))
        h = 1e-6
        fd = float(loss(1.0 + h, tstop) - loss(1.0 - h, tstop)) / (2 * h)
        assert abs(got - fd) <= 1e-6 * abs(fd) + (1e-12 if tstop == 0 else 0.0), (tstop, got, fd)


def test_dependencies_follow_the_jaxpr():
    deps = adjoint._dependencies(lambda v, a, b: (v * a, b + 1.0, jnp.zeros_like(v), a), *[jnp.ones(3)] * 3)
    assert deps == [{0, 1}, {2}, set(), {1}]


def test_unchanged_outputs_are_the_inputs_themselves():
    """The refresh's rows (adjoint.Step.split) are its outputs that are not their inputs passed through."""
    same = adjoint._unchanged(lambda v, a, b, c: (a, b * 1.0, v, c + 0.0), *[jnp.ones(3)] * 4)
    assert same == [True, False, False, False]


@pytest.mark.slow
@pytest.mark.parametrize(("every_step", "split"), [(True, True), (False, True), (False, False)])
def test_adjoint_of_the_whole_channel_library(every_step, split, monkeypatch):
    """Every library channel (23 state arrays, a calcium pool read by SK and BK, a kinetic Ih): the forward pass
    stores the states of every step (the default for so large a state update) or, forced, of every 4th (in
    chunks of 8 steps: 20 chunks of 2 blocks, each block's start the states stored at the end of the one
    before). The calcium current that the pool reads is recomputed after the states' update: its derivatives come
    from the refresh alone (Step.split) or, without the split, from one VJP through both (a hub)."""
    if not every_step:
        monkeypatch.setattr(adjoint, "EVERY_STEP_BYTES", 0)
        monkeypatch.setattr(adjoint, "CHUNK_STEPS", (8, 8))
    if not split:
        whole = adjoint.adjoint_scan
        monkeypatch.setattr(nx.simulation, "adjoint_scan",
                            lambda step, *a, **k: whole(dataclasses.replace(step, split=None), *a, **k))
    nx.simulation.compiled.clear_cache()
    cell = nx.Cell(nx.load(BALL), 3).insert(nx.Pas(g=1e-4, e=-70.0))
    for name, cls in nx.channels.library().items():
        cell = cell.insert(cls(), on="all" if name in ("Ih", "CaPool") else "somatic")
    want = gradients(cell, checkpoint="reference", tstop=4.0)
    got = gradients(cell, checkpoint=None, tstop=4.0)
    assert_same(got, want, atol=1e-10)  # Ra's two entries differ 1e4-fold: the smaller agrees to 2e-8
    assert float(jnp.abs(got[0]["CaPool"]["gamma"]).max()) > 0 and float(jnp.abs(got[0]["Ih"]["gbar"]).max()) > 0


@dataclass(frozen=True)
class CoupledPoint(Coupled):
    """:class:`Coupled` as a point process (currents in nA)."""

    g: float = 2e-4
    name: ClassVar[str] = "coupled_point"
    kind: ClassVar[str] = "point"


def test_adjoint_with_point_processes_sharing_a_node():
    """Three instances of a point process at one node (as synapses of a network often are) and one elsewhere:
    their states are separate, their currents add."""
    cell = nx.Cell(nx.load(BALL), 5, Ra=100.0).insert(nx.HH())
    for where, g in (("soma[0](0.5)", 2e-4), ("soma[0](0.5)", 5e-4), ("dend[0](0.5)", 3e-4), ("soma[0](0.5)", 1e-4)):
        cell = cell.place(CoupledPoint(g=g), where)
    want = gradients(cell, checkpoint="reference")
    got = gradients(cell, checkpoint=None)
    assert_same(got, want)
    assert float(jnp.abs(got[0]["coupled_point"]["g"]).min()) > 0



@dataclass(frozen=True)
class Runaway(Mechanism):
    """A made-up state that grows 20% per step whatever v does, with an inward current as large."""

    a0: float = 1e-30

    name: ClassVar[str] = "runaway"
    states: ClassVar[tuple[str, ...]] = ("a",)

    def init(self, v, p, ctx):
        return {"a": jnp.full_like(v, p["a0"])}

    def current(self, v, s, p, ctx):
        return -s["a"] + 0.0 * v

    def advance(self, v, s, p, ctx):
        return {"a": s["a"] * 1.2}


def test_steps_past_the_end_change_nothing(monkeypatch):
    """Under differentiation the steps are padded to whole chunks (12 steps: 400 + 8), and a padded step must
    leave the carry as it was. Here v runs away and would pass the blow-up bound at step 403, inside the padding:
    the differentiated run, like the plain one, reports no blow-up (and a run of 406 steps reports step 403)."""
    monkeypatch.setattr(adjoint, "CHUNK_STEPS", (12, 12))
    nx.simulation.compiled.clear_cache()
    cell = nx.Cell(nx.load(BALL), 5).insert(nx.Pas()).insert(Runaway())

    def solution(amp, tstop=10.0):
        return nx.simulate(cell, [nx.IClamp("soma[0](0.5)", 1.0, 1.0, amp)], ["soma[0](0.5)"], tstop=tstop)

    with pytest.warns(nx.simulation.BlowUpWarning):
        assert int(solution(0.1, tstop=10.15).blowup) == 403
    plain = solution(0.1)
    sol, pullback = jax.vjp(solution, 0.1)
    assert int(plain.blowup) == int(sol.blowup) == -1
    np.testing.assert_array_equal(np.asarray(sol.v), np.asarray(plain.v))
    assert np.isfinite(pullback(jax.tree_util.tree_map(jnp.ones_like, sol))[0])
