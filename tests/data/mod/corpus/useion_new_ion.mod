TITLE useion_new_ion: a chloride current, an ion NEURON does not predefine

COMMENT
Exercises: USEION of a new ion (cl) with READ of its reversal potential and inside concentration,
WRITE of its current, and a negative VALENCE.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX useion_new_ion
    USEION cl READ ecl, cli WRITE icl VALENCE -1
    RANGE gcl, ratio
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (S) = (siemens)
}

PARAMETER {
    gcl = 2e-4 (S/cm2)
}

ASSIGNED {
    v (mV)
    ecl (mV)
    cli (mM)
    icl (mA/cm2)
    ratio (1)
}

BREAKPOINT {
    ratio = cli/(cli + 10)
    icl = gcl*ratio*(v - ecl)
}
