COMMENT
Refused by neurax: SOLVE with a METHOD that does not exist.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX method_unknown
}

STATE {
    x
}

BREAKPOINT {
    SOLVE grow METHOD magic
}

DERIVATIVE grow {
    x' = 1
}
