TITLE kinetic_compartment: calcium binding to a buffer in a volume set by diam

COMMENT
Exercises: KINETIC with COMPARTMENT (a volume from diam and PI), the ion concentration cai as a
KINETIC state, a flux from the calcium current (~ cai << (...)), FARADAY, METHOD sparse.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX kinetic_compartment
    USEION ca READ ica WRITE cai
    RANGE btotal
}

UNITS {
    (mA) = (milliamp)
    (mM) = (milli/liter)
    (um) = (micron)
    FARADAY = (faraday) (coulomb)
    PI = (pi) (1)
}

PARAMETER {
    btotal = 0.05 (mM)
    kon = 100 (/mM-ms)
    koff = 0.1 (/ms)
}

ASSIGNED {
    diam (um)
    ica (mA/cm2)
}

STATE {
    cai (mM)
    buf (mM)
    cabuf (mM)
}

INITIAL {
    cai = 1e-4
    buf = btotal
    cabuf = 0
}

BREAKPOINT {
    SOLVE buffering METHOD sparse
}

KINETIC buffering {
    COMPARTMENT PI*diam*diam/4 {cai buf cabuf}
    ~ cai << (-ica*PI*diam*(1e4)/(2*FARADAY))
    ~ cai + buf <-> cabuf (kon, koff)
}
