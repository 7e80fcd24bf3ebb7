TITLE artificial_cell: a leaky integrator that fires and is refractory

COMMENT
Exercises: ARTIFICIAL_CELL, NET_RECEIVE with flag, net_send of a self event, net_event, else if on
the flag, t and exp of the elapsed time in NET_RECEIVE, no BREAKPOINT.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    ARTIFICIAL_CELL artificial_cell
    RANGE tau, refrac, m
}

PARAMETER {
    tau = 10 (ms)
    refrac = 5 (ms)
}

ASSIGNED {
    m
    t0 (ms)
    refractory
}

INITIAL {
    m = 0
    t0 = 0
    refractory = 0
}

NET_RECEIVE(w) {
    if (refractory == 0 && flag == 0) {
        m = m*exp(-(t - t0)/tau)
        t0 = t
        m = m + w
        if (m > 1) {
            refractory = 1
            m = 0
            net_send(refrac, 3)
            net_event(t)
        }
    } else if (flag == 3) {
        refractory = 0
        t0 = t
    }
}
