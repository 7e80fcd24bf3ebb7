TITLE legacy_range_array: RANGE arrays filled in a FROM loop

COMMENT
Exercises: the form of Poirazi et al. 2003's CA1 channel files in ModelDB: RANGE ASSIGNED arrays (inf[2],
fac[2]) filled element by element in a FROM loop over FUNCTIONs of the index, states set to plain numbers in
INITIAL before a call of the state PROCEDURE, the current assigned in INITIAL too, a SOLVE'd PROCEDURE that
ends with VERBATIM "return 0;", and if/else if chains in FUNCTIONs.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX legacy_range_array
    USEION k READ ek WRITE ik
    RANGE gbar, inf, fac
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
}

PARAMETER {
    gbar = 0.002 (mho/cm2)
    v (mV)
    ek (mV)
    dt (ms)
}

ASSIGNED {
    ik (mA/cm2)
    inf[2]
    fac[2]
}

STATE { m h }

BREAKPOINT {
    SOLVE states
    ik = gbar * m * m * h * (v - ek)
}

INITIAL {
    m = 0
    h = 1
    states()
    ik = gbar * m * m * h * (v - ek)
}

PROCEDURE states() {
    rates(v)
    m = m + fac[0] * (inf[0] - m)
    h = h + fac[1] * (inf[1] - h)
    VERBATIM
    return 0;
    ENDVERBATIM
}

PROCEDURE rates(v (mV)) {
    LOCAL i
    FROM i = 0 TO 1 {
        inf[i] = steady(v, i)
        fac[i] = 1 - exp(-dt / settle(v, i))
    }
}

FUNCTION steady(v (mV), i) {
    if (i == 0) {
        steady = 1 / (1 + exp(-(v + 30) / 9))
    } else if (i == 1) {
        steady = 1 / (1 + exp((v + 65) / 7))
    } else {
        steady = 0
    }
}

FUNCTION settle(v (mV), i) (ms) {
    if (i == 0) {
        settle = 1 + 4 * exp(-((v + 40) / 20) ^ 2)
    } else {
        settle = 60
    }
}
