TITLE point_process_synapse: a conductance that jumps at each event and decays

COMMENT
Exercises: POINT_PROCESS, NONSPECIFIC_CURRENT in nA, NET_RECEIVE with a weight argument that has a
unit, a STATE changed by an event, DERIVATIVE with METHOD cnexp.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS point_process_synapse
    NONSPECIFIC_CURRENT i
    RANGE tau, e, i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
}

PARAMETER {
    tau = 2 (ms) <1e-9, 1e9>
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
    SOLVE state METHOD cnexp
    i = g*(v - e)
}

DERIVATIVE state {
    g' = -g/tau
}

NET_RECEIVE(weight (uS)) {
    g = g + weight
}
