COMMENT
Refused by neurax: a KINETIC block with METHOD euler (NEURON accepts it; neurax integrates KINETIC blocks by sparse only).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX kinetic_euler
}

STATE {
    a
    b
}

BREAKPOINT {
    SOLVE scheme METHOD euler
}

KINETIC scheme {
    ~ a <-> b (1, 2)
}
