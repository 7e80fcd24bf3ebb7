TITLE derivimplicit_nonlinear: equations that are not linear in their states

COMMENT
Exercises: METHOD derivimplicit on a DERIVATIVE block with a product of states, a state inside exp()
and a state in a denominator.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX derivimplicit_nonlinear
    RANGE tau
}

PARAMETER {
    tau = 4 (ms)
}

STATE {
    w
    p
    r
}

INITIAL {
    w = 0.5
    p = 0.1
    r = 2
}

BREAKPOINT {
    SOLVE kinetics METHOD derivimplicit
}

DERIVATIVE kinetics {
    w' = -w*w/tau
    p' = (1 - p)/(1 + p) - 0.1*exp(-p)
    r' = -r*w/(1 + r)
}
