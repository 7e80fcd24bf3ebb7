COMMENT
Refused by neurax: a second derivative, x''.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX second_order
}

STATE {
    x
}

BREAKPOINT {
    SOLVE osc METHOD cnexp
}

DERIVATIVE osc {
    x'' = -x
}
