COMMENT
Refused by neurax: SOLVE ... STEADYSTATE derivimplicit in INITIAL (NEURON's does not converge).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX steadystate_derivimplicit
}

STATE {
    x
}

INITIAL {
    SOLVE relax STEADYSTATE derivimplicit
}

BREAKPOINT {
    SOLVE relax METHOD cnexp
}

DERIVATIVE relax {
    x' = 1 - x
}
