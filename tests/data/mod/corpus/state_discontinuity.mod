TITLE state_discontinuity: an exponential synapse that jumps its state with state_discontinuity()

COMMENT
Older published synapses (written before NEURON's variable-step integrator needed no help) change a STATE
in NET_RECEIVE through state_discontinuity(state, value). With fixed steps it is the assignment
state = value; nocmodl still accepts it.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS state_discontinuity
    NONSPECIFIC_CURRENT i
    RANGE tau, e, i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
}

PARAMETER {
    tau = 3 (ms)
    e = 0 (mV)
}

ASSIGNED {
    v (mV)
    i (nA)
}

STATE {
    g (uS)
}

INITIAL {
    g = 0
}

BREAKPOINT {
    SOLVE decay METHOD cnexp
    i = g * (v - e)
}

DERIVATIVE decay {
    g' = -g / tau
}

NET_RECEIVE(weight (uS)) {
    state_discontinuity(g, g + weight)
}
