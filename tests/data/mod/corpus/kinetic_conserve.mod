TITLE kinetic_conserve: a closed-open-inactivated scheme started at its steady state

COMMENT
Exercises: KINETIC with CONSERVE, SOLVE ... STEADYSTATE sparse in INITIAL, voltage-dependent rates
computed by a PROCEDURE called in the KINETIC block, a potassium current.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX kinetic_conserve
    USEION k READ ek WRITE ik
    RANGE gbar
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.01 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    kco (/ms)
    koc (/ms)
}

STATE {
    cl
    op
    inact
}

INITIAL {
    SOLVE scheme STEADYSTATE sparse
}

BREAKPOINT {
    SOLVE scheme METHOD sparse
    ik = gbar*op*(v - ek)
}

KINETIC scheme {
    rates(v)
    ~ cl <-> op (kco, koc)
    ~ op <-> inact (0.05, 0.01)
    CONSERVE cl + op + inact = 1
}

PROCEDURE rates(v (mV)) {
    kco = 0.2*exp(v/25)
    koc = 0.1*exp(-v/25)
}
