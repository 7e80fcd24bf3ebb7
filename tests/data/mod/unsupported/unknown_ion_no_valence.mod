COMMENT
Refused by neurax: USEION of an ion NEURON does not know, without VALENCE.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX unknown_ion_no_valence
    USEION zz READ ezz WRITE izz
    RANGE g
}

PARAMETER {
    g = 0.001
}

ASSIGNED {
    v
    ezz
    izz
}

BREAKPOINT {
    izz = g*(v - ezz)
}
