COMMENT
Refused by neurax: normrand(), a random number drawn in INITIAL.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX normrand_call
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = normrand(0, 1)
}
