TITLE unitsoff: UNITSOFF and UNITSON around code

COMMENT
Exercises: UNITSOFF at the top level and UNITSON after a block, UNITSOFF/UNITSON inside a PROCEDURE.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX unitsoff
    RANGE xinf
}

UNITS {
    (mV) = (millivolt)
}

ASSIGNED {
    v (mV)
    xinf
}

INITIAL {
    rate(v)
}

UNITSOFF
PROCEDURE rate(v (mV)) {
    UNITSOFF
    xinf = 1/(1 + exp(-(v + 50)/4))
    UNITSON
}
UNITSON
