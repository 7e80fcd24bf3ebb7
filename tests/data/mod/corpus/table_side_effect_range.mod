TITLE table_side_effect_range: a TABLE'd procedure that also sets a RANGE variable

COMMENT
As table_side_effect, with tadj a RANGE variable (one per instance) instead of a GLOBAL. NEURON builds the
table when the first instance's INITIAL calls settables, with that instance's variables: only the first
instance's tadj is set (to the value at the grid's last point); every other instance keeps tadj = 0 while the
table is in use, so its current is zero. With the exact formulas every instance computes its own.

Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX table_side_effect_range
    USEION k READ ek WRITE ik
    RANGE gbar, tadj
    GLOBAL q10, vhalf, slope
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.0123456789 (S/cm2)
    vhalf = -21.3456789 (mV)
    slope = 9.87654321 (mV)
    q10 = 2.71828183
    tref = 23.4567891 (degC)
    taumin = 0.512345678 (ms)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    celsius (degC)
    ninf
    ntau (ms)
    tadj
}

STATE {
    n
    w START 0.333333333333
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar * tadj * n * n * n * n * (1 + w) * (v - ek)
}

INITIAL {
    settables(v)
    n = ninf + 0.01 * usetable
}

DERIVATIVE states {
    settables(v)
    n' = (ninf - n) / ntau
    w' = -w / 50
}

PROCEDURE settables(v (mV)) {
    TABLE ninf, ntau DEPEND celsius FROM -100 TO 100 WITH 200
    rates(v)
}

PROCEDURE rates(v (mV)) {
    tadj = q10 ^ ((celsius - tref) / 10)
    ninf = 1 / (1 + exp(-(v - vhalf) / slope))
    ntau = taumin + 4 / (tadj * (exp((v + 30) / 25) + exp(-(v + 30) / 30)))
}
