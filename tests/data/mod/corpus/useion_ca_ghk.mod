TITLE useion_ca_ghk: a calcium current by the GHK flux equation

COMMENT
Exercises: USEION ca READ cai, cao WRITE ica, UNITS factors FARADAY = (faraday) (coulomb) and
R = (k-mole) (joule/degC), celsius, FUNCTIONs with argument units and a return unit, LOCAL, if/else,
fabs and exp.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX useion_ca_ghk
    USEION ca READ cai, cao WRITE ica
    RANGE pbar
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    FARADAY = (faraday) (coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    pbar = 1e-4 (cm/s)
}

ASSIGNED {
    v (mV)
    celsius (degC)
    cai (mM)
    cao (mM)
    ica (mA/cm2)
}

BREAKPOINT {
    ica = pbar*ghkflux(v, cai, cao)
}

FUNCTION ghkflux(v (mV), ci (mM), co (mM)) (mA/cm2) {
    LOCAL z, eco, eci
    z = (1e-3)*2*FARADAY*v/(R*(celsius + 273.15))
    eco = co*efun(z)
    eci = ci*efun(-z)
    ghkflux = (1e-3)*2*FARADAY*(eci - eco)
}

FUNCTION efun(z) {
    if (fabs(z) < 1e-4) {
        efun = 1 - z/2
    } else {
        efun = z/(exp(z) - 1)
    }
}
