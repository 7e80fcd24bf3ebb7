TITLE independent_block: an old-style file with INDEPENDENT

COMMENT
Exercises: INDEPENDENT {t FROM ... TO ... WITH ... (ms)}, which nocmodl accepts and ignores, and a
gate relaxing with cnexp.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

INDEPENDENT {t FROM 0 TO 1 WITH 1 (ms)}

NEURON {
    SUFFIX independent_block
    RANGE tau
}

PARAMETER {
    tau = 3 (ms)
}

STATE {
    x
}

INITIAL {
    x = 1
}

BREAKPOINT {
    SOLVE relax METHOD cnexp
}

DERIVATIVE relax {
    x' = (0.2 - x)/tau
}
