TITLE table_function: a tabulated FUNCTION

COMMENT
Exercises: TABLE in a FUNCTION (no variable list), DEPEND on a GLOBAL parameter, a call of the
tabulated FUNCTION from BREAKPOINT.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX table_function
    NONSPECIFIC_CURRENT i
    RANGE g
    GLOBAL steep
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    g = 5e-4 (S/cm2)
    steep = 12 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

BREAKPOINT {
    i = g*opening(v)*(v + 20)
}

FUNCTION opening(x (mV)) {
    TABLE DEPEND steep FROM -120 TO 60 WITH 90
    opening = 1/(1 + exp(-(x + 30)/steep))
}
