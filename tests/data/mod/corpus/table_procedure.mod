TITLE table_procedure: rate variables tabulated from a PROCEDURE

COMMENT
Exercises: TABLE with several variables and DEPEND on celsius and a GLOBAL parameter, FROM ... TO ...
WITH, in a PROCEDURE; a temperature factor with ^.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX table_procedure
    USEION k READ ek WRITE ik
    RANGE gbar
    GLOBAL vhalf, ninf, ntau
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.01 (S/cm2)
    vhalf = -35 (mV)
}

ASSIGNED {
    v (mV)
    celsius (degC)
    ek (mV)
    ik (mA/cm2)
    ninf
    ntau (ms)
}

STATE {
    n
}

INITIAL {
    rates(v)
    n = ninf
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar*n*n*(v - ek)
}

DERIVATIVE states {
    rates(v)
    n' = (ninf - n)/ntau
}

PROCEDURE rates(v (mV)) {
    LOCAL q
    TABLE ninf, ntau DEPEND celsius, vhalf FROM -100 TO 100 WITH 200
    q = 3^((celsius - 6.3)/10)
    ninf = 1/(1 + exp(-(v - vhalf)/9))
    ntau = 5/(q*(exp((v - vhalf)/20) + exp(-(v - vhalf)/20)))
}
