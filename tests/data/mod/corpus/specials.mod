TITLE specials: the simulator's variables read by a mechanism

COMMENT
Exercises: v, t, dt, celsius, diam and area read in BREAKPOINT and INITIAL, declared in ASSIGNED with
their units.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX specials
    NONSPECIFIC_CURRENT i
    RANGE g, surface, ratio, tnow, tstep
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (um) = (micron)
    (S) = (siemens)
}

PARAMETER {
    g = 1e-4 (S/cm2)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    celsius (degC)
    diam (um)
    area (um2)
    surface (um2)
    ratio
    tnow (ms)
    tstep (ms)
}

INITIAL {
    surface = area
    ratio = area/(3.141592653589793*diam)
}

BREAKPOINT {
    tnow = t
    tstep = dt
    i = g*(1 + celsius/100)*(v + 65)
}
