COMMENT
Refused by neurax: a PARTIAL block (a partial differential equation).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX partial_block
}

STATE {
    c
}

PARTIAL diffuse {
    ~ c' = DEL2(c)
}
