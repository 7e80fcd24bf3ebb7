COMMENT
Refused by neurax: SOLVE ... METHOD runge (NEURON accepts it; neurax has no Runge-Kutta).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX method_runge
}

STATE {
    x
}

BREAKPOINT {
    SOLVE grow METHOD runge
}

DERIVATIVE grow {
    x' = -x
}
