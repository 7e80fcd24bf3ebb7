COMMENT
Refused by neurax: RANDOM (NEURON 9's random-number streams).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS random_var
    RANDOM noise
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = random_negexp(noise)
}
