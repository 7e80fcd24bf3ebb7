TITLE state_start: STATEs given their initial values by START

COMMENT
Exercises: STATE with START values (one negative and followed by its unit), no INITIAL block, a
state-independent right-hand side under cnexp.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX state_start
    RANGE rate
}

PARAMETER {
    rate = 0.1 (/ms)
}

STATE {
    s START 0.25
    q START -1 (1)
}

BREAKPOINT {
    SOLVE grow METHOD cnexp
}

DERIVATIVE grow {
    s' = rate
    q' = -rate
}
