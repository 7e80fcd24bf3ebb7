COMMENT
Refused by neurax: POINTER, a variable of another mechanism.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX pointer
    POINTER vpre
    RANGE x
}

ASSIGNED {
    vpre (mV)
    x
}

BREAKPOINT {
    x = vpre
}
