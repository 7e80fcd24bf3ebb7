"""Spike events inside the time loop: threshold detection, a ring buffer of pending events, NET_RECEIVE.

:class:`EventPlan` is made once per simulation in numpy from a network's wiring (:mod:`neurax.network`), the
cell's :class:`~neurax.engine.Engine`, ``dt`` and the step times. :meth:`EventPlan.step` is the traced part,
run at the start of each step ``n`` (NEURON's ``deliver_net_events``):

1. **Detect**: each membrane source compares ``v(t_n) - threshold > 0``; a crossing with the source's flag
   clear is a spike (time ``t_n + 1e-10``), and the flag becomes "above threshold".
2. **Remember**: the spikes go into row ``n mod D`` of a ring buffer of the sources' last ``D`` steps of spikes,
   ``D - 1`` the longest delay in steps. A connection's delay in steps ``m`` is that of the first step ``k``
   with ``t_k + dt/2 >= t_n + 1e-10 + delay``, so its events due now are its source's spikes of row
   ``(n - m) mod D``. The buffer is ``D x sources`` whatever the number of pending events or connections.
3. **Deliver**: each connection's weight times its source's spike of ``m`` steps ago, summed per receiving
   synapse instance (*slot*), plus the artificial sources' events of step ``n`` (their arrival steps are known
   before the run: NetStim and spike-train times plus delays, compared with the same ``t_k + dt/2`` in float64,
   as NEURON compares them), go to the synapses' NET_RECEIVE blocks. A step costs a gather and a sum over the
   connections.

NEURON delivers an event that arrives in ``(t_n + dt/2, t_{n+1}]`` at the end of step ``n`` rather than at
the start of step ``n + 1``; both come after the step's state update and recording and before the next
currents, so the traces are the same. (A first design kept the pending weights per synapse instance, ``D x
slots``: 48 MB for 10,000 synapses with delays up to 5 ms, carried through every step; the benchmark network ran
8 times slower than without synapses.) Events that reach one synapse at one step act as one event with the sum
of their weights where the synapse's NET_RECEIVE only adds a term linear in the weight (ExpSyn, Exp2Syn and
most synapse models: :attr:`~neurax.mechanisms.base.Mechanism.receive_additive`); other synapses must have
a single connection, checked here. ``t`` inside NET_RECEIVE is the event's time, as in NEURON.
"""

from __future__ import annotations

import numpy as np

from neurax._jax import jax, jnp
from neurax.errors import NeuraxError

__all__ = ["EventPlan", "SPIKE_EPS"]

#: NEURON puts a threshold spike this long (ms) after the start of the step that detects it.
SPIKE_EPS = 1e-10


@jax.custom_jvp
def _above(x, beta):
    """``x > 0`` as 0.0 or 1.0; its derivative is a sigmoid's, of slope ``beta`` (a surrogate gradient)."""
    return (x > 0).astype(x.dtype)


@_above.defjvp
def _above_jvp(primals, tangents):
    x, beta = primals
    s = jax.nn.sigmoid(beta * x)
    return _above(x, beta), beta * s * (1.0 - s) * tangents[0]


class EventPlan:
    """The static layout of a simulation's events (see the module docstring).

    Args:
        wiring: the network's :class:`~neurax.network._Wiring`.
        engine: the cell's engine (its blocks hold the synapses' instances).
        t_mid: ``t_n + dt/2`` of every step (ms, NEURON's sums).
        t_start: ``t_n`` of every step (ms).
        dt: the time step (ms).
        surrogate: None, or the slope (1/mV) of the surrogate derivative of threshold crossings (so that
            gradients flow through spikes into the presynaptic voltage).
    """

    def __init__(self, wiring, engine, t_mid: np.ndarray, t_start: np.ndarray, dt: float,
                 surrogate: float | None = None) -> None:
        self.surrogate = surrogate
        self.steps = int(t_mid.size)
        self.source_nodes = np.asarray(wiring.source_nodes, np.int64)
        self.n_sources = int(self.source_nodes.size)
        delay = np.asarray(wiring.delay, float)
        short = np.flatnonzero(delay < dt)
        if short.size:
            raise NeuraxError(f"connection {short[0]} has delay {delay[short[0]]:g} ms, shorter than the time step "
                              f"dt = {dt:g} ms; delays must be at least dt (a spike then always arrives in a later "
                              "step); lengthen the delay or reduce dt")
        # slots: the receiving (mechanism, instance) pairs
        keys = list(zip(wiring.mechanism, np.asarray(wiring.instance).tolist(), strict=True))
        slot_of: dict = {}
        self.slot = np.array([slot_of.setdefault(key, len(slot_of)) for key in keys], np.int64)
        self.n_slots = len(slot_of)
        classes = {b.mechanism.name: b.mechanism for b in engine.blocks}
        self.n_args = max((len(classes[m].receive_args) for m in set(wiring.mechanism)), default=1)
        #: whether some receiver needs to know if and when events came (one whose NET_RECEIVE is not a plain sum)
        self.counted = any(not classes[m].receive_additive for m in set(wiring.mechanism))
        #: whether some receiver keeps state per connection (its NET_RECEIVE assigns its arguments): the carry
        #: then holds each slot's arguments, as NEURON's NetCon weight vectors hold them
        self.stateful = any(classes[m].receive_state for m in set(wiring.mechanism))
        self.slot_conn = np.zeros(self.n_slots, np.int64)  # a connection of each slot (its only one, if stateful)
        self.slot_conn[self.slot] = np.arange(self.slot.size)
        indegree = np.bincount(self.slot, minlength=self.n_slots)
        for (mech, inst), s in slot_of.items():
            if not classes[mech].receive_additive and indegree[s] > 1:
                raise NeuraxError(f"{indegree[s]} connections reach {mech} instance {inst}, whose NET_RECEIVE is "
                                  "not a plain sum of weights; neurax delivers one event per step to such a "
                                  "synapse: give each connection its own synapse")
        # membrane-sourced connections: the ring buffer
        ring = np.flatnonzero(np.asarray(wiring.kind) == 0)
        self.ring_conn = ring
        self.ring_src = np.asarray(wiring.source, np.int64)[ring]
        self.ring_slot = self.slot[ring]
        self.ring_delay = delay[ring]
        # delay in steps: the first m with m dt + dt/2 >= delay + eps (margins of about dt/2 either side)
        m = np.ceil((delay[ring] + SPIKE_EPS - 0.5 * dt) / dt - 1e-9).astype(np.int64)
        self.ring_offset = np.maximum(m, 1)
        self.depth = int(self.ring_offset.max()) + 1 if ring.size else 0
        self.t_start = t_start  # t_n of each step (read for NET_RECEIVE blocks that are not sums)
        # artificial sources: every event's step, known now
        art = np.flatnonzero(np.asarray(wiring.kind) == 1)
        tstop = float(t_mid[-1]) + dt if t_mid.size else 0.0
        steps, conns, times = [], [], []
        for c in art.tolist():
            stim = wiring.stims[int(wiring.source[c])]
            te = stim.times(tstop) + delay[c]
            k = np.searchsorted(t_mid, te, side="left")  # first step with t_k + dt/2 >= te
            keep = k < self.steps
            steps.append(k[keep])
            conns.append(np.full(int(keep.sum()), c))
            times.append(te[keep])
        steps = np.concatenate(steps) if steps else np.zeros(0, np.int64)
        conns = np.concatenate(conns) if conns else np.zeros(0, np.int64)
        times = np.concatenate(times) if times else np.zeros(0)
        order = np.lexsort((conns, steps))
        steps, conns, times = steps[order], conns[order], times[order]
        for s in np.unique(self.slot[conns]):
            mech, inst = keys[conns[self.slot[conns] == s][0]]
            at = steps[self.slot[conns] == s]
            if not classes[mech].receive_additive and at.size != np.unique(at).size:
                raise NeuraxError(f"two events reach {mech} instance {inst} in one step, and its NET_RECEIVE is "
                                  "not a plain sum of weights; space the spike times by more than dt")
        per_step = np.bincount(steps, minlength=self.steps) if steps.size else np.zeros(self.steps, np.int64)
        width = int(per_step.max()) if per_step.size else 0
        self.ext_width = width
        self.ext_conn = np.full((self.steps, width), -1, np.int64)  # per step, its events' connections (-1: none)
        self.ext_time = np.zeros((self.steps, width))
        if width:
            start = np.concatenate([[0], np.cumsum(per_step)[:-1]])
            col = np.arange(steps.size) - start[steps]
            self.ext_conn[steps, col] = conns
            self.ext_time[steps, col] = times
        # receivers: per engine block, its instances that are slots
        self.receivers = []
        for b_index, b in enumerate(engine.blocks):
            if b.mechanism.name not in {m for m, _ in slot_of} or b.instances is None:
                continue
            pos, slots = [], []
            for j, inst in enumerate(b.instances.tolist()):
                s = slot_of.get((b.mechanism.name, inst))
                if s is not None:
                    pos.append(j)
                    slots.append(s)
            if pos:
                self.receivers.append((b_index, np.asarray(pos, np.int64), np.asarray(slots, np.int64)))

    # -- traced parts ---------------------------------------------------------------------------------------
    def weights(self, weight) -> dict:
        """The weights as the step reads them, taken once before the time loop: ``"ring"``, those of the
        membrane-sourced connections (their NET_RECEIVE arguments), and ``"all"``.
        """
        return {"ring": weight[self.ring_conn][:, : self.n_args], "all": weight}

    def init(self, dtype, conn=None) -> dict:
        """The events' part of the carry at ``finitialize``: flags clear, no spikes in the history, and the
        connections' arguments (``conn``, from :meth:`connections`) where a receiver keeps state per connection.
        """
        ev = {"flag": jnp.zeros(self.n_sources, bool),
              "history": jnp.zeros((max(self.depth, 1), self.n_sources), dtype)}
        if self.stateful:
            ev["conn"] = conn
        return ev

    def connections(self, engine, mech_args, ctx: dict, weight, v, states: dict):
        """Each slot's NET_RECEIVE arguments at ``finitialize`` (``(slots, n_args)``, or None where no receiver
        keeps state per connection): its connection's weights, through NET_RECEIVE's INITIAL block at ``t`` = 0.
        """
        if not self.stateful:
            return None
        conn = weight["all"][jnp.asarray(self.slot_conn)][:, : self.n_args]
        for b_index, pos, slots in self.receivers:
            mech = engine.blocks[b_index].mechanism
            if not mech.receive_state:
                continue
            nodes, p, sub, _ = self._receiver(engine, mech_args, states, b_index, pos)
            n = len(mech.receive_args)
            args = tuple(conn[slots, j] for j in range(n))
            new = mech().connection_initial(v[nodes], sub, p, args, {**ctx, "t": jnp.zeros((), v.dtype)})
            conn = conn.at[slots, :n].set(jnp.stack(new, axis=1))
        return conn

    @staticmethod
    def _receiver(engine, mech_args, states: dict, b_index: int, pos: np.ndarray):
        """A receiving block's nodes, parameters and states at the instances ``pos``, and whether those are all."""
        b = engine.blocks[b_index]
        s = states["mech"][b_index]
        whole = pos.size == b.nodes.size and np.array_equal(pos, np.arange(pos.size))
        p = {key: (x if whole or not getattr(x, "ndim", 0) else x[pos])
             for key, x in mech_args["blocks"][b_index].items()}
        sub = s if whole else {name: s[name][pos] for name in b.mechanism.states}
        return (b.nodes if whole else b.nodes[pos]), p, sub, whole

    def step(self, engine, mech_args, ctx: dict, weight, threshold, v, states: dict, ev: dict, k, t_n, ext):
        """Detect and deliver at the start of step ``k`` (time ``t_n``); returns the new states, the events'
        carry and this step's spikes (one 0/1 value per source).

        ``ext`` is ``(connections, times)`` of this step's artificial events (padded with -1); ``weight`` is
        what :meth:`weights` made.
        """
        dtype = v.dtype
        spikes = jnp.zeros(self.n_sources, dtype)
        if self.n_sources:
            x = v[self.source_nodes] - threshold
            if self.surrogate is not None:
                above = _above(x, jnp.asarray(self.surrogate, dtype))
                spikes = above * (1.0 - ev["flag"].astype(dtype))
                flag = above > 0.5
            else:
                flag = x > 0
                spikes = (flag & ~ev["flag"]).astype(dtype)
            ev = {**ev, "flag": flag, "history": ev["history"].at[k % max(self.depth, 1)].set(spikes)}
        incoming = jnp.zeros((self.n_slots, self.n_args), dtype)
        arrived = jnp.zeros(self.n_slots, dtype)
        te = jnp.full(self.n_slots, -jnp.inf, dtype)
        if self.ring_conn.size:  # the spikes of m_c steps ago, for each connection
            hit = ev["history"][(k - self.ring_offset) % self.depth, self.ring_src]
            w = weight["ring"] * hit[:, None]
            start = _start_of_range(self.ring_slot)
            if start is not None:  # one slot per connection, in order (each connection its own synapse)
                incoming = incoming.at[start:start + w.shape[0]].add(w)
            else:
                incoming = incoming.at[self.ring_slot].add(w)
            if self.counted:
                arrived = arrived.at[self.ring_slot].add(hit)
                t_spike = jnp.asarray(self.t_start, dtype)[jnp.maximum(k - self.ring_offset, 0)]
                te = te.at[self.ring_slot].max(jnp.where(hit > 0, (t_spike + SPIKE_EPS) + self.ring_delay,
                                                         -jnp.inf))
        if self.ext_width:
            conn, times = ext
            valid = conn >= 0
            c = jnp.where(valid, conn, 0)
            slot = jnp.asarray(self.slot)[c]
            w = weight["all"][c][:, : self.n_args] * valid[:, None]
            incoming = incoming.at[slot].add(w)
            if self.counted:
                arrived = arrived.at[slot].add(valid.astype(dtype))
                te = te.at[slot].max(jnp.where(valid, times, -jnp.inf))
        mech = list(states["mech"])
        for b_index, pos, slots in self.receivers:
            b = engine.blocks[b_index]
            s = mech[b_index]
            nodes, p, sub, whole = self._receiver(engine, mech_args, states, b_index, pos)
            start = _start_of_range(slots)
            rows = incoming[start:start + slots.size] if start is not None else incoming[slots]
            n = len(b.mechanism.receive_args)
            args = tuple(rows[:, j] for j in range(n))
            if b.mechanism.receive_additive:  # events that did not come add nothing: no mask needed
                out = b.mechanism().receive(v[nodes], sub, p, args, {**ctx, "t": t_n})
            else:
                on = arrived[slots] > 0
                at = {**ctx, "t": jnp.where(on, te[slots], t_n)}
                if b.mechanism.receive_state:  # the connection's own arguments, as its last event left them
                    kept = ev["conn"][slots, :n]
                    out, new = b.mechanism().receive_connection(v[nodes], sub, p, tuple(kept.T), at)
                    ev = {**ev, "conn": ev["conn"].at[slots, :n].set(
                        jnp.where(on[:, None], jnp.stack(new, axis=1), kept))}
                else:
                    out = b.mechanism().receive(v[nodes], sub, p, args, at)
                out = {name: jnp.where(on, out[name], sub[name]) for name in b.mechanism.states}
            if whole:
                mech[b_index] = {**s, **{name: out[name] for name in b.mechanism.states}}
            else:
                mech[b_index] = {**s, **{name: s[name].at[pos].set(out[name]) for name in b.mechanism.states}}
        return {**states, "mech": tuple(mech)}, ev, spikes


def _start_of_range(index: np.ndarray) -> int | None:
    """``a`` if ``index`` is ``a, a + 1, ...`` (a slice then replaces a gather or scatter), else None."""
    if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
        return int(index[0])
    return None
