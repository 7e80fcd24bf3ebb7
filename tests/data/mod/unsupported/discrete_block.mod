COMMENT
Refused by neurax: a DISCRETE block (difference equations).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX discrete_block
}

STATE {
    x
}

DISCRETE advance {
    x = x + 1
}
