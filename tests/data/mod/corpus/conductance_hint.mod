TITLE conductance_hint: BREAKPOINT tells NEURON the conductance of its currents

COMMENT
Exercises: CONDUCTANCE gk USEION k and CONDUCTANCE gl (a NONSPECIFIC_CURRENT's) in BREAKPOINT, which
make NEURON evaluate BREAKPOINT once per step with the named conductances as the slope.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX conductance_hint
    USEION k READ ek WRITE ik
    NONSPECIFIC_CURRENT il
    RANGE gkbar, gl, el, gk
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gkbar = 0.01 (S/cm2)
    gl = 3e-4 (S/cm2)
    el = -60 (mV)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    il (mA/cm2)
    gk (S/cm2)
}

BREAKPOINT {
    CONDUCTANCE gk USEION k
    CONDUCTANCE gl
    gk = gkbar/(1 + exp(-(v + 30)/10))
    ik = gk*(v - ek)
    il = gl*(v - el)
}
