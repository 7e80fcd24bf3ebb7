COMMENT
Refused by neurax: a call of a function that is neither defined nor built in.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX unknown_function
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = 1
    x = boost(x)
}
