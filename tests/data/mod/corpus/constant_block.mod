TITLE constant_block: values declared in a CONSTANT block

COMMENT
Exercises: CONSTANT with and without units, a constant used in an expression.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX constant_block
    NONSPECIFIC_CURRENT i
    RANGE g
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

CONSTANT {
    q10 = 3
    erest = -65 (mV)
}

PARAMETER {
    g = 1e-4 (S/cm2)
}

ASSIGNED {
    v (mV)
    celsius (degC)
    i (mA/cm2)
}

BREAKPOINT {
    i = g*q10^((celsius - 22)/10)*(v - erest)
}
