TITLE units_factors: constants defined in the UNITS block

COMMENT
Exercises: UNITS aliases, factors between two units (FARADAY, R, PI, a kilocoulomb Faraday, a litre in
cubic metres, a current density in nA/um2), a named number with a unit, and the constants used in a
FUNCTION.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX units_factors
    RANGE rtf
}

UNITS {
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (mA) = (milliamp)
    (nA) = (nanoamp)
    (um) = (micron)
    FARADAY = (faraday) (coulomb)
    FKILO = (faraday) (kilocoulomb)
    R = (k-mole) (joule/degC)
    PI = (pi) (1)
    FAPPROX = 96485.3 (coul)
    LITRE = (liter) (m3)
    DENSITY = (mA/cm2) (nA/um2)
}

ASSIGNED {
    celsius (degC)
    rtf (mV)
}

INITIAL {
    rtf = thermal(celsius)
}

FUNCTION thermal(tc (degC)) (mV) {
    thermal = 1000*R*(tc + 273.15)/FARADAY + 0*PI*FKILO*FAPPROX*LITRE*DENSITY
}
