COMMENT
Refused by neurax: BREAKPOINT reading a value before assigning it, which only BREAKPOINT assigns.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX breakpoint_reads_own_value
    NONSPECIFIC_CURRENT i
    RANGE count
}

ASSIGNED {
    v
    i
    count
}

BREAKPOINT {
    count = count + 1
    i = 0.001*(v + 65)
}
