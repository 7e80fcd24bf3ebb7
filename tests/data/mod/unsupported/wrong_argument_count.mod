COMMENT
Refused by neurax: a FUNCTION called with the wrong number of arguments.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX wrong_argument_count
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = twice(1, 2)
}

FUNCTION twice(a) {
    twice = 2*a
}
