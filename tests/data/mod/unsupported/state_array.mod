COMMENT
Refused by neurax: a STATE array.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX state_array
}

STATE {
    c[3]
}

BREAKPOINT {
    SOLVE decay METHOD sparse
}

KINETIC decay {
    ~ c[0] <-> c[1] (1, 1)
    ~ c[1] <-> c[2] (1, 1)
}
