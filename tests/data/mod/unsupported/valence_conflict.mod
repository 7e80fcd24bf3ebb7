COMMENT
Refused by neurax: USEION ca with VALENCE 1 (NEURON's calcium has charge 2).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX valence_conflict
    USEION ca READ eca WRITE ica VALENCE 1
}

ASSIGNED {
    v
    eca
    ica
}

BREAKPOINT {
    ica = 0.001*(v - eca)
}
