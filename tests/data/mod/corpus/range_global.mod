TITLE range_global: which parameters are per instance and which are shared

COMMENT
Exercises: RANGE and GLOBAL parameters, a PARAMETER in neither list (GLOBAL, as NEURON treats it), a
RANGE ASSIGNED value, a GLOBAL ASSIGNED value.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX range_global
    NONSPECIFIC_CURRENT i
    RANGE gmax, gnow
    GLOBAL vhalf, ginf
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gmax = 0.004 (S/cm2)
    vhalf = -30 (mV)
    k = 8 (mV)
    erev = -90 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    gnow (S/cm2)
    ginf
}

BREAKPOINT {
    ginf = 1/(1 + exp((vhalf - v)/k))
    gnow = gmax*ginf
    i = gnow*(v - erev)
}
