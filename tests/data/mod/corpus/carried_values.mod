TITLE carried_values: values the state pass reads from the current pass

COMMENT
Exercises: a PROCEDURE called in BREAKPOINT after SOLVE, whose results (minf, mtau) the DERIVATIVE
block reads in the next step: NEURON keeps them in the mechanism's memory between its passes.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX carried_values
    NONSPECIFIC_CURRENT i
    RANGE gbar, e, minf, mtau
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.002 (S/cm2)
    e = -85 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    minf
    mtau (ms)
}

STATE {
    m
}

INITIAL {
    rates(v)
    m = minf
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    rates(v)
    i = gbar*m*(v - e)
}

DERIVATIVE states {
    m' = (minf - m)/mtau
}

PROCEDURE rates(v (mV)) {
    minf = 1/(1 + exp(-(v + 45)/6))
    mtau = 1 + 4/(1 + exp((v + 45)/10))
}
