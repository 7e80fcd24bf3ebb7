TITLE density_leak: a passive leak conductance

COMMENT
Exercises: SUFFIX, NONSPECIFIC_CURRENT, RANGE parameters with defaults and units, UNITS aliases and a
BREAKPOINT without SOLVE.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX density_leak
    NONSPECIFIC_CURRENT i
    RANGE g, e
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    g = 0.001 (S/cm2)
    e = -70 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

BREAKPOINT {
    i = g*(v - e)
}
