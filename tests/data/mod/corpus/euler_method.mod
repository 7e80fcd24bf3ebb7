TITLE euler_method: forward Euler integration

COMMENT
Exercises: SOLVE ... METHOD euler on a DERIVATIVE block, a PARAMETER used in the rate.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX euler_method
    RANGE tau, target
}

PARAMETER {
    tau = 5 (ms)
    target = 0.7
}

STATE {
    level
}

INITIAL {
    level = 0
}

BREAKPOINT {
    SOLVE approach METHOD euler
}

DERIVATIVE approach {
    level' = (target - level)/tau
}
