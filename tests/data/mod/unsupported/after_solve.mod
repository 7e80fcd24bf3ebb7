COMMENT
Refused by neurax: an AFTER SOLVE block.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX after_solve
    RANGE x
}

ASSIGNED {
    x
}

AFTER SOLVE {
    x = 2
}
