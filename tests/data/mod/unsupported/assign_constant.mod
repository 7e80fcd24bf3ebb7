COMMENT
Refused by neurax: an assignment to a CONSTANT.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX assign_constant
}

CONSTANT {
    q10 = 3
}

INITIAL {
    q10 = 2
}
