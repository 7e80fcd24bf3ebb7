TITLE kinetic_chain: a three-state linear scheme

COMMENT
Exercises: KINETIC with ~ A <-> B (kf, kb) reactions in a chain, METHOD sparse, f_flux and b_flux
read after a reaction, a current from the open state.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX kinetic_chain
    NONSPECIFIC_CURRENT i
    RANGE gbar, e, net
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.002 (S/cm2)
    e = -75 (mV)
    k1 = 0.4 (/ms)
    k2 = 0.1 (/ms)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    net (/ms)
}

STATE {
    c1
    c2
    o
}

INITIAL {
    c1 = 1
    c2 = 0
    o = 0
}

BREAKPOINT {
    SOLVE scheme METHOD sparse
    i = gbar*o*(v - e)
}

KINETIC scheme {
    ~ c1 <-> c2 (k1*exp(v/40), k2)
    net = f_flux - b_flux
    ~ c2 <-> o (k1, k2*exp(-v/40))
}
