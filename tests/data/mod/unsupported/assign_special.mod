COMMENT
Refused by neurax: an assignment to celsius, which belongs to the simulator.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX assign_special
}

ASSIGNED {
    celsius (degC)
}

INITIAL {
    celsius = 37
}
