TITLE kinetic_flux_loss: a source flux and a one-way loss

COMMENT
Exercises: KINETIC with ~ A << (flux) (an explicit source), ~ A -> (k) (a one-way loss), and a
reversible step, METHOD sparse.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX kinetic_flux_loss
    RANGE influx, kloss
}

PARAMETER {
    influx = 0.02 (/ms)
    kloss = 0.3 (/ms)
}

STATE {
    p
    q
}

INITIAL {
    p = 0
    q = 0
}

BREAKPOINT {
    SOLVE turnover METHOD sparse
}

KINETIC turnover {
    ~ p << (influx)
    ~ p <-> q (0.1, 0.05)
    ~ q -> (kloss)
}
