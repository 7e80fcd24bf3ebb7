COMMENT
Refused by neurax: SOLVE of a block that is not defined.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX solve_missing_block
}

STATE {
    x
}

BREAKPOINT {
    SOLVE nowhere METHOD cnexp
}
