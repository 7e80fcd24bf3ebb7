TITLE kinetic_stoichiometry: a non-linear scheme with binding reactions

COMMENT
Exercises: KINETIC reactions with a stoichiometric coefficient (~ 2 a <-> d) and with two reactants
(~ a + b <-> c), METHOD sparse.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX kinetic_stoichiometry
    RANGE kon, koff
}

PARAMETER {
    kon = 2 (/ms)
    koff = 0.5 (/ms)
}

STATE {
    a
    b
    c
    d
}

INITIAL {
    a = 1
    b = 0.5
    c = 0
    d = 0
}

BREAKPOINT {
    SOLVE binding METHOD sparse
}

KINETIC binding {
    ~ a + b <-> c (kon, koff)
    ~ 2a <-> d (kon/2, koff)
}
