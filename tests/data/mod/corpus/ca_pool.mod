TITLE ca_pool: a calcium concentration that decays to a resting value

COMMENT
Exercises: USEION ca READ ica WRITE cai VALENCE 2, cai as a STATE (a concentration the mechanism
writes), a mechanism without currents, FARADAY from UNITS, DERIVATIVE with METHOD cnexp.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX ca_pool
    USEION ca READ ica WRITE cai VALENCE 2
    RANGE depth, taur, cainf
}

UNITS {
    (mA) = (milliamp)
    (mM) = (milli/liter)
    (um) = (micron)
    FARADAY = (faraday) (coulomb)
}

PARAMETER {
    depth = 0.1 (um)
    taur = 200 (ms)
    cainf = 1e-4 (mM)
}

ASSIGNED {
    ica (mA/cm2)
}

STATE {
    cai (mM)
}

INITIAL {
    cai = cainf
}

BREAKPOINT {
    SOLVE concentration METHOD cnexp
}

DERIVATIVE concentration {
    cai' = -(10000)*ica/(2*FARADAY*depth) + (cainf - cai)/taur
}
