COMMENT
Refused by neurax: a NONLINEAR block solved by Newton's method.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX nonlinear_block
}

STATE {
    x
}

BREAKPOINT {
    SOLVE eqs METHOD newton
}

NONLINEAR eqs {
    ~ x*x = 2
}
