COMMENT
Refused by neurax: a math builtin called with the wrong number of arguments.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX builtin_argument_count
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = exp(1, 2)
}
