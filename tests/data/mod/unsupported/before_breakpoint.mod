COMMENT
Refused by neurax: a BEFORE BREAKPOINT block.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX before_breakpoint
    RANGE x
}

ASSIGNED {
    x
}

BEFORE BREAKPOINT {
    x = 1
}
