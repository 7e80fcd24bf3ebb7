COMMENT
Refused by neurax: a LINEAR block of simultaneous equations.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX linear_block
}

STATE {
    x
    y
}

BREAKPOINT {
    SOLVE eqs
}

LINEAR eqs {
    ~ x + y = 1
    ~ x - y = 0
}
