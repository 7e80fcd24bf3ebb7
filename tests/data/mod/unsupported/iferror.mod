COMMENT
Refused by neurax: SOLVE ... IFERROR, an old error handler.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX iferror
}

STATE {
    x
}

BREAKPOINT {
    SOLVE grow METHOD derivimplicit IFERROR {
        x = 0
    }
}

DERIVATIVE grow {
    x' = -x
}
