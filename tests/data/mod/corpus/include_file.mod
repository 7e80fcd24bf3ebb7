TITLE include_file: rate functions read from an INCLUDE'd file

COMMENT
Exercises: INCLUDE "include_file.inc" (a file beside this one) defining two FUNCTIONs used in the
DERIVATIVE block.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX include_file
    NONSPECIFIC_CURRENT i
    RANGE gbar
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.001 (S/cm2)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

STATE {
    h
}

INITIAL {
    h = inc_alpha(v)/(inc_alpha(v) + inc_beta(v))
}

BREAKPOINT {
    SOLVE gate METHOD cnexp
    i = gbar*h*(v + 90)
}

DERIVATIVE gate {
    h' = inc_alpha(v)*(1 - h) - inc_beta(v)*h
}

INCLUDE "include_file.inc"
