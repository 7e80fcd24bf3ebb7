TITLE units_arrow: a UNITS factor written with an arrow

COMMENT
Exercises: NAME = (unit) -> (unit), the arrow form of a conversion factor in UNITS, beside an alias.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX units_arrow
    RANGE volts
}

UNITS {
    (mV) = (millivolt)
    TOVOLT = (mV) -> (volt)
}

ASSIGNED {
    v (mV)
    volts
}

INITIAL {
    volts = v*TOVOLT
}
