COMMENT
Refused by neurax: EXTERNAL, a hoc variable read by the mechanism.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX external
    EXTERNAL dt_hoc
    RANGE x
}

ASSIGNED {
    x
}
