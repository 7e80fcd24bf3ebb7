TITLE cnexp_fallback: cnexp asked for an equation it cannot solve exactly

COMMENT
Exercises: METHOD cnexp on a right-hand side with the state inside a function call, which nocmodl
translates with derivimplicit instead (it prints "Could not translate using cnexp method").
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX cnexp_fallback
    RANGE tau
}

PARAMETER {
    tau = 10 (ms)
}

STATE {
    u
}

INITIAL {
    u = 0.2
}

BREAKPOINT {
    SOLVE grow METHOD cnexp
}

DERIVATIVE grow {
    u' = (1 - exp(u - 1))/tau
}
