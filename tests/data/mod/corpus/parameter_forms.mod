TITLE parameter_forms: the ways a PARAMETER can be written

COMMENT
Exercises: PARAMETERs with a default, a unit, limits <lo, hi> (also negative limits), a negative
default, a default with an exponent, a default starting with a point, a dimensionless unit (1),
a parameter with no value and one with a value but no unit.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX parameter_forms
    NONSPECIFIC_CURRENT i
    RANGE gmax, vhalf, slope, frac, tiny, bare, plain
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gmax = 0.002 (S/cm2) <0, 1e9>
    vhalf = -42.5 (mV)
    slope = -6 (mV) <-100, -0.1>
    frac = .25 (1)
    tiny = 2.5e-3
    bare
    plain = 3
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

BREAKPOINT {
    i = gmax*frac*(v - vhalf)/(1 + exp((v - vhalf)/slope)) + tiny*bare*plain
}
