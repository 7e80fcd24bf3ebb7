TITLE net_receive_initial: per-connection state kept in the NetCon weight vector

COMMENT
Exercises: NET_RECEIVE with several arguments (a weight and per-connection values with units), an
INITIAL block inside NET_RECEIVE, a POINT_PROCESS current.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS net_receive_initial
    NONSPECIFIC_CURRENT i
    RANGE tau, e, i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
}

PARAMETER {
    tau = 5 (ms)
    e = -80 (mV)
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

NET_RECEIVE(weight (uS), tlast (ms), count) {
    INITIAL {
        tlast = -1e9
        count = 0
    }
    count = count + 1
    g = g + weight*(1 - exp(-(t - tlast)/tau))
    tlast = t
}
