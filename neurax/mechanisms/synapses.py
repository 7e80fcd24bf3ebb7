"""NEURON's built-in synapses, ExpSyn and Exp2Syn, as neurax point processes.

Both are conductance synapses (current ``i = g (v - e)`` in nA, conductance in uS) whose conductance jumps
when an event arrives through a connection (:mod:`neurax.network`) by the connection's weight and then
decays:

* :func:`ExpSyn` - one exponential: ``g' = -g / tau``; an event adds ``weight`` to ``g``. Defaults tau 0.1 ms,
  e 0 mV.
* :func:`Exp2Syn` - the difference of two exponentials, ``g = B - A`` with ``A' = -A / tau1`` and
  ``B' = -B / tau2``; an event adds ``weight * factor`` to both, where ``factor`` scales the peak of a single
  event's conductance to ``weight``. ``tau1`` is kept a little below ``tau2`` (at most ``0.9999 tau2``, at
  least ``1e-9 tau2``), as NEURON does. Defaults tau1 0.1 ms, tau2 10 ms, e 0 mV.

The current is linear in ``v``, so its slope is ``g`` itself: each names it with ``CONDUCTANCE g`` and the
step evaluates BREAKPOINT once instead of NEURON's twice (the difference quotient NEURON computes equals ``g``
to rounding: traces agree to ~1e-11 mV). 0.55 -> 0.4 s per 100 ms with 10,000 synapses on the benchmark network.

They are written in NMODL (below) and built by neurax's importer, so they behave like any imported point
process: place them with :meth:`neurax.Cell.place`, set and train their parameters by NEURON's names
(``"ExpSyn.tau"``, ``"tau_ExpSyn"``). Their type numbers are NEURON's (9 and 10), which fixes where their
currents enter the step. The classes are made on first use (``nx.ExpSyn``), so ``import neurax`` stays light.
"""

from __future__ import annotations

from functools import cache

__all__ = ["SOURCES", "TYPES"]  # and ExpSyn, Exp2Syn (made on first use, module __getattr__)

#: NEURON's mechanism type numbers of the built-in synapses.
TYPES = {"ExpSyn": 9, "Exp2Syn": 10}

#: The NMODL text of each synapse (written for neurax from the equations above).
SOURCES = {
    "ExpSyn": """
TITLE ExpSyn: a synaptic conductance that jumps by each event's weight and decays with one time constant
NEURON {
    POINT_PROCESS ExpSyn
    RANGE tau, e, i
    NONSPECIFIC_CURRENT i
}
UNITS { (nA) = (nanoamp)  (mV) = (millivolt)  (uS) = (microsiemens) }
PARAMETER {
    tau = 0.1 (ms) <1e-9, 1e9>
    e = 0 (mV)
}
ASSIGNED { v (mV)  i (nA) }
STATE { g (uS) }
INITIAL { g = 0 }
BREAKPOINT {
    SOLVE decay METHOD cnexp
    CONDUCTANCE g
    i = g * (v - e)
}
DERIVATIVE decay { g' = -g / tau }
NET_RECEIVE (weight (uS)) { g = g + weight }
""",
    "Exp2Syn": """
TITLE Exp2Syn: a synaptic conductance rising with tau1 and decaying with tau2, peak = each event's weight
NEURON {
    POINT_PROCESS Exp2Syn
    RANGE tau1, tau2, e, i, g
    NONSPECIFIC_CURRENT i
}
UNITS { (nA) = (nanoamp)  (mV) = (millivolt)  (uS) = (microsiemens) }
PARAMETER {
    tau1 = 0.1 (ms) <1e-9, 1e9>
    tau2 = 10 (ms) <1e-9, 1e9>
    e = 0 (mV)
}
ASSIGNED { v (mV)  i (nA)  g (uS)  factor }
STATE { A (uS)  B (uS) }
INITIAL {
    LOCAL tpeak
    : keep the rise faster than the decay, so that the peak time below exists
    if (tau1 / tau2 > 0.9999) { tau1 = 0.9999 * tau2 }
    if (tau1 / tau2 < 1e-9) { tau1 = tau2 * 1e-9 }
    A = 0
    B = 0
    tpeak = (tau1 * tau2) / (tau2 - tau1) * log(tau2 / tau1)
    factor = -exp(-tpeak / tau1) + exp(-tpeak / tau2)
    factor = 1 / factor
}
BREAKPOINT {
    SOLVE rates METHOD cnexp
    CONDUCTANCE g
    g = B - A
    i = g * (v - e)
}
DERIVATIVE rates {
    A' = -A / tau1
    B' = -B / tau2
}
NET_RECEIVE (weight (uS)) {
    A = A + weight * factor
    B = B + weight * factor
}
""",
}


@cache
def _build(name: str):
    from neurax.nmodl.mechanism import build
    from neurax.nmodl.model import analyze
    from neurax.nmodl.parser import parse

    text = SOURCES[name]
    return build(analyze(parse(text, f"<neurax {name}>")), TYPES[name], text)


def __getattr__(name: str):
    if name in SOURCES:
        return _build(name)
    raise AttributeError(name)
