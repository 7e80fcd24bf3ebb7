TITLE loop_bound_global: a GLOBAL parameter as the bound of a FROM loop

COMMENT
Exercises: the gate's exponent as a GLOBAL PARAMETER that bounds a FROM loop (the form of the Traub et al.
2005 channels' boltz_cvode.inc, where `FROM index = 1 TO mexp` multiplies the gate into the conductance).
neurax fixes such a GLOBAL when it reads the file: the loop's trip count is part of the compiled code.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX loop_bound_global
    NONSPECIFIC_CURRENT i
    RANGE gbar, g
    GLOBAL mexp
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.002 (S/cm2)
    e = -70 (mV)
    mexp = 3
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    g (S/cm2)
    minf
}

STATE { m }

INITIAL {
    rates(v)
    m = minf
}

BREAKPOINT {
    LOCAL k, p
    SOLVE states METHOD cnexp
    p = 1
    if (mexp > 0) {
        FROM k = 1 TO mexp {
            p = p * m
        }
    }
    g = gbar * p
    i = g * (v - e)
}

DERIVATIVE states {
    rates(v)
    m' = (minf - m) / 2 (ms)
}

PROCEDURE rates(v (mV)) {
    minf = 1 / (1 + exp(-(v + 40 (mV)) / 8 (mV)))
}
