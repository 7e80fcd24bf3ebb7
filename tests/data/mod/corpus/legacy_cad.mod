TITLE legacy_cad: a calcium pool that writes cai by assignment

COMMENT
Exercises: USEION ca READ ica, cai WRITE cai where cai is not a STATE: the pool's own STATE ca is copied to
cai by an assignment in INITIAL and in the DERIVATIVE block (the form of Destexhe et al. 1993's cad.mod, as
used by many ModelDB models), derivimplicit, an inward-only drive with an if, and FARADAY from UNITS.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX legacy_cad
    USEION ca READ ica, cai WRITE cai
    RANGE ca
    GLOBAL depth, cainf, taur
}

UNITS {
    (molar) = (1/liter)
    (mM) = (millimolar)
    (um) = (micron)
    (mA) = (milliamp)
    (msM) = (ms mM)
    FARADAY = (faraday) (coulomb)
}

PARAMETER {
    depth = 0.1 (um)
    taur = 80 (ms)
    cainf = 1e-4 (mM)
    cai (mM)
}

STATE { ca (mM) <1e-5> }

ASSIGNED {
    ica (mA/cm2)
    drive_channel (mM/ms)
}

INITIAL {
    ca = cainf
    cai = ca
}

BREAKPOINT {
    SOLVE state METHOD derivimplicit
}

DERIVATIVE state {
    drive_channel = -(10000) * ica / (2 * FARADAY * depth)
    if (drive_channel <= 0.) { drive_channel = 0. }
    ca' = drive_channel + (cainf - ca) / taur
    cai = ca
}
