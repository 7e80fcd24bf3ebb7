TITLE useion_na_k: a sodium and a potassium current with gates

COMMENT
Exercises: USEION na READ ena WRITE ina, USEION k READ ek WRITE ik VALENCE 1, GLOBAL rate variables set by a
PROCEDURE, STATE gates integrated by SOLVE ... METHOD cnexp, INITIAL, `^`.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX useion_na_k
    USEION na READ ena WRITE ina
    USEION k READ ek WRITE ik VALENCE 1
    RANGE gnabar, gkbar
    GLOBAL minf, mtau, ninf, ntau
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gnabar = 0.1 (S/cm2)
    gkbar = 0.03 (S/cm2)
}

ASSIGNED {
    v (mV)
    ena (mV)
    ek (mV)
    ina (mA/cm2)
    ik (mA/cm2)
    minf
    ninf
    mtau (ms)
    ntau (ms)
}

STATE {
    m
    n
}

INITIAL {
    rates(v)
    m = minf
    n = ninf
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    ina = gnabar*m*m*m*(v - ena)
    ik = gkbar*n^4*(v - ek)
}

DERIVATIVE states {
    rates(v)
    m' = (minf - m)/mtau
    n' = (ninf - n)/ntau
}

PROCEDURE rates(v (mV)) {
    minf = 1/(1 + exp(-(v + 40)/7))
    mtau = 0.5
    ninf = 1/(1 + exp(-(v + 55)/10))
    ntau = 4
}
