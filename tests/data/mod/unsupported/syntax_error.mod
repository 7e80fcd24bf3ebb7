COMMENT
Refused by neurax: a syntax error, an assignment without its right-hand side.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX syntax_error
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = * 2
}
