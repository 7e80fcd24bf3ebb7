COMMENT
Refused by neurax: a variable used but never declared.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX undeclared_variable
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = 2*gamma
}
