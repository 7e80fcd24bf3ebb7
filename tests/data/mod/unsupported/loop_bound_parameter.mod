COMMENT
Refused by neurax: a FROM loop bounded by a PARAMETER (NEURON casts it to an int; neurax needs constant bounds).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX loop_bound_parameter
    RANGE n, x
}

PARAMETER {
    n = 3
}

ASSIGNED {
    x
}

INITIAL {
    LOCAL i
    x = 0
    FROM i = 1 TO n {
        x = x + i
    }
}
