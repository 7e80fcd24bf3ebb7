COMMENT
Refused by neurax: a KINETIC block with METHOD derivimplicit, which nocmodl refuses too ('Method derivimplicit can't be used with Block').
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX kinetic_derivimplicit
}

STATE {
    a
    b
}

BREAKPOINT {
    SOLVE scheme METHOD derivimplicit
}

KINETIC scheme {
    ~ a <-> b (1, 2)
}
