TITLE function_table: a time constant given as data from hoc

COMMENT
Exercises: FUNCTION_TABLE with an argument unit and a return unit, its call in a DERIVATIVE block.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX function_table
}

UNITS {
    (mV) = (millivolt)
}

STATE {
    z
}

INITIAL {
    z = 0
}

BREAKPOINT {
    SOLVE relax METHOD cnexp
}

DERIVATIVE relax {
    z' = (1 - z)/taudata(v)
}

FUNCTION_TABLE taudata(v (mV)) (ms)
