TITLE cnexp_linear: a gate whose equation is linear in its state

COMMENT
Exercises: DERIVATIVE with a right-hand side linear in the state, METHOD cnexp, a LOCAL inside the
DERIVATIVE block, a current using the state.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX cnexp_linear
    NONSPECIFIC_CURRENT i
    RANGE gbar, e
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.001 (S/cm2)
    e = -80 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

STATE {
    a
}

INITIAL {
    a = 0
}

BREAKPOINT {
    SOLVE gate METHOD cnexp
    i = gbar*a*(v - e)
}

DERIVATIVE gate {
    LOCAL alpha, beta
    alpha = 0.1*exp(v/20)
    beta = 0.2*exp(-v/30)
    a' = alpha*(1 - a) - beta*a
}
