COMMENT
Refused by neurax: a DISCRETE block that reads the previous value with x@1.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX discrete_lag
}

STATE {
    x
}

DISCRETE advance {
    x = x@1 + 1
}
